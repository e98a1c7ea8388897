"""Drawing residential ZIP codes by real population: a ZIP3 by its 2010 Census population, then
a ZIP5 uniformly among that prefix's standard (street-delivery) ZIP codes.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from healthwall.data.zip import zip3_population, zip5_table

IntArray = npt.NDArray[np.int64]


class ZipSampler:
    """Draws rows of the packaged ZIP5 table, ZIP3 by population then ZIP5 within it."""

    def __init__(self) -> None:
        self.table: pa.Table = zip5_table()
        zip3 = np.asarray(self.table.column("zip3").to_numpy(zero_copy_only=False), dtype=str)
        standard = np.asarray(self.table.column("zip_type").to_numpy(zero_copy_only=False)) == (
            "STANDARD"
        )
        population = zip3_population()
        prefixes = sorted(p for p in population if np.any(zip3 == p))
        candidates: list[IntArray] = []
        for prefix in prefixes:  # one pass over the ~900 prefixes of the reference table
            in_prefix = zip3 == prefix
            rows = np.flatnonzero(in_prefix & standard)
            candidates.append(rows if rows.size else np.flatnonzero(in_prefix))
        self.counts = np.array([c.size for c in candidates], dtype=np.int64)
        self.starts = np.concatenate(([0], np.cumsum(self.counts)[:-1])).astype(np.int64)
        self.rows = np.concatenate(candidates).astype(np.int64)
        pop = np.array([population[p] for p in prefixes], dtype=np.float64)
        self.prefix_p = pop / pop.sum()
        self.prefixes = prefixes

    def draw(self, rng: np.random.Generator, n: int) -> IntArray:
        """Row indices into :attr:`table` for ``n`` residences."""
        prefix = rng.choice(len(self.prefixes), size=n, p=self.prefix_p)
        offset = (rng.random(n) * self.counts[prefix]).astype(np.int64)
        return np.asarray(self.rows[self.starts[prefix] + offset], dtype=np.int64)

    def zip3_code(self, rows: IntArray) -> IntArray:
        """Numeric ZIP3 of table rows (for grouping providers and patients by area)."""
        zips = np.asarray(self.table.column("zip").to_numpy(zero_copy_only=False), dtype=str)
        return np.asarray(zips[rows].astype(np.int64) // 100, dtype=np.int64)
