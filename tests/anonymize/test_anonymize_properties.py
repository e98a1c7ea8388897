"""Property tests: every output meets its declared models, and the search is optimal.

Random small tables go through the real workflow (DuckDB in, numpy search, DuckDB out). An
independent brute force in plain Python generalizes every row at every lattice node, applies the
models and the metric from their textbook definitions, and must agree on the optimal score.
"""

from __future__ import annotations

import csv
import itertools
import math
import tempfile
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healthwall.deid import hierarchy_builders as hb
from healthwall.deid.hierarchy import Hierarchy
from healthwall.errors import Refused
from healthwall.model.anonymize import AnonymizeSpec
from healthwall.workflows.anonymize import anonymize

QI = ["a", "b", "c"]
A_VALUES = [str(i) for i in range(8)]
B_VALUES = ["x0", "x1", "x2", "x3"]
C_VALUES = ["m", "f"]
S_VALUES = ["s0", "s1", "s2", "s3"]


def _hierarchies() -> dict[str, Hierarchy]:
    return {
        "a": hb.intervals("a", A_VALUES, (2, 4)),
        "b": hb.grouped("b", B_VALUES, [{"x0": "g0", "x1": "g0", "x2": "g1", "x3": "g1"}]),
        "c": hb.digit_mask("c", C_VALUES),
    }


rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(A_VALUES),
        st.sampled_from(B_VALUES),
        st.sampled_from(C_VALUES),
        st.sampled_from(S_VALUES),
    ),
    min_size=8,
    max_size=60,
)


def _write(rows: list[tuple[str, ...]], directory: Path) -> Path:
    for column, hierarchy in _hierarchies().items():
        hierarchy.to_csv(directory / f"test_hierarchy_{column}.csv")
    path = directory / "data.csv"
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow([*QI, "s"])
        writer.writerows(rows)
    return path


def _brute_force(rows, k, l_div, limit, metric):  # type: ignore[no-untyped-def]
    """Optimal score by generalizing every row at every node (plain Python, tiny inputs only)."""
    hier = {c: {r[0]: r for r in h.rows} for c, h in _hierarchies().items()}
    heights = [len(next(iter(hier[c].values()))) for c in QI]
    best = math.inf
    for node in itertools.product(*(range(h) for h in heights)):
        gen = [tuple(hier[c][r[j]][node[j]] for j, c in enumerate(QI)) for r in rows]
        sizes = Counter(gen)
        sens: dict[tuple[str, ...], set[str]] = {}
        for g, r in zip(gen, rows, strict=True):
            sens.setdefault(g, set()).add(r[3])
        bad = {g for g, n in sizes.items() if n < k or (l_div and len(sens[g]) < l_div)}
        suppressed = sum(sizes[g] for g in bad)
        if suppressed > limit + 1e-12:
            continue
        best = min(best, _score(rows, gen, sizes, bad, node, hier, metric))
    return best


def _score(rows, gen, sizes, bad, node, hier, metric):  # type: ignore[no-untyped-def]
    if metric == "height":
        return float(sum(node))
    if metric == "discernibility":
        n = len(rows)
        return float(sum(s * s if g not in bad else s * n for g, s in sizes.items()))
    total = 0.0  # precomputed non-uniform entropy on the input's value counts
    for j, c in enumerate(QI):
        a = Counter(r[j] for r in rows)
        b = Counter(hier[c][v][node[j]] for v in (r[j] for r in rows))
        total += sum(n * math.log2(b[hier[c][v][node[j]]] / n) for v, n in a.items())
    return total


@pytest.mark.slow
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rows=rows_strategy,
    k=st.integers(2, 4),
    suppression=st.sampled_from([0.0, 0.1, 0.3]),
    l_div=st.sampled_from([None, 2]),
    metric=st.sampled_from(["entropy", "discernibility", "height"]),
)
def test_output_meets_models_and_search_is_optimal(
    rows: list[tuple[str, ...]], k: int, suppression: float, l_div: int | None, metric: str
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = _write(rows, directory)
        spec = AnonymizeSpec.build(
            qi=QI,
            sensitive="s" if l_div else None,
            k=k,
            l_diversity=f"distinct:{l_div}" if l_div else None,
            suppression=suppression,
            metric=metric,
        )
        expected = _brute_force(rows, k, l_div, suppression * len(rows), metric)
        out = directory / "out.csv"
        try:
            summary = anonymize(str(data), spec, directory, out)
        except Refused:
            assert expected == math.inf
            assert not out.exists()
            return
        assert math.isclose(summary["score"], expected, rel_tol=1e-9, abs_tol=1e-9)
        _check_output(out, len(rows), k, l_div, suppression, summary["suppressed"])


def _check_output(
    out: Path, n: int, k: int, l_div: int | None, limit: float, suppressed: int
) -> None:
    con = duckdb.connect()
    stars = " AND ".join(f"{c} = '*'" for c in QI)
    rows = con.execute(
        f"SELECT count(*), count(DISTINCT s), bool_and({stars})"
        f" FROM read_csv('{out}', all_varchar=true) GROUP BY a, b, c"
    ).fetchall()
    assert sum(r[0] for r in rows) == n
    released = [r for r in rows if not r[2]]
    assert all(size >= k for size, _, _ in released)
    if l_div:
        assert all(distinct >= l_div for _, distinct, _ in released)
    assert suppressed <= limit * n + 1e-9
    assert sum(r[0] for r in rows if r[2]) in (suppressed, n)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    rows=rows_strategy,
    model=st.sampled_from(["entropy:1.5", "recursive:2,2", "t:0.4", "t:0.3:ordered"]),
    suppression=st.sampled_from([0.0, 0.2]),
)
def test_every_released_class_meets_its_sensitive_model(
    rows: list[tuple[str, ...]], model: str, suppression: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data = _write(rows, directory)
        is_t = model.startswith("t:")
        spec = AnonymizeSpec.build(
            qi=QI,
            sensitive="s",
            l_diversity=None if is_t else model,
            t_closeness=model[2:] if is_t else None,
            suppression=suppression,
        )
        out = directory / "out.csv"
        try:
            summary = anonymize(str(data), spec, directory, out)
        except Refused:
            return
        assert summary["suppressed"] <= suppression * len(rows) + 1e-9
        q = Counter(r[3] for r in rows)
        con = duckdb.connect()
        stars = " AND ".join(f"{c} = '*'" for c in QI)
        groups = con.execute(
            f"SELECT list(s) FROM read_csv('{out}', all_varchar=true)"
            f" WHERE NOT ({stars}) GROUP BY a, b, c"
        ).fetchall()
        for (values,) in groups:
            assert _meets(model, Counter(values), q, len(rows))


def _meets(model: str, counts: Counter[str], q: Counter[str], n: int) -> bool:
    size = sum(counts.values())
    if model.startswith("entropy:"):
        h = -sum(c / size * math.log(c / size) for c in counts.values())
        return h >= math.log(float(model.split(":")[1])) - 1e-9
    if model.startswith("recursive:"):
        c, ell = (float(x) for x in model.split(":")[1].split(","))
        r = sorted(counts.values(), reverse=True)
        return len(r) >= ell and r[0] < c * sum(r[int(ell) - 1 :])
    t = float(model.split(":")[1])
    diff = [counts[v] / size - q[v] / n for v in S_VALUES]
    if model.endswith(":ordered"):
        cum = list(itertools.accumulate(diff))
        return sum(abs(x) for x in cum) / (len(S_VALUES) - 1) <= t + 1e-9
    return 0.5 * sum(abs(x) for x in diff) <= t + 1e-9
