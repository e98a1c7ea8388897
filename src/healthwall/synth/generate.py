"""``generate``: write ``patients.parquet`` and ``claims.parquet`` for N synthetic patients.

Deterministic per seed: every draw comes from one ``numpy.random.Generator(PCG64(seed))`` in a
fixed order. Files are written through the engine (temporary file, then rename), so an error
never leaves half a file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from healthwall.engine import open_store
from healthwall.errors import InvalidInput
from healthwall.synth.claims import build_claims, build_providers, claim_sql
from healthwall.synth.patients import build_patients, patient_sql
from healthwall.synth.zips import ZipSampler

#: progress(step description, steps done, total steps)
ProgressFn = Callable[[str, int, int], None]

MAX_PATIENTS = 50_000_000
STEPS = ("drawing patients", "writing patients", "drawing claims", "writing claims")


@dataclass(frozen=True)
class SynthResult:
    """What was written: paths and row counts."""

    patients_path: Path
    claims_path: Path
    patients: int
    claim_lines: int
    seed: int


@cache
def _zip_sampler() -> ZipSampler:
    """The ZIP sampler (built once per process: it indexes the ~41k-row ZIP table)."""
    return ZipSampler()


def _no_progress(_step: str, _done: int, _total: int) -> None:
    return None


def generate(
    n_patients: int, seed: int, out_dir: Path, progress: ProgressFn | None = None
) -> SynthResult:
    """Generate the synthetic custodian records for ``n_patients`` people into ``out_dir``."""
    if not 1 <= n_patients <= MAX_PATIENTS:
        raise InvalidInput(f"patients must be between 1 and {MAX_PATIENTS}", field="patients")
    if seed < 0:
        raise InvalidInput("seed must be a non-negative integer", field="seed")
    report = progress or _no_progress
    rng = np.random.Generator(np.random.PCG64(seed))
    zips = _zip_sampler()
    out_dir.mkdir(parents=True, exist_ok=True)
    patients_path, claims_path = out_dir / "patients.parquet", out_dir / "claims.parquet"
    with open_store(None) as engine:
        report(STEPS[0], 0, len(STEPS))
        raw_patients, facts = build_patients(rng, n_patients, zips)
        report(STEPS[1], 1, len(STEPS))
        engine.register_arrow("synth_patients", raw_patients)
        engine.copy_to(patient_sql("synth_patients"), patients_path)
        del raw_patients
        report(STEPS[2], 2, len(STEPS))
        providers = build_providers(rng, n_patients, zips)
        raw_claims = build_claims(rng, facts, providers)
        report(STEPS[3], 3, len(STEPS))
        engine.register_arrow("synth_claims", raw_claims)
        lines = engine.copy_to(claim_sql("synth_claims"), claims_path)
        report("done", 4, len(STEPS))
    return SynthResult(patients_path, claims_path, n_patients, lines, seed)
