"""Invariants over the whole request space (``healthwall policy check``).

``invariants.yaml`` declares properties such as "no immigration-enforcement request receives any
element without a judicial warrant or court order naming one patient". For every jurisdiction (and
extra pack sets), :func:`check` computes the outcome of EVERY combination of the finite attributes
with the vectorized evaluator of :mod:`policy.space`, then evaluates each invariant as a mask over
the same grid. A violation yields a counterexample request (JSON) that is re-decided by cedarpy to
confirm it. A random sample of cells is also decided by cedarpy and must agree with the vectorized
outcome, so the proof is about the policies Cedar actually runs.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from functools import reduce
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from healthwall.errors import ConfigError
from healthwall.model.codes import RequesterKind
from healthwall.policy import space
from healthwall.policy.decide import evaluate
from healthwall.policy.facts import example_request
from healthwall.policy.packs import PACK_DIR, Bundle, bundle, jurisdictions, parse_packs

INVARIANTS_FILE = PACK_DIR.parent / "invariants.yaml"
_OUTCOME = {"deny": 0, "review": 1, "permit": 2}
_NAMES = ("deny", "review", "permit")


@dataclass(frozen=True)
class Invariant:
    id: str
    text: str
    when: list[dict[str, list[str]]]
    unless: list[dict[str, list[str]]]
    never: tuple[int, ...]
    jurisdictions: tuple[str, ...] | None


@dataclass
class Violation:
    invariant: str
    text: str
    jurisdiction: str
    count: int
    outcome: str
    label: str | None
    request: dict[str, Any]
    confirmed_by_cedar: bool


@dataclass
class Report:
    """What a check covered and found."""

    combinations: int = 0
    seconds: float = 0.0
    sets: list[str] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(_NAMES, 0))
    sampled: int = 0
    mismatches: list[str] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.mismatches


def _filters(raw: Any, where: str) -> list[dict[str, list[str]]]:
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: a filter must be a mapping", field=where)
        out.append({str(k): [str(v) for v in vals] for k, vals in item.items()})
    return out


def load_invariants(path: Path = INVARIANTS_FILE) -> tuple[list[Invariant], list[list[str]]]:
    """The declared invariants and the extra pack sets to check."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("invariants"), list):
        raise ConfigError(f"{path.name}: needs a list 'invariants'", field="invariants")
    invariants = []
    for i, item in enumerate(raw["invariants"]):
        where = f"invariants[{i}]"
        try:
            invariants.append(
                Invariant(
                    id=str(item["id"]),
                    text=str(item["text"]),
                    when=_filters(item.get("when"), where + ".when") or [{}],
                    unless=_filters(item.get("unless"), where + ".unless"),
                    never=tuple(_OUTCOME[o] for o in item["never"]),
                    jurisdictions=tuple(item["jurisdictions"]) if "jurisdictions" in item else None,
                )
            )
        except (KeyError, TypeError) as exc:
            raise ConfigError(f"{where}: missing or invalid {exc}", field=where) from None
    extra = [list(s) for s in raw.get("extra_pack_sets", [])]
    return invariants, extra


def _axis_mask(attr: str, values: list[str], kind: RequesterKind) -> Any:
    """A broadcastable mask of the grid cells whose ``attr`` is one of ``values``."""
    picks: dict[str, tuple[int, list[str]]] = {
        "purpose": (0, [p.value for p in space.PURPOSES]),
        "instrument": (1, [i.value for i in space.INSTRUMENTS]),
        "scope": (2, [s.value for s, _ in space.SCOPES]),
        "geography": (2, [g.value for _, g in space.SCOPES]),
        "named": (4, space.NAMED_STATES),
        "agent": (5, ["verified" if a else "unverified" for a in space.AGENT_STATES]),
        "element": (6, [e.value for e, _ in space.RESOURCES]),
        "label": (6, [lbl.value if lbl else "none" for _, lbl in space.RESOURCES]),
    }
    if attr == "kind":
        return np.asarray(kind.value in values)
    if attr == "condition":
        hits = [bool({c.value for c in prof} & set(values)) for prof in space.CONDITION_PROFILES]
        return space.along(3, hits, bool)
    if attr not in picks:
        raise ConfigError(f"invariant filter on unknown attribute '{attr}'", field="invariants")
    axis, cells = picks[attr]
    return space.along(axis, [c in values for c in cells], bool)


