"""Synthetic custodian data: realistic, deterministic per seed, vectorized.

``generate(n_patients, seed, out_dir)`` writes ``patients.parquet`` and ``claims.parquet`` with
exactly the columns of ``healthwall.model.dataset.PATIENT_COLUMNS`` and ``CLAIM_COLUMNS``.
"""

from __future__ import annotations

from healthwall.synth.generate import STEPS, ProgressFn, SynthResult, generate
from healthwall.synth.npi import npi_is_valid

__all__ = ["STEPS", "ProgressFn", "SynthResult", "generate", "npi_is_valid"]
