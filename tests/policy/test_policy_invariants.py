"""Invariants over the whole request space, property tests of decide, and the CLI."""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from policy_fixtures import build_store, request

from healthwall.cli.main import main
from healthwall.errors import UnknownCode
from healthwall.model import codes
from healthwall.model.codes import Element, Outcome
from healthwall.model.request import parse_request
from healthwall.policy import decide, space
from healthwall.policy.decide import evaluate
from healthwall.policy.facts import example_request
from healthwall.policy.invariants import check
from healthwall.policy.packs import bundle, jurisdictions, known_packs

US_CA = ("hipaa", "part2", "us-ca", "firewall")


def test_shipped_invariants_hold_for_california() -> None:
    report = check(sample=110, packs=US_CA)
    assert report.ok, report.violations or report.mismatches
    assert report.combinations == len(codes.RequesterKind) * int(np.prod(space.SHAPE))
    assert report.outcomes["permit"] > 0 and report.outcomes["review"] > 0
    assert report.sampled >= 110


@pytest.mark.slow
def test_a_pack_set_without_the_firewall_yields_confirmed_counterexamples() -> None:
    report = check(sample=11, packs=("hipaa", "part2"))
    found = {v.invariant for v in report.violations}
    assert "immigration-needs-judicial-instrument-for-one-patient" in found
    for v in report.violations:
        assert v.confirmed_by_cedar, v.invariant
        parse_request(v.request)  # the counterexample is a valid request


FACTS = st.builds(
    lambda kind, p, i, s, c, n, a, r: space.cell_facts(kind, (p, i, s, c, n, a, r)),
    st.sampled_from(list(codes.RequesterKind)),
    *(st.integers(0, size - 1) for size in space.SHAPE),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cell=FACTS, jurisdiction=st.sampled_from(sorted(jurisdictions())))
def test_vectorized_space_agrees_with_cedar(cell: Any, jurisdiction: str) -> None:
    facts, element, label = cell
    rules = bundle(tuple(jurisdictions()[jurisdiction]))
    grid = _grid(jurisdiction, facts.kind)
    index = _index_of(facts, element, label)
    cedar = evaluate(rules, facts, [(element, label)])[(element, label)].outcome
    assert grid.outcome_at(index) == {"deny": 0, "review": 1, "permit": 2}[cedar.value]


@functools.cache
def _grid(jurisdiction: str, kind: codes.RequesterKind) -> space.Grid:
    return space.outcomes(bundle(tuple(jurisdictions()[jurisdiction])), kind)


def _index_of(facts: Any, element: Element, label: Any) -> tuple[int, ...]:
    for idx in range(space.SHAPE[4]):
        for c in range(space.SHAPE[3]):
            cand = (
                space.PURPOSES.index(facts.purpose),
                space.INSTRUMENTS.index(facts.instrument),
                space.SCOPES.index((facts.scope, facts.geography)),
                c,
                idx,
                space.AGENT_STATES.index(facts.agent_verified),
                space.RESOURCES.index((element, label)),
            )
            if space.cell_facts(facts.kind, cand) == (facts, element, label):
                return cand
    raise AssertionError("cell not found")


REQUESTS = st.builds(
    lambda cell, elements: example_request(cell[0], cell[1]) | {"elements": elements},
    FACTS,
    st.lists(st.sampled_from([e.value for e in Element if e is not Element.COUNTS]), min_size=1),
)


@settings(max_examples=150, deadline=None)
@given(raw=REQUESTS, jurisdiction=st.sampled_from(sorted(jurisdictions())))
def test_random_requests_never_crash_and_never_break_the_firewall(
    raw: dict[str, Any], jurisdiction: str
) -> None:
    if raw["scope"]["kind"] == "aggregate":
        raw["elements"] = []
    req = parse_request(raw)
    d = decide(req, jurisdiction=jurisdiction)
    released = set(d.released)
    assert released | set(d.withheld) == set(req.requested())
    assert not released & set(d.withheld)
    if d.decision is Outcome.DENY:
        assert not released and not d.obligations
    enforcement = {codes.RequesterKind.LAW_ENFORCEMENT, codes.RequesterKind.IMMIGRATION_ENFORCEMENT}
    ie = (
        req.requester.kind is codes.RequesterKind.IMMIGRATION_ENFORCEMENT
        or req.purpose is codes.Purpose.IMMIGRATION_ENFORCEMENT
    )
    if ie:
        judicial = req.legal_basis.instrument in (
            codes.Instrument.JUDICIAL_WARRANT,
            codes.Instrument.COURT_ORDER,
        )
        assert not released or (judicial and req.scope.kind is codes.ScopeKind.SINGLE_PATIENT)
        assert released <= set(req.legal_basis.elements or [])
        assert Element.ADDRESS not in released
    if req.requester.kind is codes.RequesterKind.DATA_BROKER:
        assert not released & codes.IDENTIFYING_ELEMENTS
    if req.purpose is codes.Purpose.DATA_SALE:
        assert d.decision is Outcome.DENY
    if req.requester.kind in enforcement and req.scope.kind is codes.ScopeKind.COHORT:
        assert d.decision is Outcome.DENY
    clinical = released & codes.CLINICAL_ELEMENTS
    part2_order = req.legal_basis.instrument is codes.Instrument.PART2_COURT_ORDER
    if clinical and req.requester.kind in enforcement and not part2_order:
        assert {codes.Label.SUD, codes.Label.ETH} <= set(d.withheld_labels)


