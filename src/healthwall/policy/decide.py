"""decide(request) -> Decision: element by element, in Cedar, the most protective answer winning.

Each requested element is one Cedar request (principal = the requester's kind, resource = the
element, context = the request's facts), evaluated for two actions: ``disclose`` (may it go out at
all) and ``release`` (may it go out without human review). Clinical elements that may go out are
then evaluated once per sensitivity label a record can carry; a label whose records may not go out
is listed in ``withheld_labels``. Checks go to cedarpy in batches: ``disclose`` for all, then
``release`` for those disclosed.

Per element: deny if ``disclose`` is denied, review if only ``release`` is, else permit. Per
request: deny when nothing may go out, review when anything needs review, else permit. Cedar
ignores a policy whose evaluation errors, which would fail OPEN for a forbid; so any evaluation
error (or any exception) denies the request with the reason "policy evaluation error" (fail closed).

Evaluation is a pure function of (packs, requester kind, context, resource), so verdicts are cached;
a whole decision is a pure function of (packs, jurisdiction, the request's facts, the requested
elements), so successful decisions are cached too (the request id is set on a copy). A decision
that failed closed is never cached.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cedarpy

from healthwall.model.codes import CLINICAL_ELEMENTS, RECORD_LABELS, Element, Label, Outcome
from healthwall.model.decision import Decision, Reason
from healthwall.model.request import Request
from healthwall.policy.facts import Facts, facts_of
from healthwall.policy.obligations import obligations_for
from healthwall.policy.packs import Bundle, bundle, packs_for, parse_packs, resource_id

log = logging.getLogger("healthwall.policy")

DEFAULT_DENY_ID = "default-deny"
ERROR_REASON = Reason(
    policy="policy-evaluation-error",
    citation="healthwall fail-closed rule",
    text="policy evaluation error: nothing is released",
)
_CACHE_LIMIT = 200_000


@dataclass(frozen=True)
class Verdict:
    """The answer for one (element, label): outcome and the ids of the rules that decided."""

    outcome: Outcome
    rules: tuple[str, ...]
    error: bool = False


_verdicts: dict[tuple[tuple[str, ...], str, str, str], Verdict] = {}
_DecisionKey = tuple[tuple[str, ...], str | None, Facts, tuple[Element, ...]]
_decisions: dict[_DecisionKey, Decision] = {}
_packs: dict[tuple[str | None, str | tuple[str, ...] | None], tuple[str, ...]] = {}


def select_packs(
    jurisdiction: str | None = None, packs: str | Sequence[str] | None = None
) -> tuple[str, ...]:
    """The packs to apply: ``packs`` when given, else the jurisdiction's (default jurisdiction)."""
    if packs:
        return parse_packs(packs if isinstance(packs, str) else tuple(packs))
    return packs_for(jurisdiction)


def decide(
    request: Request,
    *,
    jurisdiction: str | None = None,
    packs: str | Sequence[str] | None = None,
    request_id: str | None = None,
) -> Decision:
    """Decide a validated request under the jurisdiction's packs (or the packs given).

    The decision's ``request_id`` is ``request_id``, else the request's, else a new one.
    """
    chosen = _chosen(jurisdiction, packs)
    request_id = request_id or request.request_id or uuid.uuid4().hex
    try:
        facts, requested = facts_of(request), request.requested()
        key = (chosen, jurisdiction, facts, requested)
        cached = _decisions.get(key)
        if cached is None:
            cached = _decide(facts, requested, bundle(chosen), "", jurisdiction)
            if len(_decisions) >= _CACHE_LIMIT:
                _decisions.clear()
            _decisions[key] = cached
        return cached.model_copy(update={"request_id": request_id})
    except Exception as exc:  # fail closed: an error in a decision is a denial
        log.error("policy evaluation error (%s) for request %s", type(exc).__name__, request_id)
        return Decision(
            request_id=request_id,
            decision=Outcome.DENY,
            reasons=[ERROR_REASON],
            withheld=list(request.requested()),
            packs=list(chosen),
            jurisdiction=jurisdiction,
        )


def _chosen(jurisdiction: str | None, packs: str | Sequence[str] | None) -> tuple[str, ...]:
    """:func:`select_packs`, remembered per (jurisdiction, packs) (the configuration is fixed)."""
    key = (jurisdiction, packs if packs is None or isinstance(packs, str) else tuple(packs))
    chosen = _packs.get(key)
    if chosen is None:
        chosen = _packs[key] = select_packs(jurisdiction, packs)
    return chosen


def _decide(
    facts: Facts,
    requested: tuple[Element, ...],
    rules: Bundle,
    request_id: str,
    jurisdiction: str | None,
) -> Decision:
    base = evaluate(rules, facts, [(e, None) for e in requested])
    if any(v.error for v in base.values()):
        raise RuntimeError("cedar evaluation error")
    released = [e for e in requested if base[(e, None)].outcome is not Outcome.DENY]
    labelled = [(e, lbl) for e in released if e in CLINICAL_ELEMENTS for lbl in RECORD_LABELS]
    by_label = evaluate(rules, facts, labelled)
    if any(v.error for v in by_label.values()):
        raise RuntimeError("cedar evaluation error")
    withheld_labels = sorted(
        {lbl for (_, lbl), v in by_label.items() if lbl and v.outcome is Outcome.DENY}
    )
    verdicts = [base[(e, None)] for e in requested] + [
        v for v in by_label.values() if v.outcome is not Outcome.DENY
    ]
    outcome = _combine(released, verdicts)
    deciding = [base[(e, None)] for e in requested] + [
        v
        for (_, lbl), v in by_label.items()
        if lbl in withheld_labels or v.outcome is Outcome.REVIEW
    ]
    return Decision(
        request_id=request_id,
        decision=outcome,
        reasons=_reasons(rules, deciding, outcome),
        released=released,
        withheld=[e for e in requested if e not in released],
        withheld_labels=list(withheld_labels),
        obligations=obligations_for(facts, outcome, released, withheld_labels),
        packs=list(rules.packs),
        jurisdiction=jurisdiction,
    )


