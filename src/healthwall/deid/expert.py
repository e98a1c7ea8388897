"""The expert-determination profile (45 CFR 164.514(b)(1)): Safe Harbor for direct identifiers,
then optimal generalization of the quasi-identifiers until the stated risk threshold holds.

Direct identifiers (role ``identifier``: names, SSN, MRN, contact details, record ids, photos, ...)
are removed exactly as Safe Harbor removes them -- the profile never keeps what Safe Harbor would
drop outright. Quasi-identifiers (ZIP, dates, age, sex, race, ...) are *not* cut to Safe Harbor's
fixed shape; instead the lattice search generalizes them just enough that the highest prosecutor
risk is at most the threshold (default 0.05, about k = 20; 0.09 for a recipient under a data use
agreement -- LEGAL.md), or the extract is refused with the reason.

Hierarchies come from ``--hierarchies DIR`` when it has a file for a column, otherwise they are
built from the column's declared kind: ZIP -> digit masking, dates -> month/year/decade, age ->
5/10/20-year intervals, anything else -> value or ``*``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid.hierarchy import Hierarchy, find_hierarchy_file, load_hierarchy
from healthwall.errors import InvalidInput, NotFound
from healthwall.model.dataset import DatasetSpec, IdentifierKind, Role

CITATION = "45 CFR 164.514(b)(1)"
DEFAULT_THRESHOLD = 0.05
K = IdentifierKind


def split_columns(columns: Sequence[str], spec: DatasetSpec) -> tuple[list[str], list[str]]:
    """(kept columns in input order, quasi-identifiers); undeclared columns are an error."""
    undeclared = [c for c in columns if c not in spec.columns]
    if undeclared:
        raise InvalidInput(
            f"{len(undeclared)} column(s) are not declared in the spec: {', '.join(undeclared)}",
            field="spec",
        )
    kept: list[str] = []
    qi: list[str] = []
    for column in columns:
        col = spec.columns[column]
        if col.role is Role.IDENTIFIER or (col.free_text and not col.safe_text):
            continue  # removed as Safe Harbor removes it
        kept.append(column)
        if col.role is Role.QUASI_IDENTIFIER:
            qi.append(column)
    if not qi:
        raise InvalidInput("the spec declares no quasi-identifier among the input's columns")
    return kept, qi


def hierarchy_for(
    column: str, kind: IdentifierKind | None, values: Sequence[str], directory: Path | None
) -> Hierarchy:
    """A file from ``directory`` if there is one for ``column``, else one built from ``kind``."""
    if directory is not None:
        try:
            return load_hierarchy(find_hierarchy_file(directory, column), column)
        except NotFound:
            pass
    present = [v for v in values if v != ""]
    if present and len(present) < len(values):
        return _with_missing(_built(column, kind, present))
    return _built(column, kind, values)


def _with_missing(hierarchy: Hierarchy) -> Hierarchy:
    """Add the missing value ('' -- NULL in the data) as its own label below the top, so one
    missing value does not force a date or ZIP hierarchy down to value-or-``*``."""
    height = hierarchy.height
    row = ("",) * (height - 1) + (hierarchy.rows[0][-1],)
    built = Hierarchy(column=hierarchy.column, rows=(*hierarchy.rows, row), source="builder")
    built.validate()
    return built


def _built(column: str, kind: IdentifierKind | None, values: Sequence[str]) -> Hierarchy:
    if kind is K.ZIP and len({len(v) for v in values}) == 1:
        return hb.digit_mask(column, values)
    if kind in (K.BIRTH_DATE, K.DATE) and _all_dates(values):
        return hb.dates(column, values)
    if kind is K.AGE:
        return hb.intervals(column, values, (5, 10, 20))
    return _flat(column, values)


def _all_dates(values: Sequence[str]) -> bool:
    return all(len(v) == 10 and v[4] == "-" and v[7] == "-" for v in values)


def _flat(column: str, values: Sequence[str]) -> Hierarchy:
    return hb.grouped(column, values, [])
