"""Synthetic claim lines: about ten per patient, dated 2022-2024, with real ICD-10-CM diagnoses,
CPT/HCPCS procedures, Luhn-valid provider NPIs near the patient and sensitivity labels derived
from the diagnoses by :func:`healthwall.data.icd10.labels_of_code`.

Claim-level draws (date, provider, diagnoses, labels) are repeated onto lines with ``np.repeat``;
strings are dictionary-encoded Arrow arrays over small pools, formatted by :data:`CLAIM_SELECT`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from healthwall.data.icd10 import billable_codes, labels_of_code
from healthwall.synth import reference as ref
from healthwall.synth.clinical import DIAGNOSES, LABELS, PROCEDURES, TAIL_SHARE
from healthwall.synth.npi import make_npis
from healthwall.synth.patients import PatientFacts, patient_id_sql
from healthwall.synth.zips import ZipSampler

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

FIRST_SERVICE_DAY = 18993  # 2022-01-01
LAST_SERVICE_DAY = 20088  # 2024-12-31
MEAN_CLAIMS = 3.45
MEAN_EXTRA_LINES = 1.9  # lines per claim = 1 + Poisson(1.9): 2.9 on average, ~10 per patient
REPRO_BIT = 1 << LABELS.index("REPRO")


@lru_cache(maxsize=1)
def code_pool() -> tuple[pa.Array, IntArray]:
    """Every billable ICD-10-CM code (sorted) and its label bit mask (bit i = LABELS[i])."""
    codes = sorted(billable_codes())
    masks = np.array(
        [sum(1 << LABELS.index(lb) for lb in labels_of_code(c)) for c in codes], dtype=np.int64
    )
    return pa.array(codes), masks


def label_strings() -> pa.Array:
    """The label string of every mask 0..2**len(LABELS)-1 (sorted, ';'-joined)."""
    return pa.array(
        [";".join(lb for i, lb in enumerate(LABELS) if m >> i & 1) for m in range(1 << len(LABELS))]
    )


class DxDrawer:
    """Draws curated diagnoses eligible for each patient's sex and age, and tail codes."""

    def __init__(self) -> None:
        pool, self.masks = code_pool()
        index = {c: i for i, c in enumerate(pool.to_pylist())}
        self.pool_index = np.array([index[d.code] for d in DIAGNOSES], dtype=np.int64)
        w = np.array([d.weight for d in DIAGNOSES])
        self.p = w / w.sum()
        self.sex = np.array([d.sex or "" for d in DIAGNOSES])
        self.age_min = np.array([d.age_min for d in DIAGNOSES])
        self.age_max = np.array([d.age_max for d in DIAGNOSES])
        self.fallback = index["J06.9"]

    def curated(self, rng: np.random.Generator, age: IntArray, female: BoolArray) -> IntArray:
        """Pool indices of curated codes, redrawn (up to 6 times) until eligible."""
        n = age.size
        pick = rng.choice(self.p.size, size=n, p=self.p)
        bad = np.ones(n, dtype=bool)
        for _ in range(6):
            bad = ~self._eligible(pick, age, female)
            if not bad.any():
                break
            pick[bad] = rng.choice(self.p.size, size=int(bad.sum()), p=self.p)
        out = self.pool_index[pick]
        out[~self._eligible(pick, age, female)] = self.fallback
        return np.asarray(out, dtype=np.int64)

    def _eligible(self, pick: IntArray, age: IntArray, female: BoolArray) -> BoolArray:
        sex = self.sex[pick]
        sex_ok = (sex == "") | ((sex == "F") & female) | ((sex == "M") & ~female)
        return np.asarray(
            sex_ok & (self.age_min[pick] <= age) & (age <= self.age_max[pick]), dtype=np.bool_
        )

    def tail(self, rng: np.random.Generator, age: IntArray, female: BoolArray) -> IntArray:
        """Uniform over every billable code; reproductive codes only for women aged 15-55."""
        pick = rng.integers(0, self.masks.size, age.size)
        repro_ok = female & (age >= 15) & (age <= 55)
        wrong = ((self.masks[pick] & REPRO_BIT) != 0) & ~repro_ok
        pick[wrong] = self.fallback
        return np.asarray(pick, dtype=np.int64)


