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

import bisect
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

#: Periods are grouped as dates (cheap) and labelled only on the aggregated rows.
_PERIOD_SQL: dict[Period, str] = {
    Period.MONTH: "date_trunc('month', CAST(c.service_date AS DATE))",
    Period.QUARTER: "date_trunc('quarter', CAST(c.service_date AS DATE))",
    Period.YEAR: "date_trunc('year', CAST(c.service_date AS DATE))",
}
_PERIOD_LABEL: dict[Period, str] = {
    Period.MONTH: "strftime({x}, '%Y-%m')",
    Period.QUARTER: "strftime({x}, '%Y') || '-Q' || CAST(quarter({x}) AS VARCHAR)",
    Period.YEAR: "strftime({x}, '%Y')",
}


def _breakdown_sql(breakdown: Breakdown) -> str:
    if breakdown is Breakdown.CHAPTER:
        return "dx.chapter"
    if breakdown is Breakdown.AGE_BAND:
        return _age_band_sql()
    if breakdown is Breakdown.SEX:
        return (
            "CASE upper(substr(trim(CAST(p.sex AS VARCHAR)), 1, 1)) "
            "WHEN 'F' THEN 'F' WHEN 'M' THEN 'M' ELSE 'U' END"
        )
    if breakdown is Breakdown.BLOCK:
        return "dx.block"
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


@cache
def _category_lookup() -> tuple[list[str], list[str], list[str]]:
    """Every ICD-10-CM category with its chapter and (finest) block, as three parallel lists.

    Bound as list parameters and joined on the first three characters of ``dx1`` (a hash join;
    far cheaper than a CASE with hundreds of ranges on every claim line).
    """
    table = icd10.codes_table()
    blocks = _blocks()
    firsts = [b[1] for b in blocks]
    out: tuple[list[str], list[str], list[str]] = ([], [], [])
    for cat in sorted(set(table.column("category").to_pylist())):
        chapter = next((ch for ch, lo, hi in ICD10_CHAPTERS if lo <= cat <= hi), None)
        i = bisect.bisect_right(firsts, cat) - 1
        if chapter is None or i < 0 or not blocks[i][1] <= cat <= blocks[i][2]:
            continue
        out[0].append(cat)
        out[1].append(chapter)
        out[2].append(blocks[i][0])
    return out


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


def _claim_keys(query: AggregateQuery) -> list[tuple[int, str, str]]:
    """(position, SQL, label) of the keys that vary by claim line: period, diagnosis, age band."""
    keys = [(1, _PERIOD_SQL[query.period], _PERIOD_LABEL[query.period])]
    if query.breakdown in (Breakdown.CHAPTER, Breakdown.BLOCK, Breakdown.AGE_BAND):
        assert query.breakdown is not None
        keys.append((2, _breakdown_sql(query.breakdown), "{x}"))
    return keys


def _patient_keys(query: AggregateQuery) -> list[tuple[int, str]]:
    """(position, SQL) of the keys fixed per patient: geography, sex."""
    keys = [(0, _GEO_SQL[query.geography])]
    if query.breakdown is Breakdown.SEX:
        keys.append((2, _breakdown_sql(Breakdown.SEX)))
    return keys


def compile_template(query: AggregateQuery, *, hash_key: str) -> CompiledTemplate:
    """The one SQL query of ``query``: bounded per-patient cells, then distinct-patient counts.

    A patient's geography (and sex) is one value per patient, so the cells of a patient are
    told apart by the claim-level keys alone: those are bounded first (the C cells with the
    smallest keyed hash, via ``min_by(..., C)``), then joined to the patient's own keys.
    """
    claim_keys, patient_keys = _claim_keys(query), _patient_keys(query)
    ck = [f"c{pos}" for pos, _, _ in claim_keys]
    select_ck = ", ".join(
        f"{sql} AS {name}" for (_, sql, _), name in zip(claim_keys, ck, strict=True)
    )
    where = " AND ".join(
        ["c.service_date BETWEEN ? AND ?", *(f"{sql} IS NOT NULL" for _, sql, _ in claim_keys)]
    )
    params: list[object] = []
    join = ""
    if query.breakdown is Breakdown.AGE_BAND:
        join = "JOIN patients p ON p.patient_id = c.patient_id"
    elif query.breakdown in (Breakdown.CHAPTER, Breakdown.BLOCK):
        join = (
            "JOIN (SELECT unnest(?::VARCHAR[]) AS category, unnest(?::VARCHAR[]) AS chapter,"
            " unnest(?::VARCHAR[]) AS block) dx ON dx.category = upper(substr(c.dx1, 1, 3))"
        )
        params += list(_category_lookup())
    params += [query.date_from, query.date_to]
    if query.template is Template.DIAGNOSED:
        lo, hi = next((lo, hi) for ch, lo, hi in ICD10_CHAPTERS if ch == query.chapter)
        cats = [f"upper(substr(c.dx{i}, 1, 3)) BETWEEN ? AND ?" for i in (1, 2, 3)]
        where += " AND (" + " OR ".join(cats) + ")"
        params += [lo, hi] * 3
    final = {pos: sql for pos, sql in patient_keys}
    final.update({pos: label.format(x=f"b.s.c{pos}") for pos, _, label in claim_keys})
    key_list = ", ".join(ck)
    names = [f"k{i}" for i in range(len(final))]
    select_final = ", ".join(f"{final[i]} AS {n}" for i, n in enumerate(names))
    not_null = " AND ".join(f"{final[i]} IS NOT NULL" for i in range(len(final)))
    sql = f"""
WITH cells AS (
  SELECT DISTINCT c.patient_id AS pid, {select_ck}
  FROM claims c {join}
  WHERE {where}
), bounded AS (
  SELECT pid, unnest(min_by(struct_pack({key_list}), hash(?, pid, {key_list}), ?)) AS s
  FROM cells GROUP BY pid
)
SELECT {select_final}, CAST(count(*) AS BIGINT) AS n
FROM bounded b JOIN patients p ON p.patient_id = b.pid
WHERE {not_null}
GROUP BY ALL
"""
    params += [hash_key, query.max_contributions]
    return CompiledTemplate(
        sql=sql,
        params=params,
        dimensions=query.dimensions(),
        public_keys=_public_keys(query),
        contribution_bound=query.max_contributions,
    )