def _match(filters: list[dict[str, list[str]]], kind: RequesterKind) -> Any:
    masks = [
        reduce(np.logical_and, [_axis_mask(a, v, kind) for a, v in f.items()], np.asarray(True))
        for f in filters
    ]
    return reduce(np.logical_or, masks, np.asarray(False))


def _pack_sets(extra: list[list[str]]) -> list[tuple[str, tuple[str, ...]]]:
    sets = [(code, tuple(packs)) for code, packs in jurisdictions().items()]
    for packs in extra:
        chosen = parse_packs(packs)
        sets.append(("packs:" + ",".join(chosen), chosen))
    return sets


def check(sample: int = 300, seed: int = 0, packs: tuple[str, ...] | None = None) -> Report:
    """Check every invariant over the whole request space; cross-check a cedarpy sample."""
    started = time.perf_counter()
    invariants, extra = load_invariants()
    sets = [("packs:" + ",".join(packs), packs)] if packs else _pack_sets(extra)
    report = Report()
    rng = random.Random(seed)
    for name, chosen in sets:
        rules = bundle(chosen)
        report.sets.append(name)
        for kind in RequesterKind:
            grid = space.outcomes(rules, kind)
            report.combinations += grid.size
            for code, count in grid.counts().items():
                report.outcomes[code] += count
            for inv in invariants:
                if inv.jurisdictions is None or name in inv.jurisdictions:
                    _check_one(inv, name, rules, kind, grid, report)
            _cross_check(rules, name, kind, grid, sample // len(RequesterKind), rng, report)
    report.seconds = time.perf_counter() - started
    return report


def _check_one(
    inv: Invariant,
    name: str,
    rules: Bundle,
    kind: RequesterKind,
    grid: space.Grid,
    report: Report,
) -> None:
    scope = _match(inv.when, kind) & ~_match(inv.unless, kind)  # small, broadcastable
    if not scope.any():
        return
    scope = scope.reshape(scope.shape + (1,) * (space.NDIM - scope.ndim))
    count, index = grid.first(scope, inv.never)
    if index is None:
        return
    facts, element, label = space.cell_facts(kind, index)
    verdict = evaluate(rules, facts, [(element, label)])[(element, label)]
    report.violations.append(
        Violation(
            invariant=inv.id,
            text=inv.text,
            jurisdiction=name,
            count=count,
            outcome=_NAMES[grid.outcome_at(index)],
            label=label.value if label else None,
            request=example_request(facts, element),
            confirmed_by_cedar=_OUTCOME[verdict.outcome.value] in inv.never,
        )
    )


def _cross_check(
    rules: Bundle,
    name: str,
    kind: RequesterKind,
    grid: space.Grid,
    count: int,
    rng: random.Random,
    report: Report,
) -> None:
    """Decide ``count`` random cells with cedarpy; each must equal the vectorized outcome."""
    for _ in range(max(count, 1)):
        index = tuple(rng.randrange(n) for n in space.SHAPE)
        facts, element, label = space.cell_facts(kind, index)
        verdict = evaluate(rules, facts, [(element, label)])[(element, label)]
        report.sampled += 1
        expected = grid.outcome_at(index)
        if _OUTCOME[verdict.outcome.value] != expected:
            report.mismatches.append(
                f"{name}: cedar says {verdict.outcome.value}, the check says "
                f"{_NAMES[expected]} for {example_request(facts, element)}"
                f" (label {label.value if label else 'none'})"
            )
