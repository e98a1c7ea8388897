"""The aggregate use case: decide, count, add OpenDP noise, spend the budget, record, answer.

Order of events (ARCHITECTURE.md, "aggregate"):

1. the query is validated (fixed templates only) and wrapped in a policy :class:`Request`;
2. ``policy.decide`` decides it like any record request; anything but *permit* (or an error while
   deciding: fail closed) is a denial, recorded in the ledger, that spends nothing;
3. the engine computes the exact, contribution-bounded counts;
4. the OpenDP measurement is planned and its cost taken from OpenDP's privacy map;
5. in ONE ledger transaction: the budget is spent with a conditional UPDATE, the noisy cells are
   drawn, and the ``AggregateAnswered`` entry is appended; an exhausted budget rolls all of it back
   and is recorded as a denial;
6. the result is returned only after the commit.

Entry points for the CLI and the service: :func:`answer` (POST /v1/aggregates), :func:`budgets`
(GET /v1/budget), :func:`grant_budget`, and :func:`to_csv` / :func:`to_json` for rendering.
"""

from __future__ import annotations

import csv
import hashlib
import io
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from healthwall.dp import budget as dp_budget
from healthwall.dp import mechanisms
from healthwall.dp.budget import BudgetPolicy
from healthwall.dp.release import check_size, release
from healthwall.dp.templates import CompiledTemplate, compile_template
from healthwall.engine import open_store
from healthwall.errors import ConfigError, HealthwallError, InvalidInput, Refused
from healthwall.ledger import Ledger
from healthwall.model.aggregate import (
    AggregateQuery,
    AggregateResult,
    BudgetMeasure,
    BudgetState,
    Cell,
    Mechanism,
    MechanismInfo,
)
from healthwall.model.codes import Geography as RequestGeography
from healthwall.model.codes import Instrument, Outcome, Purpose, RequesterKind
from healthwall.model.decision import Decision, Reason
from healthwall.model.entries import AggregateAnswered, Budget, DecisionMade, Party, ReasonRef
from healthwall.model.request import Request, parse_request
from healthwall.policy import decide
from healthwall.secrets import resolve_secret

#: Purpose assumed for a requester kind when the caller gives none.
DEFAULT_PURPOSE: dict[RequesterKind, Purpose] = {
    RequesterKind.PUBLIC_HEALTH: Purpose.PUBHLTH,
    RequesterKind.RESEARCHER: Purpose.HRESCH,
    RequesterKind.LAW_ENFORCEMENT: Purpose.LAW_ENFORCEMENT,
    RequesterKind.IMMIGRATION_ENFORCEMENT: Purpose.IMMIGRATION_ENFORCEMENT,
    RequesterKind.OVERSIGHT: Purpose.HCOMPL,
    RequesterKind.DATA_BROKER: Purpose.DATA_SALE,
}

_DEFAULT_HASH_KEY = "healthwall-dp-truncation"
_BODY_FIELDS = {"requester", "purpose", "legal_basis", "query", "justification", "request_id"}


@dataclass(frozen=True)
class AggregateSettings:
    """Where the data and the ledger are, and the deployment's privacy settings."""

    store: Path
    ledger_url: str
    pseudonym_key: str | None = None  # reference (env:NAME / file:PATH) for the ledger
    signing_key: str | None = None
    truncation_key: str | None = None  # reference; keys the per-patient cell choice
    budget: BudgetPolicy = field(default_factory=BudgetPolicy)
    jurisdiction: str | None = None
    packs: tuple[str, ...] | None = None


def build_request(raw: dict[str, Any], query: AggregateQuery) -> Request:
    """The policy :class:`Request` of an aggregate call (requester, purpose, legal basis)."""
    if not isinstance(raw.get("requester"), dict):
        raise InvalidInput("requester: field required", field="requester")
    kind = raw["requester"].get("kind")
    purpose = raw.get("purpose")
    if purpose is None and kind in RequesterKind.__members__.values():
        purpose = DEFAULT_PURPOSE.get(RequesterKind(kind), Purpose.GOV).value
    body: dict[str, Any] = {
        "requester": raw["requester"],
        "purpose": purpose,
        "legal_basis": raw.get("legal_basis") or {"instrument": Instrument.NONE.value},
        "scope": {
            "kind": "aggregate",
            "aggregate": {
                "template": query.template.value,
                "geography": RequestGeography(query.geography.value).value,
                "period": query.period.value,
                "by": list(query.by),
            },
        },
        "elements": ["counts"],
        "justification": raw.get("justification", ""),
    }
    body["request_id"] = raw.get("request_id") or "aggregate-" + uuid.uuid4().hex[:16]
    return parse_request(body)