def _claim_counts(rng: np.random.Generator, facts: PatientFacts) -> IntArray:
    """Claims per patient: negative binomial, more for the very young and the old."""
    factor = 1.0 + 0.6 * (facts.age < 3) + np.maximum(facts.age - 40, 0) / 40.0
    lam = MEAN_CLAIMS * factor / factor.mean() * rng.gamma(2.0, 0.5, facts.n)
    return np.asarray(rng.poisson(lam), dtype=np.int64)


def _diagnoses(
    rng: np.random.Generator, drawer: DxDrawer, age: IntArray, female: BoolArray, chronic: IntArray
) -> tuple[IntArray, IntArray, IntArray]:
    """dx1..dx3 pool indices per claim (-1 = none): a patient's chronic code a third of the time."""
    c = age.size
    u = rng.random(c)
    dx1 = np.where(
        u < 0.35,
        chronic,
        np.where(
            u < 1 - TAIL_SHARE, drawer.curated(rng, age, female), drawer.tail(rng, age, female)
        ),
    )
    dx2 = np.where(rng.random(c) < 0.55, drawer.curated(rng, age, female), -1)
    dx3 = np.where((dx2 >= 0) & (rng.random(c) < 0.55), drawer.curated(rng, age, female), -1)
    dx2 = np.where(dx2 == dx1, -1, dx2)
    dx3 = np.where((dx3 == dx1) | (dx3 == dx2), -1, dx3)
    shift = (dx2 < 0) & (dx3 >= 0)  # keep diagnosis positions compact: no dx3 without dx2
    dx2, dx3 = np.where(shift, dx3, dx2), np.where(shift, -1, dx3)
    return dx1, dx2, dx3


def _mask_of(drawer: DxDrawer, dx: IntArray) -> IntArray:
    return np.asarray(np.where(dx >= 0, drawer.masks[np.maximum(dx, 0)], 0), dtype=np.int64)


def _procedures(rng: np.random.Generator, first_line: BoolArray, mask: IntArray) -> IntArray:
    """Procedure index per line: general by weight; a labelled claim's first line draws from its
    label's group half the time."""
    groups = np.array([p.group for p in PROCEDURES])
    general = np.flatnonzero(groups == "")
    w = np.array([p.weight for p in PROCEDURES])
    proc = general[rng.choice(general.size, size=mask.size, p=w[general] / w[general].sum())]
    for bit, label in enumerate(LABELS):
        members = np.flatnonzero(groups == label)
        hit = np.flatnonzero(first_line & ((mask >> bit) & 1 == 1) & (rng.random(mask.size) < 0.5))
        proc[hit] = members[
            rng.choice(members.size, size=hit.size, p=w[members] / w[members].sum())
        ]
    return np.asarray(proc, dtype=np.int64)


