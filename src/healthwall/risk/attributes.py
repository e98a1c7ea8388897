"""Per-attribute-combination distinction and separation (ARX's quasi-identifier analysis).

After Motwani and Xu, *Efficient algorithms for masking and finding quasi-identifiers* (VLDB
2007), as ARX's ``RiskModelAttributes`` computes them. For a combination of columns with
equivalence classes of sizes ``s_c`` over ``n`` records:

- **alpha-distinction** = classes / n: the combination becomes a key after removing a fraction
  ``1 - alpha`` of the records;
- **alpha-separation** = (pairs separated) / (all pairs) = ``1 - sum s_c (s_c - 1) / (n (n - 1))``:
  the fraction of record pairs that differ in at least one of the columns. Computed from the
  class-size histogram, never by comparing rows.

Both are 1 for a key and fall as the combination identifies less. With one record, there are no
pairs: separation is reported as 1.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from itertools import combinations

import numpy as np

from healthwall.errors import InvalidInput
from healthwall.model.risk import AttributeRisk, ClassHistogram


def distinction(hist: ClassHistogram) -> float:
    """Classes per record (0 for no records)."""
    return hist.classes / hist.records if hist.records else 0.0


def separation(hist: ClassHistogram) -> float:
    """Share of record pairs whose values differ, from the class sizes."""
    n = float(hist.records)
    if n < 2:
        return 1.0 if n == 1 else 0.0
    s = hist.sizes.astype(np.float64)
    same = float(np.dot(hist.counts, s * (s - 1.0))) / 2.0
    total = n * (n - 1.0) / 2.0
    return (total - same) / total


def attribute_risk(columns: Sequence[str], hist: ClassHistogram) -> AttributeRisk:
    """Distinction and separation of one combination of columns."""
    return AttributeRisk(tuple(columns), distinction(hist), separation(hist))


def column_combinations(columns: Sequence[str], max_size: int) -> Iterator[tuple[str, ...]]:
    """Non-empty combinations of at most ``max_size`` columns, each in the columns' order."""
    if max_size < 1:
        raise InvalidInput("combination size must be at least 1", field="max_combination")
    for size in range(1, min(max_size, len(columns)) + 1):
        yield from combinations(columns, size)


def attribute_risks(
    histograms: Mapping[tuple[str, ...], ClassHistogram],
) -> tuple[AttributeRisk, ...]:
    """Distinction and separation of every combination, ordered as ARX orders them.

    Order: fewer columns first, then ascending distinction, ascending separation, and the
    combination's name.
    """
    risks = [attribute_risk(cols, hist) for cols, hist in histograms.items()]
    risks.sort(key=lambda r: (len(r.columns), r.distinction, r.separation, str(list(r.columns))))
    return tuple(risks)
