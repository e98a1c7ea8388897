"""Typed inputs and results of re-identification risk analysis (see ``healthwall.risk``).

Everything here is aggregate: counts of equivalence classes by size, risks and estimates. Nothing
holds a row or a value of a quasi-identifier, so every object may be logged, shown and released.

A :class:`ClassHistogram` is the only input the risk models need: for each distinct equivalence
class size ``sizes[i]``, the number of classes of that size ``counts[i]`` (ARX's
``RiskModelHistogram``). A table of ten million rows reduces to an array of a few hundred pairs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from healthwall.errors import InvalidInput

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class ClassHistogram:
    """Equivalence classes grouped by size: ``counts[i]`` classes hold ``sizes[i]`` records each.

    ``sizes`` is strictly ascending and positive; ``counts`` is positive. Build one with
    :meth:`of_class_sizes` (one entry per class) or :meth:`of_pairs` (size/frequency pairs, in
    any order, repeated sizes merged).
    """

    sizes: IntArray
    counts: IntArray

    def __post_init__(self) -> None:
        sizes, counts = self.sizes, self.counts
        if sizes.ndim != 1 or sizes.shape != counts.shape:
            raise InvalidInput("class histogram: sizes and counts must be 1-D of equal length")
        if sizes.size and (sizes[0] < 1 or np.any(np.diff(sizes) <= 0)):
            raise InvalidInput("class histogram: sizes must be positive and strictly ascending")
        if np.any(counts < 1):
            raise InvalidInput("class histogram: counts must be positive")

    @classmethod
    def of_class_sizes(cls, class_sizes: npt.ArrayLike) -> ClassHistogram:
        """Histogram of an array holding one size per equivalence class (zeros are ignored)."""
        arr = np.asarray(class_sizes, dtype=np.int64).ravel()
        if np.any(arr < 0):
            raise InvalidInput("class histogram: class sizes must not be negative")
        sizes, counts = np.unique(arr[arr > 0], return_counts=True)
        return cls(sizes.astype(np.int64), counts.astype(np.int64))

    @classmethod
    def of_pairs(cls, sizes: npt.ArrayLike, counts: npt.ArrayLike) -> ClassHistogram:
        """Histogram from (size, number of classes of that size) pairs in any order."""
        s = np.asarray(sizes, dtype=np.int64).ravel()
        c = np.asarray(counts, dtype=np.int64).ravel()
        if s.shape != c.shape:
            raise InvalidInput("class histogram: sizes and counts differ in length")
        if np.any(s < 1) or np.any(c < 0):
            raise InvalidInput("class histogram: sizes must be positive, counts not negative")
        keep = c > 0
        uniq, inverse = np.unique(s[keep], return_inverse=True)
        merged = np.bincount(inverse, weights=c[keep], minlength=uniq.size)
        return cls(uniq.astype(np.int64), merged.astype(np.int64))

    @property
    def records(self) -> int:
        """Number of records (the sample size n)."""
        return int(np.dot(self.sizes, self.counts))

    @property
    def classes(self) -> int:
        """Number of equivalence classes."""
        return int(self.counts.sum())

    @property
    def empty(self) -> bool:
        return self.sizes.size == 0

    def count_of_size(self, size: int) -> int:
        """Number of classes holding exactly ``size`` records."""
        hit = np.searchsorted(self.sizes, size)
        if hit < self.sizes.size and self.sizes[hit] == size:
            return int(self.counts[hit])
        return 0


class PopulationBasis(StrEnum):
    """Where journalist and marketer risk take population class sizes from."""

    SAMPLE = "sample"  # no population information: the data set is its own population
    POPULATION_CLASSES = "population-classes"  # each class's size in a population table
    SAMPLING_FRACTION = "sampling-fraction"  # estimated from the sampling fraction


class UniquenessModel(StrEnum):
    """Population uniqueness estimators (ARX's ``PopulationUniquenessModel``)."""

    PITMAN = "pitman"
    ZAYATZ = "zayatz"
    SNB = "snb"
    NONE = "none"  # no sample uniques: no population uniques, nothing to estimate


@dataclass(frozen=True)
class RiskSummary:
    """One attacker model's risk (El Emam's measures, as ARX's ``RiskModelSampleSummary``).

    ``average`` is the proportion of records re-identified on average (record-averaged);
    ``highest`` the largest probability of re-identification of any record; ``records_at_risk``
    the fraction of records whose probability exceeds ``threshold``.
    """

    threshold: float
    average: float
    highest: float
    records_at_risk: float


@dataclass(frozen=True)
class SampleRisks:
    """Prosecutor, journalist and marketer risk and sample uniqueness of one data set."""

    records: int
    classes: int
    prosecutor: RiskSummary
    journalist: RiskSummary
    marketer: float  # proportion of records re-identified on average by a marketer
    sample_uniques: int  # records alone in their equivalence class
    sample_uniqueness: float  # sample_uniques / records
    population_basis: PopulationBasis


@dataclass(frozen=True)
class PopulationUniqueness:
    """Estimated number of population uniques by each model, and Dankar et al.'s choice.

    An estimate is ``None`` when its model did not converge or gave a value outside
    ``[0, population_size]`` (ARX reports such estimates as unavailable).
    """

    population_size: float
    sampling_fraction: float
    pitman: float | None
    zayatz: float | None
    snb: float | None
    dankar: float
    dankar_model: UniquenessModel

    def fraction(self, estimate: float | None) -> float | None:
        """An estimate as a fraction of the population."""
        return None if estimate is None else estimate / self.population_size


@dataclass(frozen=True)
class AttributeRisk:
    """Motwani and Xu's alpha-distinction and alpha-separation of one attribute combination.

    ``distinction`` is classes / records: the fraction of records that remain after removing
    all but one record of each class. ``separation`` is the fraction of record pairs whose
    values differ in at least one of the columns.
    """

    columns: tuple[str, ...]
    distinction: float
    separation: float


@dataclass(frozen=True)
class RiskReport:
    """The whole re-identification risk analysis of one input (aggregate numbers only)."""

    quasi_identifiers: tuple[str, ...]
    sample: SampleRisks
    population: PopulationUniqueness | None
    attributes: tuple[AttributeRisk, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (the shape of ``healthwall risk --json``)."""
        s = self.sample
        return {
            "quasi_identifiers": list(self.quasi_identifiers),
            "records": s.records,
            "classes": s.classes,
            "threshold": s.prosecutor.threshold,
            "population_basis": s.population_basis.value,
            "prosecutor": _summary_dict(s.prosecutor),
            "journalist": _summary_dict(s.journalist),
            "marketer": {"average": s.marketer},
            "sample_uniques": {"records": s.sample_uniques, "fraction": s.sample_uniqueness},
            "population_uniques": _population_dict(self.population),
            "attributes": [
                {
                    "columns": list(a.columns),
                    "distinction": a.distinction,
                    "separation": a.separation,
                }
                for a in self.attributes
            ],
        }


def _summary_dict(r: RiskSummary) -> dict[str, float]:
    return {"average": r.average, "highest": r.highest, "records_at_risk": r.records_at_risk}


def _population_dict(p: PopulationUniqueness | None) -> dict[str, Any] | None:
    if p is None:
        return None

    def one(value: float | None) -> dict[str, float | None]:
        return {"uniques": value, "fraction": p.fraction(value)}

    return {
        "population_size": p.population_size,
        "sampling_fraction": p.sampling_fraction,
        "pitman": one(p.pitman),
        "zayatz": one(p.zayatz),
        "snb": one(p.snb),
        "dankar": {"model": p.dankar_model.value, **one(p.dankar)},
    }
