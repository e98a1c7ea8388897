"""Use case: generate synthetic custodian data (``healthwall synth``)."""

from __future__ import annotations

from pathlib import Path

from healthwall.synth import STEPS, ProgressFn, SynthResult, generate

__all__ = ["STEPS", "ProgressFn", "SynthResult", "run_synth"]


def run_synth(
    patients: int, seed: int, out_dir: Path, progress: ProgressFn | None = None
) -> SynthResult:
    """Write patients.parquet and claims.parquet for ``patients`` people into ``out_dir``."""
    return generate(patients, seed, out_dir, progress)
