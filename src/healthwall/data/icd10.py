"""ICD-10-CM hierarchy (chapter, block, category) and the code -> sensitivity label rule.

Codes are written with a dot (``F11.20``); codes without one are accepted and normalized. The
tables come from the April 2026 ICD-10-CM release (CDC/NCHS, public domain), extracted by
``tools/build_data.py``:

* chapters: chapter ("1".."22"), range, first, last, title
* blocks: block ("F10-F19"), chapter, first, last, title
* codes: code, category, block, chapter, billable ("1" for a leaf), description

Sensitivity labels (:func:`labels_of_code`) are derived from diagnosis codes by the rules in
:data:`LABEL_RULES`; the label names are those of ``healthwall.model.codes.Label``.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache, lru_cache
from pathlib import Path

import pyarrow as pa

from healthwall.data._tables import arrow, table_path
from healthwall.errors import UnknownCode

CHAPTERS_FILE = "icd10cm_chapters.csv.gz"
BLOCKS_FILE = "icd10cm_blocks.csv.gz"
CODES_FILE = "icd10cm_codes.csv.gz"

#: Label -> inclusive ranges of code prefixes (compared on the dotted code, prefix-wise). Order
#: does not matter: a code gets every label whose rule matches; MH excludes SUD's F10-F19.
LABEL_RULES: dict[str, tuple[tuple[str, str], ...]] = {
    # 42 CFR Part 2: mental and behavioural disorders due to psychoactive substance use
    "SUD": (("F10", "F19"),),
    # HIV disease, asymptomatic HIV status, HIV in pregnancy, HIV counselling, inconclusive test
    "HIV": (("B20", "B20"), ("Z21", "Z21"), ("O98.7", "O98.7"), ("Z71.7", "Z71.7"), ("R75", "R75")),
    # Mental, behavioural and neurodevelopmental disorders other than substance use
    "MH": (("F01", "F09"), ("F20", "F99")),
    # Pregnancy, childbirth, puerperium; contraception and procreative management; infertility and
    # recurrent pregnancy loss; weeks of gestation
    "REPRO": (("O00", "O9A"), ("Z30", "Z39"), ("Z3A", "Z3A"), ("N96", "N98")),
    # Infections with a predominantly sexual mode of transmission
    "STD": (("A50", "A64"),),
    # Adult and child abuse, neglect and maltreatment (confirmed and suspected); assault
    "SDV": (("T74", "T74"), ("T76", "T76"), ("Y07", "Y07")),
}


def normalize(code: str) -> str:
    """A code in its dotted upper-case form (``f1120`` -> ``F11.20``)."""
    c = code.strip().upper()
    if "." not in c and len(c) > 3:
        c = f"{c[:3]}.{c[3:]}"
    return c


def _in_range(code: str, first: str, last: str) -> bool:
    head = code[: len(first)]
    return first <= head and code[: len(last)] <= last


def labels_of_code(code: str | None) -> frozenset[str]:
    """The sensitivity labels a diagnosis code carries (empty for None or an unlabelled code)."""
    if not code:
        return frozenset()
    return _labels_of_prefix(normalize(code)[:_PREFIX])


#: Rules compare at most this many leading characters, so labels depend only on that prefix.
_PREFIX = max(len(bound) for ranges in LABEL_RULES.values() for pair in ranges for bound in pair)


@cache
def _labels_of_prefix(prefix: str) -> frozenset[str]:
    return frozenset(
        label
        for label, ranges in LABEL_RULES.items()
        if any(_in_range(prefix, first, last) for first, last in ranges)
    )


def sensitivity_labels(codes: Iterable[str | None]) -> str:
    """Sorted, ';'-joined labels of all the codes of one record ("" when none)."""
    found: set[str] = set()
    for code in codes:
        found |= labels_of_code(code)
    return ";".join(sorted(found))


def _column(name: str) -> list[str]:
    """One column of the codes table as Python strings (read by Arrow's CSV reader: fast)."""
    return [str(v) for v in arrow(CODES_FILE).column(name).to_pylist()]


@lru_cache(maxsize=1)
def _categories() -> dict[str, tuple[str, str]]:
    """category -> (block, chapter)."""
    rows = zip(_column("code"), _column("block"), _column("chapter"), strict=True)
    return {code: (block, chapter) for code, block, chapter in rows if "." not in code}


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(_column("code"))


def category_of(code: str) -> str:
    """The 3-character category of a code (``F11.20`` -> ``F11``); UnknownCode if not ICD-10-CM."""
    category = normalize(code)[:3]
    if category not in _categories():
        raise UnknownCode("not a known ICD-10-CM category", field="icd10")
    return category


def block_of(code: str) -> str:
    """The block of a code (``F11.20`` -> ``F10-F19``)."""
    return _categories()[category_of(code)][0]


def chapter_of(code: str) -> str:
    """The chapter number of a code as a string (``F11.20`` -> ``5``)."""
    return _categories()[category_of(code)][1]


def is_code(code: str) -> bool:
    """Whether a code (category, subcategory or billable code) is in ICD-10-CM."""
    return normalize(code) in _codes()


def is_billable(code: str) -> bool:
    """Whether a code is a leaf (valid on a claim)."""
    return normalize(code) in billable_codes()


@lru_cache(maxsize=1)
def billable_codes() -> frozenset[str]:
    """Every billable (leaf) code."""
    return frozenset(
        c for c, b in zip(_column("code"), _column("billable"), strict=True) if b == "1"
    )


def chapters_table() -> pa.Table:
    """chapter, range, first, last, title (22 rows), all strings."""
    return arrow(CHAPTERS_FILE)


def blocks_table() -> pa.Table:
    """block, chapter, first, last, title, all strings."""
    return arrow(BLOCKS_FILE)


def codes_table() -> pa.Table:
    """code, category, block, chapter, billable, description, all strings (~98k rows)."""
    return arrow(CODES_FILE)


def table_file(name: str) -> Path:
    """Path of the packaged gzip CSV of ``chapters``, ``blocks`` or ``codes`` (for SQL readers)."""
    files = {"chapters": CHAPTERS_FILE, "blocks": BLOCKS_FILE, "codes": CODES_FILE}
    if name not in files:
        raise UnknownCode("ICD-10-CM table must be chapters, blocks or codes", field="table")
    return table_path(files[name])
