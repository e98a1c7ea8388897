"""Typed requests and decisions: clear errors naming the field, every code documented."""

from __future__ import annotations

import json

import pytest
from policy_fixtures import request

from healthwall.errors import InvalidInput, UnknownCode
from healthwall.model import codes
from healthwall.model.request import load_request, parse_request


def test_a_valid_request_round_trips() -> None:
    req = parse_request(request())
    assert req.requested() == (codes.Element.NAME, codes.Element.ADDRESS)
    assert parse_request(req.model_dump(mode="json")) == req


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("requester", "kind"), "space-alien", "requester.kind"),
        (("purpose",), "CURIOSITY", "purpose"),
        (("legal_basis", "instrument"), "pinky-promise", "legal_basis.instrument"),
        (("elements",), ["name", "soul"], "elements.1"),
        (("legal_basis", "conditions"), ["because"], "legal_basis.conditions.0"),
        (("scope", "kind"), "everyone", "scope.kind"),
    ],
)
def test_unknown_codes_name_the_field(path: tuple[str, ...], value: object, field: str) -> None:
    raw = request()
    target = raw
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(UnknownCode) as err:
        parse_request(raw)
    assert err.value.field == field
    assert field in err.value.message
    assert str(value) not in err.value.message.replace(field, "")


def test_missing_fields_and_unknown_fields_are_collected() -> None:
    raw = request()
    del raw["purpose"]
    raw["requester"]["favourite_colour"] = "blue"
    with pytest.raises(InvalidInput) as err:
        parse_request(raw)
    assert "purpose: field required" in err.value.message
    assert "requester.favourite_colour: unknown field" in err.value.message


def test_malformed_json_is_invalid_input() -> None:
    with pytest.raises(InvalidInput) as err:
        load_request(b"{not json")
    assert err.value.field == "request"
    assert err.value.status == 422


def test_identifier_values_never_appear_in_errors() -> None:
    raw = request(scope={"kind": "single-patient", "patient": {"first_name": "Zebulon"}})
    with pytest.raises(InvalidInput) as err:
        parse_request(raw)
    assert "Zebulon" not in err.value.message
    assert "scope.patient" in err.value.message


def test_single_patient_needs_a_unique_identifier_or_name_and_birth_date() -> None:
    ok = {"first_name": "A", "last_name": "B", "birth_date": "2000-01-01"}
    parse_request(request(scope={"kind": "single-patient", "patient": ok}))
    with pytest.raises(InvalidInput):
        parse_request(request(scope={"kind": "single-patient", "patient": {"last_name": "B"}}))


def test_scope_parts_must_match_the_scope_kind() -> None:
    with pytest.raises(InvalidInput):
        parse_request(request(scope={"kind": "cohort", "patient": {"mrn": "M1"}}))
    with pytest.raises(InvalidInput):
        parse_request(request(scope={"kind": "aggregate"}, elements=[]))
    with pytest.raises(InvalidInput):
        parse_request(request(elements=["counts"]))


def test_every_code_is_documented() -> None:
    pairs = [
        (codes.RequesterKind, codes.REQUESTER_KIND_DOCS),
        (codes.Purpose, codes.PURPOSE_DOCS),
        (codes.Instrument, codes.INSTRUMENT_DOCS),
        (codes.Condition, codes.CONDITION_DOCS),
        (codes.ScopeKind, codes.SCOPE_DOCS),
        (codes.Geography, codes.GEOGRAPHY_DOCS),
        (codes.Element, codes.ELEMENT_DOCS),
        (codes.Label, codes.LABEL_DOCS),
        (codes.Obligation, codes.OBLIGATION_DOCS),
        (codes.Outcome, codes.OUTCOME_DOCS),
    ]
    for enum, docs in pairs:
        assert set(docs) == set(enum), enum.__name__
        assert all(len(text) > 10 for text in docs.values())


def test_local_purposes_map_to_hl7() -> None:
    local = {codes.Purpose.LAW_ENFORCEMENT, codes.Purpose.IMMIGRATION_ENFORCEMENT}
    assert local | {codes.Purpose.DATA_SALE} == set(codes.PURPOSE_HL7)
    assert all(v.value.isupper() for v in codes.PURPOSE_HL7.values())


def test_decision_json_shape() -> None:
    from healthwall.policy import decide

    body = decide(parse_request(request()), jurisdiction="US-TX").to_json()
    assert set(body) >= {
        "request_id",
        "decision",
        "reasons",
        "released",
        "withheld",
        "obligations",
        "ledger",
    }
    assert json.loads(json.dumps(body)) == body
    assert all(set(r) == {"policy", "citation", "text"} for r in body["reasons"])


def test_unknown_jurisdiction_or_pack_is_a_config_error() -> None:
    from healthwall.errors import ConfigError
    from healthwall.policy import decide

    req = parse_request(request())
    with pytest.raises(ConfigError) as err:
        decide(req, jurisdiction="XX")
    assert err.value.field == "jurisdiction"
    with pytest.raises(ConfigError) as err:
        decide(req, packs="hipaa,no-such-pack")
    assert err.value.field == "packs"
