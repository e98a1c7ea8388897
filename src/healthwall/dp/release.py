"""From exact bounded counts to released cells: fill public keys, add OpenDP noise, post-process.

The exact histogram (one row per non-empty cell) comes from the engine. For a public key set, every
key of the cartesian product is filled with 0 *before* noise (so an empty cell is as noisy as a
full one, and its absence reveals nothing); the mapping is vectorized (pyarrow ``index_in`` and
numpy strides), never a loop over rows. For a private key set, OpenDP's threshold measurement
selects which keys are released.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from healthwall.dp import accuracy, mechanisms, postprocess
from healthwall.dp.mechanisms import Plan
from healthwall.dp.templates import CompiledTemplate
from healthwall.errors import TooLarge
from healthwall.model.aggregate import AggregateQuery, Cell

#: Largest public key set answered in one request (cells of the cartesian product).
MAX_CELLS = 500_000
_SEP = "\x1f"


@dataclass(frozen=True)
class Released:
    cells: list[Cell]
    half_width: int


def dense(compiled: CompiledTemplate, exact: pa.Table) -> tuple[list[tuple[str, ...]], list[int]]:
    """Keys of the full public key set (product order) and their exact counts, zeros filled.

    Rows whose key is outside the public set are dropped (never released). The histogram is
    read with ``to_pydict`` (small; avoids pyarrow's pandas shim) and mapped with numpy.
    """
    key_sets = [keys for keys in compiled.public_keys if keys is not None]
    sizes = [len(k) for k in key_sets]
    total = check_size(compiled)
    cols = exact.to_pydict()
    n = np.asarray(cols["n"], dtype=np.int64)
    flat = np.zeros(len(n), dtype=np.int64)
    valid = np.ones(len(n), dtype=bool)
    stride = 1
    for i in reversed(range(len(key_sets))):
        position, found = _positions(key_sets[i], cols[f"k{i}"])
        valid &= found
        flat += position * stride
        stride *= sizes[i]
    counts = np.zeros(total, dtype=np.int64)
    counts[flat[valid]] = n[valid]
    keys = list(itertools.product(*key_sets))
    return keys, counts.tolist()


def check_size(compiled: CompiledTemplate) -> int:
    """Cells of the public key product; over :data:`MAX_CELLS` is :class:`TooLarge`."""
    total = int(np.prod([len(k) for k in compiled.public_keys if k is not None]))
    if total > MAX_CELLS:
        raise TooLarge(f"the query has {total} cells; at most {MAX_CELLS} are answered", field="by")
    return total


def _positions(
    key_set: tuple[str, ...], values: list[str]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """Index of each value in ``key_set`` (0 where absent) and whether it was found."""
    keys = np.asarray(key_set, dtype=str)
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    col = np.asarray(values, dtype=str)
    pos = np.minimum(np.searchsorted(ordered, col), len(ordered) - 1)
    found = ordered[pos] == col if len(col) else np.zeros(0, dtype=bool)
    return order[pos].astype(np.int64), np.asarray(found, dtype=bool)


def sparse(exact: pa.Table, width: int) -> dict[str, int]:
    """Exact counts keyed by the joined key (for threshold selection)."""
    cols = exact.to_pydict()
    keys = zip(*(cols[f"k{i}"] for i in range(width)), strict=True)
    return {_SEP.join(k): int(n) for k, n in zip(keys, cols["n"], strict=True)}


def release(
    query: AggregateQuery, compiled: CompiledTemplate, plan: Plan, exact: pa.Table
) -> Released:
    """Run the plan's OpenDP measurement on the exact counts and post-process the result."""
    lattice = plan.threshold is not None  # the threshold measurements sample integer noise
    width = accuracy.half_width(plan.mechanism, plan.scale, query.alpha, lattice=lattice)
    dims = compiled.dimensions
    if plan.threshold is None:
        keys, counts = dense(compiled, exact)
        noisy: npt.NDArray[np.int64] = np.asarray(
            mechanisms.release_public(plan, counts), dtype=np.int64
        )
    else:
        out = mechanisms.release_selected(plan, sparse(exact, len(dims)))
        ordered = sorted(out)
        keys = [tuple(k.split(_SEP)) for k in ordered]
        noisy = np.asarray([out[k] for k in ordered], dtype=np.int64)
    cells = postprocess.cells(
        dims, keys, noisy, suppress_below=query.suppress_below, half_width=width
    )
    return Released(cells=cells, half_width=width)