def answer(
    raw: dict[str, Any],
    settings: AggregateSettings,
    *,
    ledger: Ledger | None = None,
    now: datetime | None = None,
) -> AggregateResult:
    """Answer one aggregate request body ``{"requester", "purpose"?, "legal_basis"?, "query"}``.

    Raises :class:`Refused` (policy denial, exhausted budget), :class:`InvalidInput` (bad query).
    ``ledger``: an already open ledger (the service's); otherwise one is opened from settings.
    """
    if not isinstance(raw, dict):
        raise InvalidInput("request body must be an object", field="request")
    unknown = set(raw) - _BODY_FIELDS
    if unknown:
        raise InvalidInput(f"unknown field(s) {sorted(unknown)}", field=sorted(unknown)[0])
    query = AggregateQuery.parse(raw.get("query"))
    request = build_request(raw, query)
    check_size(compile_template(query, hash_key=""))  # too many cells: refuse before any work
    if ledger is not None:
        dp_budget.create_tables(ledger.engine)
        return _decide_and_answer(ledger, request, query, settings, now)
    with _open_ledger(settings) as opened:
        return _decide_and_answer(opened, request, query, settings, now)


def _decide_and_answer(
    ledger: Ledger,
    request: Request,
    query: AggregateQuery,
    settings: AggregateSettings,
    now: datetime | None,
) -> AggregateResult:
    decision = _decide(request, settings)
    if not decision.permitted:
        _record_denial(ledger, request, [_reason_ref(r) for r in decision.reasons])
        why = "; ".join(f"{r.policy}: {r.text}" for r in decision.reasons) or "no rule permits it"
        raise Refused(f"aggregate request denied by policy: {why}", field="requester")
    compiled = compile_template(query, hash_key=_truncation_key(settings))
    plan = plan_for(query, compiled)
    period = dp_budget.period_label(settings.budget, now)
    requester_id = request.requester.id
    dp_budget.ensure(ledger.engine, requester_id, period, settings.budget)
    current = dp_budget.state(ledger.engine, requester_id, period)
    assert current is not None
    cost, delta = mechanisms.cost(plan, current.measure, delta=query.delta)
    try:
        dp_budget.precheck(current, cost, delta)  # not binding: the spend below decides
        with open_store(settings.store, read_only=True) as engine:
            exact = engine.query_arrow(compiled.sql, compiled.params)
        with ledger.writer() as tx:
            spent = dp_budget.spend(tx.conn, requester_id, period, cost, delta)
            released = release(query, compiled, plan, exact)
            info = _info(query, compiled, plan, current.measure, cost, delta, released.half_width)
            digest = _digest(compiled.dimensions, released.cells)
            entry = _answered_entry(request, query, info, spent, digest, released.cells)
            receipt = tx.append(entry)
    except Refused as exc:
        _record_denial(ledger, request, [ReasonRef(**_BUDGET_REASON, text=exc.message)])
        raise
    return AggregateResult(
        query=query,
        dimensions=compiled.dimensions,
        mechanism=info,
        cells=released.cells,
        budget=spent,
        ledger_index=int(receipt.index),
        decision_reasons=[r.text for r in decision.reasons],
    )


def plan_for(query: AggregateQuery, compiled: CompiledTemplate) -> mechanisms.Plan:
    """The OpenDP measurement for the query's loss at the template's contribution bound."""
    loss = query.epsilon if query.epsilon is not None else query.rho
    assert loss is not None
    return mechanisms.plan(
        query.mechanism,
        loss=loss,
        contributions=compiled.contribution_bound,
        public_keys=compiled.keys_public,
        delta=query.delta,
        min_threshold=query.suppress_below,
    )


_BUDGET_REASON = {"policy": "dp-budget", "citation": "healthwall dp budget (docs/dp.md)"}


def _open_ledger(settings: AggregateSettings) -> Ledger:
    """The ledger (and its database, where the budget table lives)."""
    if settings.pseudonym_key is None:
        raise ConfigError(
            "pseudonym_key: give a reference (env:NAME or file:PATH)", field="pseudonym_key"
        )
    signing = settings.signing_key
    ledger = Ledger.open(
        settings.ledger_url,
        pseudonym_key=resolve_secret(settings.pseudonym_key, what="pseudonym_key"),
        signing_key=resolve_secret(signing, what="signing_key") if signing else None,
    )
    dp_budget.create_tables(ledger.engine)
    return ledger


def _decide(request: Request, settings: AggregateSettings) -> Decision:
    """The policy decision; any error while deciding is a denial (fail closed)."""
    try:
        return decide(request, jurisdiction=settings.jurisdiction, packs=settings.packs)
    except HealthwallError as exc:
        reason = Reason(policy="fail-closed", citation="healthwall", text=exc.message)
    return Decision(
        request_id=request.request_id or "aggregate",
        decision=Outcome.DENY,
        reasons=[reason],
    )


def _reason_ref(reason: Reason) -> ReasonRef:
    return ReasonRef(policy=reason.policy, citation=reason.citation, text=reason.text)


def _party(request: Request) -> Party:
    r = request.requester
    return Party(id=r.id, name=r.name, kind=r.kind.value, jurisdiction=r.jurisdiction)


def _request_id(request: Request) -> str:
    return request.request_id or "aggregate"  # build_request always sets one


