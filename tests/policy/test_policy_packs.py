"""Each pack's rules, deciding, with their citations (and every rule of every pack exercised)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any

import pytest
from policy_fixtures import ice, request

from healthwall.model.request import parse_request
from healthwall.policy import decide
from healthwall.policy.packs import bundle, known_packs

US_CA = ("hipaa", "part2", "us-ca", "firewall")
US_TX = ("hipaa", "part2", "firewall")
DE = ("gdpr-art9", "de-aufenthg-88", "firewall")


@dataclass
class Case:
    id: str
    packs: tuple[str, ...]
    request: dict[str, Any]
    decision: str
    released: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)  # rule ids that must appear among the reasons
    citation: str = ""  # a citation that must appear
    withheld_labels: set[str] = field(default_factory=set)


def _le(instrument: str, elements: list[str], **kw: Any) -> dict[str, Any]:
    basis = {"instrument": instrument, **kw.pop("basis", {})}
    return request(legal_basis=basis, elements=elements, **kw)


def _kind(kind: str, purpose: str, instrument: str, elements: list[str], **kw: Any) -> dict:
    return request(
        requester={"id": f"{kind}-1", "name": kind.title(), "kind": kind},
        purpose=purpose,
        legal_basis={"instrument": instrument, **kw.pop("basis", {})},
        elements=elements,
        **kw,
    )


def _aggregate(kind: str, purpose: str, geography: str) -> dict[str, Any]:
    return _kind(
        kind,
        purpose,
        "none",
        [],
        scope={"kind": "aggregate", "aggregate": {"template": "visits", "geography": geography}},
    )


COHORT = {"kind": "cohort", "cohort": {"description": "all patients", "size": 500}}

CASES = [
    # --- hipaa ------------------------------------------------------------------------------
    Case(
        "f2-bare-request-only-f2-elements",
        US_TX,
        request(elements=["name", "address", "dna", "dental", "diagnoses"]),
        "permit",
        {"name", "address"},
        {"hipaa-f2-identification", "hipaa-f2-never-dna-dental", "default-deny"},
        "45 CFR 164.512(f)(2)(ii)",
    ),
    Case(
        "f2-without-identify-condition-denied",
        US_TX,
        _le("none", ["name"]),
        "deny",
        set(),
        {"default-deny"},
        "45 CFR 164.502(a)",
    ),
    Case(
        "f1-judicial-warrant",
        US_TX,
        _le("judicial-warrant", ["name", "dna"]),
        "permit",
        {"name", "dna"},
        {"hipaa-f1-judicial-process"},
        "164.512(f)(1)(ii)(A)",
    ),
    Case(
        "f1-grand-jury",
        US_TX,
        _le("grand-jury-subpoena", ["name", "claims"]),
        "permit",
        {"name", "claims"},
        {"hipaa-f1-grand-jury"},
        "164.512(f)(1)(ii)(B)",
        {"SUD", "HIV", "MH"},
    ),
    Case(
        "f1-administrative-three-part-test",
        US_TX,
        _le(
            "administrative-subpoena",
            ["name"],
            basis={
                "conditions": [
                    "relevant-and-material",
                    "specific-and-limited",
                    "deidentified-insufficient",
                ]
            },
        ),
        "permit",
        {"name"},
        {"hipaa-f1-administrative"},
        "164.512(f)(1)(ii)(C)",
    ),
    Case(
        "f1-administrative-missing-condition",
        US_TX,
        _le(
            "administrative-subpoena",
            ["name"],
            basis={"conditions": ["relevant-and-material", "specific-and-limited"]},
        ),
        "deny",
        set(),
        {"default-deny"},
    ),
    Case(
        "minimum-necessary-named-elements",
        US_TX,
        _le("court-order", ["name", "phone"], basis={"elements": ["name"]}),
        "permit",
        {"name"},
        {"hipaa-minimum-necessary"},
        "164.502(b)",
    ),
    Case(
        "treatment",
        US_TX,
        _kind("provider", "TREAT", "none", ["diagnoses", "medications"]),
        "permit",
        {"diagnoses", "medications"},
        {"hipaa-treatment"},
        "164.506(c)",
    ),
    Case(
        "payment",
        US_TX,
        _kind("payer", "HPAYMT", "none", ["claims"]),
        "permit",
        {"claims"},
        {"hipaa-payment"},
    ),
    Case(
        "operations",
        US_TX,
        _kind("payer", "HOPERAT", "none", ["claims"]),
        "permit",
        {"claims"},
        {"hipaa-operations"},
    ),
    Case(
        "patient-access",
        US_TX,
        _kind("patient", "PATRQT", "none", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"hipaa-patient-access"},
        "45 CFR 164.524",
    ),
    Case(
        "authorization",
        US_TX,
        _kind("other-agency", "GOV", "patient-authorization", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"hipaa-authorization"},
        "45 CFR 164.508",
    ),
    Case(
        "public-health-aggregate",
        US_TX,
        _aggregate("public-health", "PUBHLTH", "zip3"),
        "permit",
        {"counts"},
        {"hipaa-public-health", "hipaa-deidentified-aggregate"},
    ),
    Case(
        "oversight",
        US_TX,
        _kind("oversight", "HCOMPL", "none", ["claims"]),
        "permit",
        {"claims"},
        {"hipaa-oversight"},
        "164.512(d)",
    ),
    Case(
        "research-limited-data-set",
        US_TX,
        _kind("researcher", "HRESCH", "data-use-agreement", ["name", "diagnoses"], scope=COHORT),
        "permit",
        {"diagnoses"},
        {"hipaa-limited-data-set"},
        "164.514(e)",
    ),
    Case(
        "judicial-order",
        US_TX,
        _kind("court", "HLEGAL", "court-order", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"hipaa-judicial-order"},
        "164.512(e)(1)(i)",
    ),
    Case(
        "judicial-subpoena-needs-review",
        US_TX,
        _kind(
            "court",
            "HLEGAL",
            "judicial-subpoena",
            ["name"],
            basis={"conditions": ["satisfactory-assurance"]},
        ),
        "review",
        {"name"},
        {"hipaa-judicial-subpoena", "hipaa-judicial-subpoena-review"},
    ),
    Case(
        "serious-threat-review",
        US_TX,
        _kind("provider", "THREAT", "none", ["name"]),
        "review",
        {"name"},
        {"hipaa-serious-threat", "hipaa-serious-threat-review"},
    ),
    Case(
        "required-by-law-review",
        US_TX,
        _kind("other-agency", "GOV", "statute", ["name"]),
        "review",
        {"name"},
        {"hipaa-required-by-law", "hipaa-required-by-law-review"},
    ),
    # --- part2 ------------------------------------------------------------------------------
    Case(
        "part2-judicial-subpoena-withholds-sud",
        US_TX,
        _le("judicial-subpoena", ["diagnoses", "name"]),
        "permit",
        {"diagnoses", "name"},
        {"part2-2.65-enforcement"},
        "42 CFR 2.12(d)(1), 2.65",
        {"SUD", "ETH"},
    ),
    Case(
        "part2-court-order-releases-sud",
        US_TX,
        _le("part2-court-order", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"hipaa-f1-judicial-process"},
    ),
    Case(
        "part2-consent-to-payer",
        US_TX,
        _kind("payer", "HPAYMT", "none", ["claims"]),
        "permit",
        {"claims"},
        {"part2-consent"},
        "42 CFR 2.13(a)",
        {"SUD"},
    ),
    # --- us-ca ------------------------------------------------------------------------------
    Case(
        "ca-ice-administrative-warrant",
        US_CA,
        ice("administrative-warrant", ["name"], ["name"]),
        "deny",
        set(),
        {"us-ca-sb81-judicial-instrument"},
        "SB 81",
    ),
    Case(
        "ca-ice-judicial-warrant-named-only",
        US_CA,
        ice("judicial-warrant", ["name", "date-of-birth", "phone"], ["name", "date-of-birth"]),
        "review",
        {"name", "date-of-birth"},
        {"us-ca-sb81-human-review"},
        "SB 81",
    ),
    Case(
        "ca-place-of-birth-protected",
        US_CA,
        request(elements=["name", "place-of-birth"]),
        "permit",
        {"name"},
        {"us-ca-sb81-immigration-information"},
        "§ 56.05",
    ),
    # --- us-il ------------------------------------------------------------------------------
    Case(
        "il-no-immigration-status",
        ("hipaa", "part2", "us-il", "firewall"),
        _le(
            "judicial-warrant",
            ["immigration-status", "name"],
            requester={
                "id": "pd",
                "name": "PD",
                "kind": "law-enforcement",
                "agent": {"name": "A", "agency": "PD", "badge": "7"},
            },
        ),
        "permit",
        {"name"},
        {"us-il-no-immigration-status"},
        "210 ILCS 85/6.14h",
    ),
    Case(
        "il-unverified-agent-review",
        ("hipaa", "part2", "us-il", "firewall"),
        _le("judicial-warrant", ["name"]),
        "review",
        {"name"},
        {"us-il-verify-agent"},
    ),
    # --- us-wa ------------------------------------------------------------------------------
    Case(
        "wa-sale-needs-authorization",
        ("hipaa", "us-wa"),
        _kind("data-broker", "data-sale", "none", ["claims"]),
        "deny",
        set(),
        {"us-wa-mhmda-sale"},
        "RCW 19.373.070",
    ),
    # --- uk-mou-2018 ------------------------------------------------------------------------
    Case(
        "uk-criteria-met",
        ("gdpr-art9", "uk-mou-2018"),
        ice("none", ["name", "address", "diagnoses"])
        | {"legal_basis": {"instrument": "none", "conditions": ["serious-crime"]}},
        "permit",
        {"name", "address"},
        {"uk-mou-trace", "uk-mou-elements"},
        "narrowed 9 May 2018",
    ),
    Case(
        "uk-criteria-unmet",
        ("gdpr-art9", "uk-mou-2018"),
        ice("none", ["name"]),
        "deny",
        set(),
        {"uk-mou-narrowed-criteria"},
    ),
    Case(
        "gb-firewall-blocks-tracing-without-judge",
        ("gdpr-art9", "uk-mou-2018", "firewall"),
        ice("none", ["name"])
        | {"legal_basis": {"instrument": "none", "conditions": ["serious-crime"]}},
        "deny",
        set(),
        {"firewall-immigration-judicial-instrument"},
    ),
    # --- de-aufenthg-88 ---------------------------------------------------------------------
    Case(
        "de-no-data-to-immigration",
        ("gdpr-art9", "de-aufenthg-88"),
        ice("court-order", ["name"]),
        "deny",
        set(),
        {"de-aufenthg-88-protected"},
        "AufenthG § 88",
    ),
    Case(
        "de-public-health-danger-exception",
        ("gdpr-art9", "de-aufenthg-88"),
        ice("court-order", ["name"])
        | {"legal_basis": {"instrument": "court-order", "conditions": ["public-health-danger"]}},
        "review",
        {"name"},
        {"de-aufenthg-88-exception", "de-aufenthg-88-exception-review"},
    ),
    # --- gdpr-art9 --------------------------------------------------------------------------
    Case(
        "gdpr-care",
        ("gdpr-art9",),
        _kind("provider", "TREAT", "none", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"gdpr-art9-care"},
        "Art. 9(2)(h)",
    ),
    Case(
        "gdpr-access",
        ("gdpr-art9",),
        _kind("patient", "PATRQT", "none", ["name"]),
        "permit",
        {"name"},
        {"gdpr-art15-access"},
    ),
    Case(
        "gdpr-consent",
        ("gdpr-art9",),
        _kind("researcher", "HRESCH", "patient-authorization", ["name"]),
        "permit",
        {"name"},
        {"gdpr-art9-consent"},
    ),
    Case(
        "gdpr-public-health",
        ("gdpr-art9",),
        _kind("public-health", "PUBHLTH", "none", ["name"]),
        "permit",
        {"name"},
        {"gdpr-art9-public-health"},
    ),
    Case(
        "gdpr-anonymous-aggregate",
        ("gdpr-art9",),
        _aggregate("researcher", "HRESCH", "state"),
        "permit",
        {"counts"},
        {"gdpr-recital26-anonymous-aggregate"},
        "Recital 26",
    ),
    Case(
        "gdpr-default-deny",
        ("gdpr-art9",),
        _kind("data-broker", "HMARKT", "none", ["name"]),
        "deny",
        set(),
        {"default-deny"},
        "GDPR Art. 9(1)",
    ),
    # --- medicaid-order ---------------------------------------------------------------------
    Case(
        "medicaid-order-allow-list-review",
        ("hipaa", "medicaid-order"),
        ice("court-order", ["immigration-status", "diagnoses"]),
        "review",
        {"immigration-status"},
        {
            "medicaid-order-allow-list",
            "medicaid-order-lawful-status-review",
            "medicaid-order-outside-allow-list",
        },
        "3:25-cv-05536",
    ),
    # --- firewall ---------------------------------------------------------------------------
    Case(
        "firewall-ice-needs-named-elements",
        US_TX,
        ice("judicial-warrant", ["name"]),
        "deny",
        set(),
        {"firewall-immigration-named-elements"},
    ),
    Case(
        "firewall-ice-never-address",
        US_TX,
        ice("judicial-warrant", ["address", "name"], ["address", "name"]),
        "permit",
        {"name"},
        {"firewall-immigration-no-location"},
    ),
    Case(
        "firewall-enforcement-no-cohort",
        US_TX,
        _le("court-order", ["name"], scope=COHORT),
        "deny",
        set(),
        {"firewall-enforcement-no-bulk"},
    ),
    Case(
        "firewall-enforcement-no-small-area",
        ("hipaa", "firewall"),
        _aggregate("law-enforcement", "law-enforcement", "county")
        | {"legal_basis": {"instrument": "court-order"}},
        "deny",
        set(),
        {"firewall-enforcement-no-small-area"},
    ),
    Case(
        "firewall-no-data-sale",
        US_TX,
        _kind("payer", "data-sale", "patient-authorization", ["claims"]),
        "deny",
        set(),
        {"firewall-no-data-sale"},
    ),
    Case(
        "firewall-broker-buying-claims",
        US_TX,
        _kind("data-broker", "HMARKT", "patient-authorization", ["claims", "blood-type"]),
        "permit",
        {"blood-type"},
        {"firewall-broker-no-identified-data"},
    ),
    Case(
        "firewall-sud-enforcement-everywhere",
        DE,
        _le("patient-authorization", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"firewall-sud-enforcement"},
        "42 CFR 2.12(d)",
        {"SUD", "ETH"},
    ),
    Case(
        "firewall-sensitive-records",
        US_TX,
        _le("grand-jury-subpoena", ["diagnoses"]),
        "permit",
        {"diagnoses"},
        {"firewall-sensitive-records"},
        "",
        {"HIV", "MH", "PSY", "REPRO", "SEX", "PREGNANT", "STD", "SDV"},
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_rule_decides_with_citation(case: Case) -> None:
    decision = decide(parse_request(case.request), packs=case.packs)
    assert decision.decision.value == case.decision
    assert {e.value for e in decision.released} == case.released
    requested = {e.value for e in parse_request(case.request).requested()}
    assert {e.value for e in decision.withheld} == requested - case.released
    ids = {r.policy for r in decision.reasons}
    assert case.rules <= ids, f"missing {case.rules - ids}"
    if case.citation:
        assert any(case.citation in r.citation for r in decision.reasons)
    assert case.withheld_labels <= {lbl.value for lbl in decision.withheld_labels}
    assert all(r.citation and r.text for r in decision.reasons)


def test_every_rule_of_every_pack_is_shown_deciding() -> None:
    shown = set().union(*(c.rules for c in CASES))
    for pack in known_packs():
        missing = set(bundle((pack,)).rules) - shown
        assert not missing, f"pack {pack}: no test shows {sorted(missing)} deciding"


def test_ice_administrative_warrant_in_california_is_never_permitted() -> None:
    for elements in (["name"], ["address"], ["immigration-status"], ["diagnoses"]):
        d = decide(parse_request(ice("administrative-warrant", elements, elements)), packs=US_CA)
        assert d.decision.value == "deny"
        assert any("SB 81" in r.citation for r in d.reasons)


def test_evaluation_error_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fault injection: Cedar raising mid-decision must deny, never permit."""
    decide_module = importlib.import_module("healthwall.policy.decide")
    decide_module.clear_cache()

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise RuntimeError("cedar is down")

    monkeypatch.setattr(decide_module.cedarpy, "is_authorized_batch", broken)
    d = decide(parse_request(request()), packs=US_TX)
    assert d.decision.value == "deny"
    assert [r.policy for r in d.reasons] == ["policy-evaluation-error"]
    assert d.released == []
