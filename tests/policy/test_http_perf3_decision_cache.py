"""Whole-decision cache (http-perf-3): a cached decision is exactly the decision computed cold,
with the caller's request id; it is keyed on everything that decides (packs, jurisdiction, the
request's facts, the requested elements) and on nothing that does not (names, identifiers)."""

from __future__ import annotations

import re
from typing import Any

from policy_fixtures import ice, request

from healthwall.model.request import parse_request
from healthwall.policy.decide import clear_cache, decide

US_CA = ("hipaa", "part2", "us-ca", "firewall")
US_TX = ("hipaa", "part2", "firewall")

_BODIES: list[dict[str, Any]] = [
    request(),
    request(elements=["name", "address", "diagnoses"]),
    request(elements=["address", "name"]),  # same elements, other order: other decision order
    request(legal_basis={"instrument": "judicial-warrant", "reference": "W-1"}),
    request(
        legal_basis={"instrument": "judicial-subpoena", "reference": "S-1"},
        elements=["diagnoses", "claims"],
    ),
    request(
        requester={"id": "broker", "name": "Broker", "kind": "data-broker"},
        purpose="data-sale",
        legal_basis={"instrument": "none"},
        elements=["name", "claims"],
    ),
    ice("administrative-warrant", ["name", "address"], ["name", "address"]),
    ice("administrative-subpoena", ["name", "immigration-status"]),
    ice("judicial-warrant", ["name", "diagnoses"], ["name"]),
]


def _without_id(decision: Any) -> dict[str, Any]:
    return dict(decision.model_dump(mode="json", exclude={"request_id"}))


def test_cached_decisions_equal_cold_ones() -> None:
    requests = [parse_request(body) for body in _BODIES]
    for packs in (US_CA, US_TX):
        cold = []
        for req in requests:
            clear_cache()
            cold.append(decide(req, packs=packs, request_id="cold"))
        clear_cache()
        for _ in range(2):  # the first pass fills the cache, the second only reads it
            for req, expected in zip(reversed(requests), reversed(cold), strict=True):
                warm = decide(req, packs=packs, request_id="warm")
                assert warm.request_id == "warm" and expected.request_id == "cold"
                assert _without_id(warm) == _without_id(expected)


def test_cache_keys_on_facts_and_elements_only() -> None:
    clear_cache()
    bare = decide(parse_request(request()), packs=US_CA)
    warrant = decide(
        parse_request(request(legal_basis={"instrument": "judicial-warrant", "reference": "W"})),
        packs=US_CA,
    )
    assert _without_id(bare) != _without_id(warrant)  # the instrument decides
    other_patient = request(scope={"kind": "single-patient", "patient": {"mrn": "M2"}})
    other_agency = request(requester={"id": "pd-2", "name": "Town PD", "kind": "law-enforcement"})
    for body in (other_patient, other_agency):
        assert _without_id(decide(parse_request(body), packs=US_CA)) == _without_id(bare)
    fewer = decide(parse_request(request(elements=["name"])), packs=US_CA)
    assert fewer.released != bare.released or fewer.withheld != bare.withheld


def test_request_ids_are_the_callers_or_fresh_even_when_cached() -> None:
    clear_cache()
    body = request()
    given = decide(parse_request({**body, "request_id": "req-7"}), packs=US_CA)
    assert given.request_id == "req-7"
    fresh = [decide(parse_request(body), packs=US_CA).request_id for _ in range(3)]
    assert len(set(fresh)) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", r) for r in fresh)
    override = decide(parse_request({**body, "request_id": "req-7"}), packs=US_CA, request_id="x")
    assert override.request_id == "x"
