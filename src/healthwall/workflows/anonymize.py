"""Expert-determination anonymization: optimal generalization + suppression of quasi-identifiers.

``anonymize(input, spec, hierarchies, out)`` reads the input once in DuckDB (one GROUP BY into
the finest equivalence-class histogram), searches the generalization lattice in numpy for the
node that satisfies every privacy model with the best utility, optionally re-anonymizes the
suppressed records (local recoding), writes the output with DuckDB (atomically) and returns a
JSON-ready summary: the level per quasi-identifier (in the order given), the score, suppressed
records, equivalence classes, and prosecutor risk before and after.

Nothing here prints or returns a data value: the summary holds levels, counts and risks only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from healthwall.deid.criteria import SensitiveContext, build_criteria
from healthwall.deid.hierarchy import EncodedHierarchy, encode, load_hierarchies
from healthwall.deid.histogram import Histogram, columns_of, finest_histogram, open_input
from healthwall.deid.lattice import NodeClasses, NodeTable
from healthwall.deid.recoding import (
    Pass,
    output_class_sizes,
    register_passes,
    row_mask,
    write_output,
)
from healthwall.deid.scoring import Scorer
from healthwall.deid.search import Evaluated, Evaluator, SearchResult, search
from healthwall.errors import InvalidInput, Refused
from healthwall.model.anonymize import AnonymizeSpec, TMeasure
from healthwall.risk.utility import prosecutor_risk

if TYPE_CHECKING:
    from healthwall.model.dataset import DatasetSpec, IdentifierKind

MAX_LOCAL_PASSES = 5


@dataclass
class Problem:
    """The data side of one anonymization: histogram, encoded hierarchies, models, metric."""

    spec: AnonymizeSpec
    hist: Histogram
    encoded: list[EncodedHierarchy]
    criteria: list[Any]
    scorer: Scorer
    heights: list[int] = field(default_factory=list)

    def evaluator(self, hist: Histogram, limit: float) -> Evaluator:
        return Evaluator(hist, self.encoded, self.criteria, limit, self.scorer)


def build_problem(
    con: Any,
    relation: str,
    spec: AnonymizeSpec,
    hierarchy_dir: Path | None,
    kinds: dict[str, IdentifierKind | None] | None = None,
) -> Problem:
    """Histogram, hierarchies and models for ``spec`` over ``relation``."""
    needs_sensitive = spec.l_diversity is not None or spec.t_closeness is not None
    sensitive = spec.sensitive if needs_sensitive else None
    hist = finest_histogram(con, f"({relation})", spec.qi, sensitive)
    wanted = list(spec.qi)
    hierarchical_t = (
        spec.t_closeness is not None and spec.t_closeness.measure is TMeasure.HIERARCHICAL
    )
    if hierarchical_t and spec.sensitive:
        wanted.append(spec.sensitive)
    if kinds is not None:  # expert profile: files where given, else built from each kind
        from healthwall.deid import expert

        hierarchies = {
            c: expert.hierarchy_for(c, kinds.get(c), hist.values[j], hierarchy_dir)
            for j, c in enumerate(spec.qi)
        }
    else:
        if hierarchy_dir is None:
            raise InvalidInput("give --hierarchies DIR", field="hierarchies")
        hierarchies = load_hierarchies(hierarchy_dir, wanted)
    encoded = [encode(hierarchies[c], hist.values[j]) for j, c in enumerate(spec.qi)]
    ctx = None
    if hist.sensitive is not None and hist.sensitive_values is not None:
        sens_h = (
            encode(hierarchies[spec.sensitive], hist.sensitive_values)
            if hierarchical_t and spec.sensitive
            else None
        )
        ctx = _sensitive_context(hist, sens_h)
    population = _kmap_population(spec, encoded) if spec.k_map else None
    criteria = build_criteria(spec, ctx, population)
    scorer = Scorer(spec.metric, hist, encoded, spec.gs_factor)
    return Problem(spec, hist, encoded, criteria, scorer, [e.height for e in encoded])


def _sensitive_context(hist: Histogram, hierarchy: EncodedHierarchy | None) -> SensitiveContext:
    assert hist.sensitive is not None and hist.sensitive_values is not None
    m = len(hist.sensitive_values)
    q = np.bincount(hist.sensitive, weights=hist.counts, minlength=m) / hist.records
    try:
        keys = [float(v) for v in hist.sensitive_values]
        order = np.argsort(np.asarray(keys), kind="stable")
    except ValueError:
        order = np.arange(m)
    rank = np.empty(m, dtype=np.int64)
    rank[order] = np.arange(m)
    return SensitiveContext(q=q, rank=rank, hierarchy=hierarchy)


def _kmap_population(
    spec: AnonymizeSpec, encoded: list[EncodedHierarchy]
) -> list[npt.NDArray[np.float64]]:
    """Per level of the ZIP hierarchy, the ZIP3 population covered by each label."""
    from healthwall.data.zip import zip3_population

    assert spec.k_map is not None
    enc = encoded[spec.qi.index(spec.k_map.column)]
    pops = zip3_population()
    # every hierarchy row (value) -> its ZIP3 prefix; each prefix counted once per label
    values = [enc.labels[0][c] for c in enc.row_codes[0]]
    prefixes = np.asarray([v[:3] for v in values], dtype=object)
    uniq, pre_code = np.unique(prefixes, return_inverse=True)
    pre_pop = np.asarray([float(pops.get(str(p), 0)) for p in uniq])
    out: list[npt.NDArray[np.float64]] = []
    for level in range(enc.height):
        n_labels = len(enc.labels[level])
        pair = np.unique(enc.row_codes[level] * len(uniq) + pre_code)
        total = np.bincount(
            pair // len(uniq), weights=pre_pop[pair % len(uniq)], minlength=n_labels
        )
        out.append(total.astype(np.float64))
    return out


def anonymize(
    input_text: str,
    spec: AnonymizeSpec,
    hierarchy_dir: Path,
    out: Path | None,
) -> dict[str, Any]:
    """Run the whole job; raises Refused when no generalization satisfies the models."""
    con, relation, label = open_input(input_text)
    try:
        columns = columns_of(con, relation, label)
        _check_columns(spec, columns)
        problem = _read(con, relation, spec, hierarchy_dir, None, label)
        result = search(
            problem.evaluator(problem.hist, spec.suppression * problem.hist.records),
            problem.heights,
        )
        passes = _passes(problem, result.best)
        summary = _summary(problem, result, passes)
        if out is not None:
            write_output(con, relation, columns, problem.hist, problem.encoded, passes, out)
        else:
            register_passes(con, problem.hist, problem.encoded, passes)
        sizes = output_class_sizes(con, len(spec.qi))
        summary["risk_after"] = _risk(sizes)
        return summary
    finally:
        con.close()


def expert_determination(
    input_text: str,
    out: Path,
    *,
    dataset_spec: DatasetSpec | None = None,
    threshold: float = 0.05,
    suppression: float = 0.04,
    hierarchy_dir: Path | None = None,
    metric: str = "entropy",
) -> dict[str, Any]:
    """Safe Harbor for direct identifiers, then generalization until max risk <= threshold.

    Raises Refused (and writes nothing) when no generalization within the suppression limit
    brings the highest prosecutor risk to the threshold.
    """
    from healthwall.deid import expert
    from healthwall.model.dataset import default_spec

    spec_roles = dataset_spec or default_spec()
    con, relation, label = open_input(input_text)
    try:
        columns = columns_of(con, relation, label)
        kept, qi = expert.split_columns(columns, spec_roles)
        spec = AnonymizeSpec.build(
            qi=qi, max_risk=threshold, suppression=suppression, metric=metric
        )
        kinds = {c: spec_roles.columns[c].kind for c in qi}
        problem = _read(con, relation, spec, hierarchy_dir, kinds, label)
        limit = spec.suppression * problem.hist.records
        try:
            result = search(problem.evaluator(problem.hist, limit), problem.heights)
        except Refused as exc:
            raise Refused(
                f"expert determination refused: no generalization of {', '.join(qi)} brings the"
                f" highest prosecutor risk to {threshold} with at most {suppression:.1%} of"
                " records suppressed"
            ) from exc
        passes = _passes(problem, result.best)
        summary = _summary(problem, result, passes)
        hist, enc = problem.hist, problem.encoded
        write_output(con, relation, kept, hist, enc, passes, out, drop_suppressed=True)
        sizes = output_class_sizes(con, len(spec.qi), drop_suppressed=True)
        summary["risk_after"] = _risk(sizes)
        summary["suppressed_rows_removed"] = True
        summary["profile"] = "expert"
        summary["citation"] = expert.CITATION
        summary["threshold"] = threshold
        summary["dropped_columns"] = [c for c in columns if c not in kept]
        return summary
    finally:
        con.close()


def _read(
    con: Any,
    relation: str,
    spec: AnonymizeSpec,
    hierarchy_dir: Path | None,
    kinds: dict[str, IdentifierKind | None] | None,
    label: str,
) -> Problem:
    """build_problem, with DuckDB's own errors (which may quote data) replaced by a safe one."""
    import duckdb

    try:
        return build_problem(con, relation, spec, hierarchy_dir, kinds)
    except duckdb.Error as exc:
        raise InvalidInput(
            f"{label}: cannot be read ({type(exc).__name__})", field="input"
        ) from None