def _record_denial(ledger: Ledger, request: Request, reasons: list[ReasonRef]) -> None:
    """A denial spends nothing and is recorded in the ledger in its own transaction."""
    entry = DecisionMade(
        request_id=_request_id(request), decision="deny", reasons=reasons, withheld=["counts"]
    )
    with ledger.writer() as tx:
        tx.append(entry)


def _answered_entry(
    request: Request,
    query: AggregateQuery,
    info: MechanismInfo,
    spent: BudgetState,
    digest: str,
    cells: list[Cell],
) -> AggregateAnswered:
    unit = "rho" if spent.measure is BudgetMeasure.RHO else "epsilon"
    cost = info.rho if unit == "rho" else info.epsilon
    return AggregateAnswered(
        request_id=_request_id(request),
        requester=_party(request),
        template=query.template.value,
        parameters=query.model_dump(mode="json", exclude={"template"}),
        mechanism=info.mechanism.value,
        budget_spent=Budget(**{unit: cost}),
        budget_remaining=Budget(**{unit: spent.remaining}),
        output_digest=digest,
        cells_released=sum(1 for c in cells if not c.suppressed),
        cells_suppressed=sum(1 for c in cells if c.suppressed),
    )


def _info(
    query: AggregateQuery,
    compiled: CompiledTemplate,
    plan: mechanisms.Plan,
    measure: BudgetMeasure,
    cost: float,
    delta: float,
    half_width: int,
) -> MechanismInfo:
    gaussian = plan.mechanism is Mechanism.GAUSSIAN
    epsilon: float | None
    rho: float | None
    if measure is BudgetMeasure.RHO:
        epsilon, rho = (None, cost) if gaussian else (float(plan.map()), cost)
    else:
        epsilon, rho = cost, (_first(plan.map()) if gaussian else None)
    return MechanismInfo(
        mechanism=plan.mechanism,
        measure=measure,
        scale=plan.scale,
        epsilon=epsilon,
        rho=rho,
        delta=delta,
        sensitivity_l1=float(compiled.sensitivity_l1),
        sensitivity_l2=compiled.sensitivity_l2,
        contribution_bound=compiled.contribution_bound,
        key_set="public" if plan.threshold is None else "selected",
        selection_threshold=plan.threshold,
        suppression_threshold=query.suppress_below,
        alpha=query.alpha,
        ci_half_width=half_width,
    )


def _first(value: Any) -> float:
    return float(value[0] if isinstance(value, tuple) else value)


def _digest(dimensions: list[str], cells: list[Cell]) -> str:
    """SHA-256 of the released cells as the CSV output renders them (UTF-8), for the ledger."""
    return hashlib.sha256(_csv_text(dimensions, cells).encode()).hexdigest()


def _truncation_key(settings: AggregateSettings) -> str:
    if settings.truncation_key is None:
        return _DEFAULT_HASH_KEY
    return resolve_secret(settings.truncation_key, what="truncation_key").hex()


def budgets(
    settings: AggregateSettings, requester_id: str | None = None, *, ledger: Ledger | None = None
) -> list[BudgetState]:
    """Every budget (of one requester) with what is spent and left (GET /v1/budget)."""
    if ledger is not None:
        dp_budget.create_tables(ledger.engine)
        return dp_budget.list_states(ledger.engine, requester_id)
    with _open_ledger(settings) as opened:
        return dp_budget.list_states(opened.engine, requester_id)


def grant_budget(
    settings: AggregateSettings,
    requester_id: str,
    *,
    measure: BudgetMeasure,
    total: float,
    delta_total: float,
    now: datetime | None = None,
) -> BudgetState:
    """Set a requester's totals for the current period (the privacy officer's decision)."""
    period = dp_budget.period_label(settings.budget, now or datetime.now(UTC))
    with _open_ledger(settings) as ledger:
        return dp_budget.grant(
            ledger.engine,
            requester_id,
            period,
            measure=measure,
            total=total,
            delta_total=delta_total,
        )


def to_json(result: AggregateResult) -> str:
    """The result as JSON (every field documented in docs/dp.md)."""
    return result.model_dump_json(indent=2)


def to_csv(result: AggregateResult) -> str:
    """One row per cell: the dimensions, count, suppressed, ci_low, ci_high.

    Its SHA-256 is the ``output_digest`` of the ledger entry.
    """
    return _csv_text(result.dimensions, result.cells)


def _csv_text(dimensions: list[str], cells: list[Cell]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*dimensions, "count", "suppressed", "ci_low", "ci_high"])
    for cell in cells:
        writer.writerow(
            [
                *(cell.keys[d] for d in dimensions),
                "" if cell.count is None else cell.count,
                "true" if cell.suppressed else "false",
                "" if cell.ci_low is None else cell.ci_low,
                "" if cell.ci_high is None else cell.ci_high,
            ]
        )
    return out.getvalue()


__all__ = [
    "AggregateSettings",
    "BudgetPolicy",
    "HealthwallError",
    "answer",
    "budgets",
    "build_request",
    "grant_budget",
    "to_csv",
    "to_json",
]
