"""Generalization hierarchies in ARX's CSV format, validated and encoded as integer lookups.

An ARX hierarchy file has one row per original value, ``;``-separated: level 0 is the value itself,
then ever more general labels up to the top (usually ``*``). ``--hierarchies DIR`` finds a
column's file as ``<anything>_hierarchy_<column>.csv`` (ARX's naming) or ``<column>.csv``.

A hierarchy must be a function at each level: one label at level *i* always generalizes to the same
label at level *i+1*, otherwise the lattice of full-domain generalizations is not well defined and
utility and risk would depend on which row is read first. Errors name the column, file, level and a
count -- never a data value.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from healthwall.errors import InvalidInput, NotFound

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Hierarchy:
    """One column's hierarchy: ``rows[i][level]`` is value ``i`` generalized to ``level``."""

    column: str
    rows: tuple[tuple[str, ...], ...]
    source: str = "builder"

    @property
    def height(self) -> int:
        """Number of levels, level 0 included (ARX's "height")."""
        return len(self.rows[0]) if self.rows else 0

    @property
    def values(self) -> list[str]:
        return [r[0] for r in self.rows]

    def validate(self) -> None:
        """Raise InvalidInput unless rows are rectangular, values unique and levels functional."""
        where = f"hierarchy of column {self.column} ({self.source})"
        if not self.rows:
            raise InvalidInput(f"{where} is empty", field=self.column)
        widths = {len(r) for r in self.rows}
        if len(widths) != 1:
            raise InvalidInput(f"{where}: rows have different numbers of levels", field=self.column)
        if len(set(self.values)) != len(self.rows):
            dupes = len(self.rows) - len(set(self.values))
            raise InvalidInput(f"{where}: {dupes} level-0 values appear twice", field=self.column)
        for level in range(self.height - 1):
            pairs = {(r[level], r[level + 1]) for r in self.rows}
            labels = {r[level] for r in self.rows}
            if len(pairs) != len(labels):
                bad = len(pairs) - len(labels)
                raise InvalidInput(
                    f"{where}: level {level} is not a function into level {level + 1}"
                    f" ({bad} labels have more than one parent)",
                    field=self.column,
                )

    def to_csv(self, path: Path) -> None:
        """Write in ARX's format (``;``, no header)."""
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh, delimiter=";", lineterminator="\n")
            writer.writerows(self.rows)


def load_hierarchy(path: Path, column: str) -> Hierarchy:
    """Read an ARX hierarchy CSV and validate it."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = tuple(tuple(r) for r in csv.reader(fh, delimiter=";") if r)
    except OSError as exc:
        raise InvalidInput(f"cannot read hierarchy file {path}: {exc.strerror}") from None
    hierarchy = Hierarchy(column=column, rows=rows, source=path.name)
    hierarchy.validate()
    return hierarchy


def find_hierarchy_file(directory: Path, column: str) -> Path:
    """``<anything>_hierarchy_<column>.csv`` or ``<column>.csv`` in ``directory``."""
    if not directory.is_dir():
        raise NotFound(f"hierarchy directory {directory} does not exist")
    exact = directory / f"{column}.csv"
    if exact.is_file():
        return exact
    matches = sorted(directory.glob(f"*_hierarchy_{column}.csv"))
    if len(matches) > 1:
        raise InvalidInput(f"several hierarchy files match column {column}", field=column)
    if not matches:
        raise NotFound(f"no hierarchy file for column {column} in {directory}", field=column)
    return matches[0]


def load_hierarchies(directory: Path, columns: Sequence[str]) -> dict[str, Hierarchy]:
    """Load every column's hierarchy, reporting all missing files at once."""
    found: dict[str, Hierarchy] = {}
    missing: list[str] = []
    for column in columns:
        try:
            found[column] = load_hierarchy(find_hierarchy_file(directory, column), column)
        except NotFound:
            missing.append(column)
    if missing:
        raise NotFound(f"no hierarchy file in {directory} for column(s): {', '.join(missing)}")
    return found


@dataclass
class EncodedHierarchy:
    """A hierarchy as integer lookups over the data's own value codes.

    ``level_maps[L][code]`` is the label code at level ``L`` of data value ``code``;
    ``labels[L]`` are the label strings; ``up(a, b)`` maps level-``a`` codes to level ``b``.
    """

    column: str
    height: int
    labels: list[list[str]]
    level_maps: list[IntArray]
    row_codes: list[IntArray]  # per level, label code of every hierarchy row (data or not)
    leaf_of_value: IntArray  # data value code -> hierarchy row
    _up: dict[tuple[int, int], IntArray] = field(default_factory=dict)

    def up(self, a: int, b: int) -> IntArray:
        """Lookup array from level-``a`` label codes to level-``b`` label codes (``a <= b``)."""
        key = (a, b)
        if key not in self._up:
            out = np.zeros(len(self.labels[a]), dtype=np.int64)
            out[self.row_codes[a]] = self.row_codes[b]
            self._up[key] = out
        return self._up[key]

    def label_index(self, level: int, label: str) -> int:
        return self.labels[level].index(label)


def encode(hierarchy: Hierarchy, data_values: Sequence[str]) -> EncodedHierarchy:
    """Encode ``hierarchy`` against the data's distinct values (all must be covered)."""
    index = {v: i for i, v in enumerate(hierarchy.values)}
    leaf = np.fromiter(
        (index.get(v, -1) for v in data_values), dtype=np.int64, count=len(data_values)
    )
    uncovered = int((leaf < 0).sum())
    if uncovered:
        raise InvalidInput(
            f"hierarchy of column {hierarchy.column} does not cover {uncovered} distinct"
            " value(s) found in the data",
            field=hierarchy.column,
        )
    labels: list[list[str]] = []
    row_codes: list[IntArray] = []
    for level in range(hierarchy.height):
        column_labels = np.array([r[level] for r in hierarchy.rows], dtype=object)
        uniq, inverse = np.unique(column_labels, return_inverse=True)
        labels.append([str(u) for u in uniq])
        row_codes.append(inverse.astype(np.int64))
    level_maps = [codes[leaf] for codes in row_codes]
    return EncodedHierarchy(
        column=hierarchy.column,
        height=hierarchy.height,
        labels=labels,
        level_maps=level_maps,
        row_codes=row_codes,
        leaf_of_value=leaf,
    )