def build_providers(rng: np.random.Generator, n_patients: int, zips: ZipSampler) -> pa.Table:
    """Providers (about one per 50 patients): NPI, facility name, ZIP3 (sorted by ZIP3)."""
    p = max(20, n_patients // 50)
    base = 100_000_000 + rng.choice(200_000_000 - 100_000_000, size=p, replace=False)
    rows = zips.draw(rng, p)
    zip3 = zips.zip3_code(rows)
    order = np.argsort(zip3, kind="stable")
    city = zips.table.column("city").take(pa.array(rows[order])).to_numpy(zero_copy_only=False)
    kinds = np.array(ref.FACILITY_KINDS)[rng.integers(0, len(ref.FACILITY_KINDS), p)]
    facility = np.char.add(np.char.add(city.astype(str), " "), kinds)
    npi = np.char.mod("%010d", make_npis(base[order].astype(np.int64)))
    return pa.table({"npi": npi, "facility": facility, "zip3": zip3[order]})


def _choose_providers(rng: np.random.Generator, providers: pa.Table, zip3: IntArray) -> IntArray:
    """A provider in the patient's ZIP3 85 % of the time (when there is one), else anywhere."""
    pz = providers.column("zip3").to_numpy()
    start = np.searchsorted(pz, zip3, "left")
    count = np.searchsorted(pz, zip3, "right") - start
    local = (count > 0) & (rng.random(zip3.size) < 0.85)
    anywhere = rng.integers(0, pz.size, zip3.size)
    nearby = start + (rng.random(zip3.size) * count).astype(np.int64)
    return np.asarray(np.where(local, nearby, anywhere), dtype=np.int64)


def _dict(indices: IntArray, dictionary: pa.Array) -> pa.DictionaryArray:
    """A dictionary-encoded string column (-1 = null) without materializing the strings."""
    idx = pa.array(indices.astype(np.int32), mask=indices < 0)
    return pa.DictionaryArray.from_arrays(idx, dictionary)


def build_claims(
    rng: np.random.Generator, facts: PatientFacts, providers: pa.Table, first_claim: int = 0
) -> pa.Table:
    """Raw claim-line columns for the patients in ``facts`` (formatted by :func:`claim_sql`)."""
    drawer = DxDrawer()
    chronic = drawer.curated(rng, facts.age, facts.female)
    per_patient = _claim_counts(rng, facts)
    patient = np.repeat(np.arange(facts.n, dtype=np.int64), per_patient)
    age, female = facts.age[patient], facts.female[patient]
    lo = np.maximum(facts.birth_day[patient], FIRST_SERVICE_DAY)
    day = lo + (rng.random(patient.size) * (LAST_SERVICE_DAY - lo + 1)).astype(np.int64)
    dx1, dx2, dx3 = _diagnoses(rng, drawer, age, female, chronic[patient])
    mask = _mask_of(drawer, dx1) | _mask_of(drawer, dx2) | _mask_of(drawer, dx3)
    provider = _choose_providers(rng, providers, facts.zip3[patient])
    lines = 1 + rng.poisson(MEAN_EXTRA_LINES, patient.size)
    claim = np.repeat(np.arange(patient.size, dtype=np.int64), lines)
    starts = np.concatenate(([0], np.cumsum(lines)[:-1]))
    line_number = np.arange(claim.size, dtype=np.int64) - starts[claim] + 1
    proc = _procedures(rng, line_number == 1, mask[claim])
    price = np.array([p.price for p in PROCEDURES])[proc]
    paid = np.round(price * rng.lognormal(0.0, 0.35, claim.size) * 100).astype(np.int64)
    paid[rng.random(claim.size) < 0.04] = 0
    pool = code_pool()[0]
    pos = np.array(ref.values(ref.PLACES_OF_SERVICE))
    return pa.table(
        {
            "claim_num": pa.array(first_claim + claim),
            "line_number": pa.array(line_number.astype(np.int32)),
            "patient_row": pa.array(patient[claim]),
            "service_day": pa.array(day[claim].astype(np.int32)),
            "provider_npi": _dict(provider[claim], providers.column("npi").combine_chunks()),
            "facility": _dict(provider[claim], providers.column("facility").combine_chunks()),
            "place_of_service": _dict(
                rng.choice(pos.size, size=claim.size, p=ref.weights(ref.PLACES_OF_SERVICE)),
                pa.array(pos),
            ),
            "dx1": _dict(dx1[claim], pool),
            "dx2": _dict(dx2[claim], pool),
            "dx3": _dict(dx3[claim], pool),
            "procedure_code": _dict(proc, pa.array([p.code for p in PROCEDURES])),
            "paid_cents": pa.array(paid),
            "sensitivity_labels": _dict(mask[claim], label_strings()),
        }
    )


CLAIM_SELECT: dict[str, str] = {
    "claim_id": "'C' || lpad(CAST(claim_num AS VARCHAR), 10, '0')",
    "line_number": "line_number",
    "patient_id": patient_id_sql("patient_row"),
    "service_date": "CAST(DATE '1970-01-01' + service_day AS DATE)",
    "provider_npi": "CAST(provider_npi AS VARCHAR)",
    "facility": "CAST(facility AS VARCHAR)",
    "place_of_service": "CAST(place_of_service AS VARCHAR)",
    "dx1": "CAST(dx1 AS VARCHAR)",
    "dx2": "CAST(dx2 AS VARCHAR)",
    "dx3": "CAST(dx3 AS VARCHAR)",
    "procedure_code": "CAST(procedure_code AS VARCHAR)",
    "paid_amount": "CAST(CAST(paid_cents AS DECIMAL(12, 2)) * 0.01 AS DECIMAL(12, 2))",
    "sensitivity_labels": "CAST(sensitivity_labels AS VARCHAR)",
}


def claim_sql(source: str) -> str:
    """SELECT producing the claims table, in the column order of the known schema."""
    cols = ",\n  ".join(f"{expr} AS {name}" for name, expr in CLAIM_SELECT.items())
    return f"SELECT\n  {cols}\nFROM {source}"
