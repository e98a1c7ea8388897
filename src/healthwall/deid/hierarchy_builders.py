"""Builders of generalization hierarchies for common quasi-identifiers.

Each builder takes the distinct values of a column and returns a validated :class:`Hierarchy`
(write it with :meth:`Hierarchy.to_csv` to get an ARX-format file). Every hierarchy ends in ``*``.

- :func:`intervals` -- numbers (ages) into intervals of growing width, e.g. 5, 10, 20 years;
- :func:`digit_mask` -- codes such as ZIPs masked from the right, one digit per level;
- :func:`dates` -- ISO dates: day -> month -> year -> decade;
- :func:`icd10` -- ICD-10-CM codes: code -> category -> block -> chapter;
- :func:`ordered` -- values in a given order grouped into runs of growing size;
- :func:`grouped` -- explicit value -> group maps, one per level.

Values a builder cannot place are reported by count, never by value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from itertools import pairwise

from healthwall.deid.hierarchy import Hierarchy
from healthwall.errors import InvalidInput, UnknownCode

TOP = "*"


def _finish(column: str, rows: list[list[str]]) -> Hierarchy:
    hierarchy = Hierarchy(column=column, rows=tuple(tuple([*r, TOP]) for r in rows))
    hierarchy.validate()
    return hierarchy


def _bad(column: str, count: int, what: str) -> InvalidInput:
    return InvalidInput(f"column {column}: {count} distinct value(s) are not {what}", field=column)


def intervals(column: str, values: Sequence[str], widths: Sequence[int] = (5, 10, 20)) -> Hierarchy:
    """Integers into aligned intervals ``lo-hi`` of each width (each a multiple of the last)."""
    if any(w <= 0 for w in widths) or any(b % a for a, b in pairwise(widths)):
        raise InvalidInput("interval widths must be positive, each a multiple of the one before")
    rows: list[list[str]] = []
    bad = 0
    for value in values:
        try:
            number = int(float(value))
        except ValueError:
            bad += 1
            continue
        row = [value]
        for w in widths:
            lo = math.floor(number / w) * w
            row.append(f"{lo}-{lo + w - 1}")
        rows.append(row)
    if bad:
        raise _bad(column, bad, "numbers")
    return _finish(column, rows)


def digit_mask(column: str, values: Sequence[str], keep_min: int = 0) -> Hierarchy:
    """Mask one trailing character per level (``02139`` -> ``0213*`` -> ... ); same length only."""
    lengths = {len(v) for v in values}
    if len(lengths) > 1:
        raise InvalidInput(f"column {column}: values of different lengths cannot be digit-masked")
    width = lengths.pop() if lengths else 0
    rows = []
    for value in values:
        row = [value]
        for masked in range(1, width - keep_min):
            row.append(value[: width - masked] + TOP * masked)
        rows.append(row)
    return _finish(column, rows)


def dates(column: str, values: Sequence[str]) -> Hierarchy:
    """ISO dates ``YYYY-MM-DD`` -> ``YYYY-MM`` -> ``YYYY`` -> decade ``2010-2019``."""
    rows = []
    bad = 0
    for value in values:
        if len(value) < 10 or value[4] != "-" or value[7] != "-" or not value[:4].isdigit():
            bad += 1
            continue
        year = int(value[:4])
        decade = year // 10 * 10
        rows.append([value, value[:7], value[:4], f"{decade}-{decade + 9}"])
    if bad:
        raise _bad(column, bad, "ISO dates (YYYY-MM-DD)")
    return _finish(column, rows)


def icd10(column: str, values: Sequence[str]) -> Hierarchy:
    """ICD-10-CM codes -> 3-character category -> block -> chapter (from healthwall.data)."""
    from healthwall.data import icd10 as codes

    rows = []
    bad = 0
    for value in values:
        try:
            rows.append(
                [
                    value,
                    codes.category_of(value),
                    codes.block_of(value),
                    "ch" + codes.chapter_of(value),
                ]
            )
        except UnknownCode:
            bad += 1
    if bad:
        raise _bad(column, bad, "ICD-10-CM codes")
    return _finish(column, rows)


def ordered(column: str, order: Sequence[str], sizes: Sequence[int] = (2, 4)) -> Hierarchy:
    """Values in ``order`` grouped into consecutive runs of each size (``first..last``)."""
    if any(s <= 0 for s in sizes) or any(b % a for a, b in pairwise(sizes)):
        raise InvalidInput("group sizes must be positive, each a multiple of the one before")
    rows = []
    for i, value in enumerate(order):
        row = [value]
        for size in sizes:
            lo = i // size * size
            hi = min(lo + size, len(order)) - 1
            row.append(f"{order[lo]}..{order[hi]}")
        rows.append(row)
    return _finish(column, rows)


def grouped(column: str, values: Sequence[str], levels: Sequence[Mapping[str, str]]) -> Hierarchy:
    """Explicit maps: ``levels[0]`` maps values to groups, ``levels[1]`` groups to groups, ..."""
    rows = []
    bad = 0
    for value in values:
        row = [value]
        current: str | None = value
        for mapping in levels:
            current = mapping.get(current) if current is not None else None
            if current is None:
                break
            row.append(current)
        if current is None:
            bad += 1
            continue
        rows.append(row)
    if bad:
        raise _bad(column, bad, "covered by the group maps")
    return _finish(column, rows)