def _combine(released: Sequence[Element], verdicts: Iterable[Verdict]) -> Outcome:
    if not released:
        return Outcome.DENY
    if any(v.outcome is Outcome.REVIEW for v in verdicts):
        return Outcome.REVIEW
    return Outcome.PERMIT


def _reasons(rules: Bundle, verdicts: Sequence[Verdict], outcome: Outcome) -> list[Reason]:
    """The rules that decided, each once, in order; the default-deny reason when none did."""
    seen: dict[str, Reason] = {}
    for verdict in verdicts:
        if outcome is Outcome.DENY and verdict.outcome is not Outcome.DENY:
            continue
        ids = verdict.rules or ((DEFAULT_DENY_ID,) if verdict.outcome is Outcome.DENY else ())
        for rule_id in ids:
            if rule_id not in seen:
                seen[rule_id] = _reason(rules, rule_id)
    return list(seen.values())


def _reason(rules: Bundle, rule_id: str) -> Reason:
    if rule_id == DEFAULT_DENY_ID:
        return Reason(
            policy=DEFAULT_DENY_ID, citation=rules.default_citation, text=rules.default_text
        )
    rule = rules.rules[rule_id]
    return Reason(policy=rule.id, citation=rule.citation, text=rule.reason)


def evaluate(
    rules: Bundle, facts: Facts, resources: Sequence[tuple[Element, Label | None]]
) -> dict[tuple[Element, Label | None], Verdict]:
    """Verdicts for (element, label) pairs under one request's facts: cached, misses batched."""
    out: dict[tuple[Element, Label | None], Verdict] = {}
    missing: list[tuple[tuple[Element, Label | None], tuple[tuple[str, ...], str, str, str]]] = []
    contexts: dict[bool, str] = {}
    for element, label in resources:
        ctx = facts.context(element)
        named = bool(ctx["element_named"])
        if named not in contexts:
            contexts[named] = json.dumps(ctx, sort_keys=True)
        key = (rules.packs, facts.kind.value, contexts[named], resource_id(element, label))
        hit = _verdicts.get(key)
        if hit is None:
            missing.append(((element, label), key))
        else:
            out[(element, label)] = hit
    if missing:
        for (pair, key), verdict in zip(missing, _run(rules, [k for _, k in missing]), strict=True):
            out[pair] = verdict
            _remember(key, verdict)
    return out


def _run(rules: Bundle, keys: Sequence[tuple[tuple[str, ...], str, str, str]]) -> list[Verdict]:
    """Two cedarpy batches: ``disclose`` for every key, then ``release`` for those disclosed."""
    disclosed = _batch(rules, keys, "disclose")
    verdicts: list[Verdict | None] = [None] * len(keys)
    pending: list[int] = []
    for i, result in enumerate(disclosed):
        if result.diagnostics.errors:
            verdicts[i] = Verdict(Outcome.DENY, (), error=True)
        elif not result.allowed:
            verdicts[i] = Verdict(Outcome.DENY, tuple(sorted(result.diagnostics.reasons)))
        else:
            pending.append(i)
    released = _batch(rules, [keys[i] for i in pending], "release") if pending else []
    for i, result in zip(pending, released, strict=True):
        verdicts[i] = _verdict(disclosed[i], result)
    return [v if v is not None else Verdict(Outcome.DENY, (), error=True) for v in verdicts]


def _batch(
    rules: Bundle, keys: Sequence[tuple[tuple[str, ...], str, str, str]], action: str
) -> list[cedarpy.AuthzResult]:
    batch = [
        {
            "principal": f'Requester::"{kind}"',
            "action": f'Action::"{action}"',
            "resource": f'Element::"{rid}"',
            "context": ctx,
        }
        for _, kind, ctx, rid in keys
    ]
    return list(cedarpy.is_authorized_batch(batch, rules.policy_set, rules.entities, rules.schema))


def _verdict(disclose: cedarpy.AuthzResult, release: cedarpy.AuthzResult) -> Verdict:
    if disclose.diagnostics.errors or release.diagnostics.errors:
        return Verdict(Outcome.DENY, (), error=True)
    if not disclose.allowed:
        return Verdict(Outcome.DENY, tuple(sorted(disclose.diagnostics.reasons)))
    if not release.allowed:
        rules = sorted(release.diagnostics.reasons) + sorted(disclose.diagnostics.reasons)
        return Verdict(Outcome.REVIEW, tuple(rules))
    return Verdict(Outcome.PERMIT, tuple(sorted(disclose.diagnostics.reasons)))


def _remember(key: tuple[tuple[str, ...], str, str, str], verdict: Verdict) -> None:
    if verdict.error:
        return
    if len(_verdicts) >= _CACHE_LIMIT:
        _verdicts.clear()
    _verdicts[key] = verdict


def clear_cache() -> None:
    """Forget cached verdicts and decisions (benchmarks measure cold decisions with it)."""
    _verdicts.clear()
    _decisions.clear()


def clear_decisions() -> None:
    """Forget whole decisions but keep the element verdicts (benchmarks measure the element-level
    assembly of a decision with it)."""
    _decisions.clear()
