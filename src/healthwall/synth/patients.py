"""Synthetic patients: households sharing an address, names by census frequency, ZIPs by
population, ages 0-105, demographics with plausible distributions.

Everything is drawn as numpy arrays from one ``numpy.random.Generator`` (deterministic per seed)
and turned into strings by Arrow ``take`` over small lookup tables and by SQL formatting in the
engine (:data:`PATIENT_SQL`); there is no per-row Python.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from healthwall.data._tables import arrow
from healthwall.synth import reference as ref
from healthwall.synth.zips import ZipSampler

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Ages and dates are relative to this day (days since 1970-01-01 of 2025-01-01).
REFERENCE_DAY = 20089
MAX_AGE = 105


@dataclass(frozen=True)
class PatientFacts:
    """What the claims generator needs to know about each patient."""

    n: int
    age: IntArray
    female: BoolArray
    birth_day: IntArray
    zip3: IntArray


def age_weights() -> npt.NDArray[np.float64]:
    """Relative population by single year of age 0..105: flat to 60, then an exponential decline
    that leaves about 0.7 % of people aged 90 or over (0.6-0.7 % in the 2020 Census)."""
    ages = np.arange(MAX_AGE + 1)
    w = np.where(ages < 60, 1.0, np.exp(-(ages - 60) / 12.5))
    return np.asarray(w / w.sum(), dtype=np.float64)


def _households(rng: np.random.Generator, n: int) -> IntArray:
    """Household number of each of ``n`` patients (members are consecutive)."""
    sizes_table = ref.HOUSEHOLD_SIZES
    sizes = np.array([s for s, _ in sizes_table], dtype=np.int64)
    drawn = rng.choice(sizes, size=n, p=ref.weights(sizes_table))  # n households always suffice
    return np.asarray(np.repeat(np.arange(drawn.size), drawn)[:n], dtype=np.int64)


def _names(rng: np.random.Generator, female: BoolArray, hh: IntArray) -> tuple[pa.Array, pa.Array]:
    first_t, last_t = arrow("names_first.csv.gz"), arrow("names_last.csv.gz")
    sex = np.asarray(first_t.column("sex").to_numpy(zero_copy_only=False))
    pct = first_t.column("percent").to_numpy(zero_copy_only=False).astype(np.float64)
    f_rows, m_rows = np.flatnonzero(sex == "F"), np.flatnonzero(sex == "M")
    n = female.size
    f_pick = f_rows[rng.choice(f_rows.size, size=n, p=pct[f_rows] / pct[f_rows].sum())]
    m_pick = m_rows[rng.choice(m_rows.size, size=n, p=pct[m_rows] / pct[m_rows].sum())]
    first = np.where(female, f_pick, m_pick)
    last_pct = last_t.column("percent").to_numpy(zero_copy_only=False).astype(np.float64)
    last_p = last_pct / last_pct.sum()
    household_last = rng.choice(last_p.size, size=int(hh[-1]) + 1, p=last_p)
    own_last = rng.choice(last_p.size, size=n, p=last_p)
    last = np.where(rng.random(n) < 0.85, household_last[hh], own_last)
    return first_t.column("name").take(pa.array(first)), last_t.column("name").take(pa.array(last))


def _birthplace(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    """Birthplace, language, ethnicity, race and immigration status, drawn jointly."""
    countries = ref.COUNTRIES
    cw = np.array([c.weight for c in countries])
    foreign = rng.random(n) < ref.FOREIGN_BORN_SHARE
    country = rng.choice(len(countries), size=n, p=cw / cw.sum())
    c_lang = np.array([c.language for c in countries])
    c_hisp = np.array([c.hispanic for c in countries])
    c_asian = np.array([c.asian for c in countries])
    c_non_en = np.array([c.non_english for c in countries])
    us_lang = np.array(ref.values(ref.LANGUAGES_US_BORN))[
        rng.choice(len(ref.LANGUAGES_US_BORN), size=n, p=ref.weights(ref.LANGUAGES_US_BORN))
    ]
    foreign_lang = np.where(rng.random(n) < c_non_en[country], c_lang[country], "English")
    language = np.where(foreign, foreign_lang, us_lang)
    hispanic = np.where(foreign, c_hisp[country], (us_lang == "Spanish") | (rng.random(n) < 0.09))
    races = np.array(ref.values(ref.RACES))
    race = races[rng.choice(races.size, size=n, p=ref.weights(ref.RACES))]
    race = np.where(foreign & c_asian[country] & (rng.random(n) < 0.9), "Asian", race)
    statuses = np.array(ref.values(ref.FOREIGN_STATUS))
    status = statuses[rng.choice(statuses.size, size=n, p=ref.weights(ref.FOREIGN_STATUS))]
    codes = np.array([c.code for c in countries])
    return {
        "race": pa.array(race),
        "ethnicity": pa.array(np.where(hispanic, ref.ETHNICITIES[0], ref.ETHNICITIES[1])),
        "language": pa.array(language),
        "birthplace_country": pa.array(np.where(foreign, codes[country], "US")),
        "immigration_status": pa.array(np.where(foreign, status, ref.US_BORN_STATUS)),
    }


def _affine_permutation(n: int, modulus: int, rng: np.random.Generator) -> IntArray:
    """``n`` distinct numbers below ``modulus`` (an affine map i -> a*i+b mod m, a odd and not a
    multiple of 5, hence coprime with every power-of-ten modulus used here)."""
    a = int(rng.integers(modulus // 3, modulus // 2)) | 1
    while a % 5 == 0:
        a += 2
    b = int(rng.integers(0, modulus))
    return np.asarray((np.arange(n, dtype=np.int64) * a + b) % modulus, dtype=np.int64)


def _identifiers(rng: np.random.Generator, n: int) -> dict[str, pa.Array]:
    ssn_seq = _affine_permutation(n, 10**8, rng) % (100 * 99 * 9999)
    medicaid = _affine_permutation(n, 10**9, rng)
    on_medicaid = rng.random(n) < 0.30
    return {
        "mrn_num": pa.array(_affine_permutation(n, 10**8, rng)),
        "ssn_area": pa.array(900 + ssn_seq // (99 * 9999)),
        "ssn_group": pa.array(1 + (ssn_seq // 9999) % 99),
        "ssn_serial": pa.array(1 + ssn_seq % 9999),
        "medicaid_num": pa.array(medicaid, mask=~on_medicaid),
        "npa": pa.array(
            rng.integers(2, 10, n) * 100 + rng.integers(0, 9, n) * 10 + rng.integers(0, 10, n)
        ),
        "phone_k": pa.array(rng.integers(0, 100, n)),
        "has_phone": pa.array(rng.random(n) < 0.92),
        "email_n": pa.array(rng.integers(1, 100, n)),
        "has_email": pa.array(rng.random(n) < 0.70),
        "photo_key": pa.array(rng.integers(0, 2**62, n)),
        "has_photo": pa.array(rng.random(n) < 0.40),
    }


def _addresses(rng: np.random.Generator, hh: IntArray, zips: ZipSampler) -> dict[str, pa.Array]:
    h = int(hh[-1]) + 1
    zip_row = zips.draw(rng, h)[hh]
    apt = np.where(rng.random(h) < 0.18, rng.integers(1, 40, h), 0)[hh]
    cols = {
        name: zips.table.column(name).take(pa.array(zip_row))
        for name in ("city", "county", "state", "zip")
    }
    cols["street_num"] = pa.array(rng.integers(1, 9999, h)[hh])
    cols["street"] = pa.array(np.array(ref.STREETS)[rng.integers(0, len(ref.STREETS), h)][hh])
    suffixes = np.array(ref.STREET_SUFFIXES)
    cols["suffix"] = pa.array(suffixes[rng.integers(0, suffixes.size, h)][hh])
    cols["apt"] = pa.array(apt)
    cols["zip_row"] = pa.array(zip_row)
    return cols


def build_patients(
    rng: np.random.Generator, n: int, zips: ZipSampler
) -> tuple[pa.Table, PatientFacts]:
    """The raw patient columns (formatted by :data:`PATIENT_SQL`) and the facts claims need."""
    hh = _households(rng, n)
    female = rng.random(n) < 0.508
    age = rng.choice(MAX_AGE + 1, size=n, p=age_weights()).astype(np.int64)
    birth_day = REFERENCE_DAY - (age * 365.25).astype(np.int64) - rng.integers(1, 365, n)
    first, last = _names(rng, female, hh)
    cols: dict[str, pa.Array] = {"i": pa.array(np.arange(n, dtype=np.int64))}
    cols |= {"first_name": first, "last_name": last, "birth_day": pa.array(birth_day)}
    cols["sex"] = pa.array(np.where(female, "F", "M"))
    cols |= _addresses(rng, hh, zips)
    cols |= _birthplace(rng, n)
    cols |= _identifiers(rng, n)
    zip_row = cols["zip_row"].to_numpy()
    facts = PatientFacts(n, age, female, birth_day, zips.zip3_code(zip_row))
    return pa.table(cols), facts


def patient_id_sql(index_expr: str) -> str:
    """SQL for the patient_id of a patient row number (shared by patients and claims)."""
    return f"'P' || lpad(CAST({index_expr} AS VARCHAR), 9, '0')"


PATIENT_SELECT: dict[str, str] = {
    "patient_id": patient_id_sql("i"),
    "mrn": "'MRN' || lpad(CAST(mrn_num AS VARCHAR), 8, '0')",
    "ssn": "printf('%03d-%02d-%04d', ssn_area, ssn_group, ssn_serial)",
    "medicaid_id": "state || lpad(CAST(medicaid_num AS VARCHAR), 9, '0')",
    "first_name": "first_name",
    "last_name": "last_name",
    "birth_date": "CAST(DATE '1970-01-01' + CAST(birth_day AS INTEGER) AS DATE)",
    "sex": "sex",
    "address_line": (
        "CAST(street_num AS VARCHAR) || ' ' || street || ' ' || suffix"
        " || CASE WHEN apt > 0 THEN ' Apt ' || CAST(apt AS VARCHAR) ELSE '' END"
    ),
    "city": "city",
    "county": "county",
    "state": "state",
    "zip": "zip",
    "phone": "CASE WHEN has_phone THEN printf('%03d-555-01%02d', npa, phone_k) END",
    "email": (
        "CASE WHEN has_email THEN lower(regexp_replace(first_name || '.' || last_name,"
        " '[^A-Za-z.]', '', 'g')) || CAST(email_n AS VARCHAR) || '@example.org' END"
    ),
    "race": "race",
    "ethnicity": "ethnicity",
    "language": "language",
    "birthplace_country": "birthplace_country",
    "immigration_status": "immigration_status",
    "photo_ref": (
        "CASE WHEN has_photo THEN 'photos/' || printf('%016x', photo_key)[1:2] || '/'"
        " || printf('%016x', photo_key) || '.jpg' END"
    ),
}


def patient_sql(source: str) -> str:
    """SELECT producing the patients table, in the column order of the known schema."""
    cols = ",\n  ".join(f"{expr} AS {name}" for name, expr in PATIENT_SELECT.items())
    return f"SELECT\n  {cols}\nFROM {source}"