def _check_columns(spec: AnonymizeSpec, columns: list[str]) -> None:
    wanted = [*spec.qi, *([spec.sensitive] if spec.sensitive else [])]
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise InvalidInput(f"column(s) not in the input: {', '.join(missing)}", field="qi")


def _passes(problem: Problem, best: Evaluated) -> list[Pass]:
    """The global pass, then local-recoding passes over what is still suppressed."""
    hist, enc = problem.hist, problem.encoded
    suppressed = row_mask(hist, enc, best.levels, best.classes.codes, best.verdict.suppressed)
    passes = [Pass(best.levels, ~suppressed, suppressed)]
    if not problem.spec.local_recoding:
        return passes
    for _ in range(MAX_LOCAL_PASSES):
        records = int(hist.counts[suppressed].sum())
        if records == 0:
            break
        sub = _subset(hist, suppressed)
        try:
            found = search(problem.evaluator(sub, records // 2), problem.heights).best
        except Refused:
            break
        still = row_mask(sub, enc, found.levels, found.classes.codes, found.verdict.suppressed)
        released = np.zeros(len(hist.counts), dtype=bool)
        idx = np.flatnonzero(suppressed)
        released[idx[~still]] = True
        suppressed = suppressed & ~released
        passes.append(Pass(found.levels, released, suppressed.copy()))
    return passes


def _subset(hist: Histogram, mask: npt.NDArray[np.bool_]) -> Histogram:
    return Histogram(
        columns=hist.columns,
        values=hist.values,
        codes=hist.codes[mask],
        counts=hist.counts[mask],
        sensitive_values=hist.sensitive_values,
        sensitive=hist.sensitive[mask] if hist.sensitive is not None else None,
        sensitive_column=hist.sensitive_column,
    )


def _risk(sizes: npt.NDArray[np.int64]) -> dict[str, float]:
    average, highest = prosecutor_risk(np.asarray(sizes, dtype=np.int64))
    return {"prosecutor_average": average, "prosecutor_highest": highest}


def _summary(problem: Problem, result: SearchResult, passes: list[Pass]) -> dict[str, Any]:
    spec, hist = problem.spec, problem.hist
    best = result.best
    finest = NodeClasses.of(NodeTable.finest(hist, problem.encoded), problem.encoded)
    suppressed = int(hist.counts[passes[-1].suppressed].sum())
    kept = ~best.verdict.suppressed
    return {
        "qi": list(spec.qi),
        "levels": list(best.levels),
        "score": best.score,
        "metric": spec.metric.value,
        "records": hist.records,
        "suppressed": suppressed,
        "classes": int(kept.sum()),
        "optimal": result.optimal,
        "nodes_checked": result.checked,
        "lattice_size": result.lattice_size,
        "models": [c.name for c in problem.criteria],
        "local_passes": [
            {"levels": list(p.levels), "released": int(hist.counts[p.released].sum())}
            for p in passes[1:]
        ],
        "risk_before": _risk(finest.sizes),
    }