@settings(max_examples=60, deadline=None)
@given(field=st.sampled_from(["purpose", "elements", "kind"]), junk=st.text(min_size=1))
def test_unknown_codes_are_rejected_naming_the_field(field: str, junk: str) -> None:
    raw = request()
    valid = {e.value for e in Element} | {p.value for p in codes.Purpose}
    valid |= {k.value for k in codes.RequesterKind}
    if junk.strip() in valid:
        return
    if field == "purpose":
        raw["purpose"], where = junk, "purpose"
    elif field == "elements":
        raw["elements"], where = [junk], "elements.0"
    else:
        raw["requester"]["kind"], where = junk, "requester.kind"
    with pytest.raises(UnknownCode) as err:
        parse_request(raw)
    assert err.value.field == where


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_decide_prints_the_decision(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(elements=["name", "dna"])))
    code, out, _ = _run(["decide", str(path), "--jurisdiction", "US-TX"], capsys)
    assert code == 0
    body = json.loads(out)
    assert body["decision"] == "permit" and body["released"] == ["name"]
    code, out, _ = _run(["decide", str(path), "--packs", "gdpr-art9"], capsys)
    assert json.loads(out)["decision"] == "deny"


def test_cli_decide_records_in_the_ledger(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from healthwall.ledger.log import Ledger

    monkeypatch.setenv("HW_TEST_PKEY", "p" * 32)
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request()))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    argv = ["decide", str(path), "--db", url, "--pseudonym-key", "env:HW_TEST_PKEY"]
    code, out, _ = _run(argv, capsys)
    assert code == 0
    body = json.loads(out)
    assert body["ledger"]["index"] == 1
    with Ledger.open(url, pseudonym_key=b"p" * 32) as led:
        assert led.size() == 2  # RequestReceived, DecisionMade: no store, no release
    build_store(tmp_path / "custodian.duckdb").close()
    code, out, _ = _run([*argv, "--store", str(tmp_path / "custodian.duckdb")], capsys)
    assert code == 0 and json.loads(out)["decision"] == "permit"
    assert "Lopez" not in out  # the decision carries no content
    with Ledger.open(url, pseudonym_key=b"p" * 32) as led:
        assert [type(e).__name__ for _, e in led.entries()][2:] == [
            "RequestReceived",
            "DecisionMade",
            "Released",
        ]


def test_cli_bad_request_exits_non_zero_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request(purpose="SNOOPING")))
    code, _, err = _run(["decide", str(path)], capsys)
    assert code == 2 and "purpose" in err
    path.write_text("{")
    code, _, err = _run(["decide", str(path)], capsys)
    assert code == 2 and "not valid JSON" in err


@pytest.mark.slow
def test_cli_policy_check_prints_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["policy", "check", "--packs", "hipaa", "--sample", "11"], capsys)
    assert code != 0
    assert "VIOLATION" in err
    assert json.loads(out.split("\n}\n")[0] + "\n}")["requester"]["kind"]


def test_cli_policy_list(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["policy", "list"], capsys)
    assert code == 0
    listing = json.loads(out)
    assert "US-CA" in listing["jurisdictions"]
    assert all(r["citation"] for p in listing["packs"].values() for r in p["rules"])


@settings(max_examples=40, deadline=None)
@given(
    subset=st.sets(st.sampled_from(list(codes.Condition))),
    cell=FACTS,
    jurisdiction=st.sampled_from(sorted(jurisdictions())),
)
def test_every_condition_set_is_covered_by_its_class(
    subset: set[codes.Condition], cell: Any, jurisdiction: str
) -> None:
    """The grid's condition profiles stand for ALL subsets: same Cedar answer as the original."""
    facts, element, label = cell
    rules = bundle(tuple(jurisdictions()[jurisdiction]))
    reps = [p for p in space.CONDITION_PROFILES if _key(p) == _key(frozenset(subset))]
    assert reps, "no class for this subset"
    original = dataclasses.replace(facts, conditions=frozenset(subset))
    stand_in = dataclasses.replace(facts, conditions=reps[0])
    pair = (element, label)
    assert evaluate(rules, original, [pair])[pair] == evaluate(rules, stand_in, [pair])[pair]


@functools.cache
def _atoms() -> list[tuple[str, frozenset[str]]]:
    """Every test of the condition set in the packs: (any | all, literals)."""
    atoms: set[Any] = set()
    for pack in known_packs():
        for rule in bundle((pack,)).rules.values():
            space._condition_atoms(rule.ast, atoms)
    return sorted(atoms, key=lambda a: (a[0], sorted(a[1])))


def _key(conditions: frozenset[codes.Condition]) -> tuple[bool, ...]:
    values = {c.value for c in conditions}
    return tuple(bool(values & lits) if k == "any" else lits <= values for k, lits in _atoms())


@pytest.mark.parametrize("jurisdiction", ["US-CA", "GB"])
def test_a_record_label_only_ever_restricts(jurisdiction: str) -> None:
    """For every combination: an element of a labelled record never fares better than unlabelled."""
    rules = bundle(tuple(jurisdictions()[jurisdiction]))
    plain = {e: space.RESOURCES.index((e, None)) for e in codes.CLINICAL_ELEMENTS}
    for kind in codes.RequesterKind:
        grid = space.outcomes(rules, kind).full()
        for r, (element, label) in enumerate(space.RESOURCES):
            if label is not None:
                assert (grid[..., r] <= grid[..., plain[element]]).all(), (kind, element, label)
