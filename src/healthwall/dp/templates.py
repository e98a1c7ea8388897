"""Fixed aggregate templates compiled to one DuckDB query with contribution bounding.

A template counts *distinct patients* per cell (geography x period [x breakdown]). Before counting,
each patient's cells are truncated to at most ``C = max_contributions`` cells, chosen
deterministically by a keyed hash (``row_number()`` over ``hash(key, patient, cell)``), so adding or
removing one patient changes at most C cells by at most 1 each: L1 sensitivity C, L2 sensitivity
sqrt(C), L0 = C, Linf = 1. Which cells survive depends only on that patient's own rows, so the
bound holds however many claim lines one patient has.

Only the templates and dimensions declared here exist; parameters are bound, never spliced, and the
SQL fragments come from this module's own tables.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import date
from functools import cache

from healthwall.data import data_path, icd10
from healthwall.errors import InvalidInput
from healthwall.model.aggregate import AggregateQuery, Breakdown, Geography, Period, Template

#: ICD-10-CM chapters by range of three-character categories (22: codes for special purposes).
ICD10_CHAPTERS: tuple[tuple[str, str, str], ...] = (
    ("01", "A00", "B99"),
    ("02", "C00", "D49"),
    ("03", "D50", "D89"),
    ("04", "E00", "E89"),
    ("05", "F01", "F99"),
    ("06", "G00", "G99"),
    ("07", "H00", "H59"),
    ("08", "H60", "H95"),
    ("09", "I00", "I99"),
    ("10", "J00", "J99"),
    ("11", "K00", "K95"),
    ("12", "L00", "L99"),
    ("13", "M00", "M99"),
    ("14", "N00", "N99"),
    ("15", "O00", "O9A"),
    ("16", "P00", "P96"),
    ("17", "Q00", "Q99"),
    ("18", "R00", "R99"),
    ("19", "S00", "T88"),
    ("20", "V00", "Y99"),
    ("21", "Z00", "Z99"),
    ("22", "U00", "U85"),
)

#: States, DC and the territories (USPS codes): the public key set of ``state``.
STATES: tuple[str, ...] = (
    "AK", "AL", "AR", "AS", "AZ", "CA", "CO", "CT", "DC", "DE", "FL", "GA", "GU", "HI", "IA", "ID",
    "IL", "IN", "KS", "KY", "LA", "MA", "MD", "ME", "MI", "MN", "MO", "MP", "MS", "MT", "NC", "ND",
    "NE", "NH", "NJ", "NM", "NV", "NY", "OH", "OK", "OR", "PA", "PR", "RI", "SC", "SD", "TN", "TX",
    "UT", "VA", "VI", "VT", "WA", "WI", "WV", "WY",
)  # fmt: skip

AGE_BANDS: tuple[tuple[str, int, int], ...] = (
    ("00-17", 0, 17),
    ("18-34", 18, 34),
    ("35-49", 35, 49),
    ("50-64", 50, 64),
    ("65-79", 65, 79),
    ("80+", 80, 200),
)

SEXES: tuple[str, ...] = ("F", "M", "U")


@dataclass(frozen=True)
class CompiledTemplate:
    """SQL and parameters of one query, and the public key set of each dimension (None: private)."""

    sql: str
    params: list[object]
    dimensions: list[str]
    public_keys: list[tuple[str, ...] | None]
    contribution_bound: int

    @property
    def keys_public(self) -> bool:
        return all(keys is not None for keys in self.public_keys)

    @property
    def sensitivity_l1(self) -> int:
        return self.contribution_bound

    @property
    def sensitivity_l2(self) -> float:
        return math.sqrt(self.contribution_bound)


@cache
def zip3_keys() -> tuple[str, ...]:
    """All ZIP3 prefixes of the packaged 2010 Census table: the public key set of ``zip3``."""
    with data_path("zip3_population_2010.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(sorted(row["zip3"] for row in csv.DictReader(fh)))


def period_keys(period: Period, start: date, end: date) -> tuple[str, ...]:
    """Every period label from ``start`` to ``end`` inclusive (a public key set)."""
    months = range(start.year * 12 + start.month - 1, end.year * 12 + end.month)
    labels: list[str] = []
    for m in months:
        year, month = divmod(m, 12)
        if period is Period.MONTH:
            label = f"{year:04d}-{month + 1:02d}"
        elif period is Period.QUARTER:
            label = f"{year:04d}-Q{month // 3 + 1}"
        else:
            label = f"{year:04d}"
        if not labels or labels[-1] != label:
            labels.append(label)
    return tuple(labels)


def _chapter_sql(column: str) -> str:
    cat = f"upper(substr({column}, 1, 3))"
    arms = " ".join(
        f"WHEN {cat} BETWEEN '{lo}' AND '{hi}' THEN '{ch}'" for ch, lo, hi in ICD10_CHAPTERS
    )
    return f"CASE {arms} END"


def _age_band_sql() -> str:
    age = "datesub('year', CAST(p.birth_date AS DATE), CAST(c.service_date AS DATE))"
    arms = " ".join(
        f"WHEN {age} BETWEEN {lo} AND {hi} THEN '{label}'" for label, lo, hi in AGE_BANDS
    )
    return f"CASE {arms} END"


_GEO_SQL: dict[Geography, str] = {
    Geography.ZIP3: "substr(CAST(p.zip AS VARCHAR), 1, 3)",
    Geography.COUNTY: "upper(trim(CAST(p.state AS VARCHAR))) || ':' || "
    "trim(CAST(p.county AS VARCHAR))",
    Geography.STATE: "upper(trim(CAST(p.state AS VARCHAR)))",
}

_PERIOD_SQL: dict[Period, str] = {
    Period.MONTH: "strftime(CAST(c.service_date AS DATE), '%Y-%m')",
    Period.QUARTER: "strftime(CAST(c.service_date AS DATE), '%Y') || '-Q' || "
    "CAST(quarter(CAST(c.service_date AS DATE)) AS VARCHAR)",
    Period.YEAR: "strftime(CAST(c.service_date AS DATE), '%Y')",
}


def _breakdown_sql(breakdown: Breakdown) -> str:
    if breakdown is Breakdown.CHAPTER:
        return _chapter_sql("c.dx1")
    if breakdown is Breakdown.AGE_BAND:
        return _age_band_sql()
    if breakdown is Breakdown.SEX:
        return (
            "CASE upper(substr(trim(CAST(p.sex AS VARCHAR)), 1, 1)) "
            "WHEN 'F' THEN 'F' WHEN 'M' THEN 'M' ELSE 'U' END"
        )
    if breakdown is Breakdown.BLOCK:
        return _block_sql("c.dx1")
    raise InvalidInput(f"unknown breakdown {breakdown.value}", field="by")


@cache
def _blocks() -> tuple[tuple[str, str, str], ...]:
    """The finest ICD-10-CM blocks (block, first, last), by first category.

    The packaged table nests some blocks (C00-C96 holds C00-C14); only blocks that contain no
    other block are kept, so every category falls in exactly one key.
    """
    table = icd10.blocks_table()
    cols = (table.column(n).to_pylist() for n in ("block", "first", "last"))
    blocks = set(zip(*cols, strict=True))
    leaves = [
        b for b in blocks if not any(o != b and b[1] <= o[1] and o[2] <= b[2] for o in blocks)
    ]
    return tuple(sorted(leaves, key=lambda b: (b[1], b[2])))


def block_keys() -> tuple[str, ...]:
    """All ICD-10-CM blocks: the public key set of ``dx_block``."""
    return tuple(dict.fromkeys(b for b, _, _ in _blocks()))


def _block_sql(column: str) -> str:
    cat = f"upper(substr({column}, 1, 3))"
    arms = " ".join(f"WHEN {cat} BETWEEN '{lo}' AND '{hi}' THEN '{b}'" for b, lo, hi in _blocks())
    return f"CASE {arms} END"


def _public_keys(query: AggregateQuery) -> list[tuple[str, ...] | None]:
    geo: tuple[str, ...] | None = {
        Geography.ZIP3: zip3_keys(),
        Geography.STATE: STATES,
        Geography.COUNTY: None,  # no packaged county list: selected by threshold
    }[query.geography]
    keys: list[tuple[str, ...] | None] = [
        geo,
        period_keys(query.period, query.date_from, query.date_to),
    ]
    if query.breakdown is Breakdown.CHAPTER:
        keys.append(tuple(ch for ch, _, _ in ICD10_CHAPTERS))
    elif query.breakdown is Breakdown.AGE_BAND:
        keys.append(tuple(label for label, _, _ in AGE_BANDS))
    elif query.breakdown is Breakdown.SEX:
        keys.append(SEXES)
    elif query.breakdown is Breakdown.BLOCK:
        keys.append(block_keys())
    return keys


def compile_template(query: AggregateQuery, *, hash_key: str) -> CompiledTemplate:
    """The one SQL query of ``query``: bounded per-patient cells, then distinct-patient counts."""
    exprs = [_GEO_SQL[query.geography], _PERIOD_SQL[query.period]]
    if query.breakdown is not None:
        exprs.append(_breakdown_sql(query.breakdown))
    names = [f"k{i}" for i in range(len(exprs))]
    select_keys = ", ".join(f"{e} AS {n}" for e, n in zip(exprs, names, strict=True))
    not_null = " AND ".join(f"{n} IS NOT NULL" for n in names)
    where = "CAST(c.service_date AS DATE) BETWEEN ? AND ?"
    params: list[object] = [query.date_from, query.date_to]
    if query.template is Template.DIAGNOSED:
        where += " AND ? IN (" + ", ".join(_chapter_sql(f"c.dx{i}") for i in (1, 2, 3)) + ")"
        params.append(query.chapter)
    key_list = ", ".join(names)
    sql = f"""
WITH cells AS (
  SELECT DISTINCT c.patient_id AS pid, {select_keys}
  FROM claims c JOIN patients p ON p.patient_id = c.patient_id
  WHERE {where}
), kept AS (
  SELECT * FROM cells WHERE {not_null}
), bounded AS (
  SELECT {key_list} FROM kept
  QUALIFY row_number() OVER (PARTITION BY pid ORDER BY hash(?, pid, {key_list}), {key_list}) <= ?
)
SELECT {key_list}, CAST(count(*) AS BIGINT) AS n FROM bounded GROUP BY {key_list}
"""
    params.extend([hash_key, query.max_contributions])
    return CompiledTemplate(
        sql=sql,
        params=params,
        dimensions=query.dimensions(),
        public_keys=_public_keys(query),
        contribution_bound=query.max_contributions,
    )
