"""Policy packs: loading, validation against the Cedar schema, and the cached policy sets.

A pack is a ``.cedar`` file under ``policy/packs/`` (or, for ``medicaid-order``, Cedar generated
from a court-ordered field allow-list in YAML). Every policy must carry ``@id``, ``@citation`` and
``@reason`` annotations; ids are unique across packs. A *bundle* is the union of the chosen packs
as ONE Cedar policy set: Cedar's "forbid beats permit" is exactly "the more protective answer
wins". Bundles are parsed once and cached per tuple of pack names.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import cedarpy
import yaml

from healthwall.errors import ConfigError
from healthwall.model.codes import (
    CLINICAL_ELEMENTS,
    IDENTIFYING_ELEMENTS,
    INTRINSIC_LABELS,
    LOCATION_ELEMENTS,
    RECORD_LABELS,
    Element,
    Label,
    RequesterKind,
)

PACK_DIR = Path(str(resources.files("healthwall.policy"))) / "packs"
REQUIRED_ANNOTATIONS = ("id", "citation", "reason")


@dataclass(frozen=True)
class Rule:
    """One Cedar policy with its annotations and parsed body (Cedar JSON AST)."""

    id: str
    pack: str
    effect: str  # "permit" | "forbid"
    citation: str
    reason: str
    actions: frozenset[str]  # the actions it applies to: {"disclose", "release"} or {"release"}
    ast: dict[str, Any] = field(compare=False, hash=False, repr=False)


@dataclass(frozen=True)
class Bundle:
    """The chosen packs as one parsed, validated policy set, with static entities."""

    packs: tuple[str, ...]
    rules: dict[str, Rule]
    policy_set: Any  # cedarpy.PolicySet
    schema: Any  # cedarpy.Schema
    entities: Any  # cedarpy.Entities
    default_citation: str
    default_text: str


@cache
def config() -> dict[str, Any]:
    """packs.yaml: pack metadata, jurisdictions, default-deny reasons."""
    raw = yaml.safe_load((PACK_DIR / "packs.yaml").read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or "packs" not in raw or "jurisdictions" not in raw:
        raise ConfigError("policy/packs/packs.yaml is invalid", field="packs")
    return raw


def known_packs() -> list[str]:
    return list(config()["packs"])


def jurisdictions() -> dict[str, list[str]]:
    return {str(k): list(v) for k, v in config()["jurisdictions"].items()}


def packs_for(jurisdiction: str | None) -> tuple[str, ...]:
    """The packs a custodian in ``jurisdiction`` uses (the configured default when None)."""
    code = (jurisdiction or config()["default_jurisdiction"]).upper()
    table = jurisdictions()
    if code not in table:
        raise ConfigError(
            f"unknown jurisdiction (known: {', '.join(sorted(table))})", field="jurisdiction"
        )
    return tuple(table[code])


@cache
def schema_text() -> str:
    return (PACK_DIR / "schema.cedarschema").read_text(encoding="utf-8")


@cache
def _schema() -> Any:
    return cedarpy.Schema.from_str(schema_text())


def pack_text(name: str) -> str:
    """The Cedar text of one pack."""
    meta = config()["packs"].get(name)
    if meta is None:
        raise ConfigError(f"unknown policy pack '{name}'", field="packs")
    if meta.get("generated_from"):
        return allow_list_cedar(_load_yaml(PACK_DIR / meta["generated_from"]))
    path = PACK_DIR / f"{name}.cedar"
    if not path.is_file():
        raise ConfigError(f"policy pack '{name}' has no file {path.name}", field="packs")
    return path.read_text(encoding="utf-8")


def _load_yaml(path: Path) -> dict[str, Any]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ConfigError(f"{path.name} is not a mapping", field=path.name)
    return raw


def _cedar_set(values: list[str]) -> str:
    return "[" + ", ".join(json.dumps(str(v)) for v in values) + "]"


def allow_list_cedar(cfg: dict[str, Any]) -> str:
    """Cedar for a court-ordered field allow-list (medicaid-order.yaml).

    Listed fields are permitted for one patient but always go to review; the rest is denied.
    """
    try:
        pid, citation, review = str(cfg["id"]), str(cfg["citation"]), str(cfg["review_reason"])
        kinds = [RequesterKind(k).value for k in cfg["requester_kinds"]]
        purposes = [str(p) for p in cfg["purposes"]]
        allowed = [Element(e).value for e in cfg["allowed_elements"]]
    except (KeyError, ValueError, TypeError) as exc:
        raise ConfigError(
            f"allow-list configuration is invalid ({exc})", field="allow-list"
        ) from None
    who = (
        f"({_cedar_set(kinds)}.contains(principal.kind) ||"
        f" {_cedar_set(purposes)}.contains(context.purpose))"
    )
    fields = _cedar_set(allowed)
    cite = json.dumps(citation)
    return f"""
@id("{pid}-allow-list")
@citation({cite})
@reason("The order allows only these fields, of one person at a time.")
permit (principal, action in Action::"disclose", resource)
when {{ {who} && context.scope == "single-patient" && {fields}.contains(resource.code) }};

@id("{pid}-outside-allow-list")
@citation({cite})
@reason("Every field outside the order's allow-list stays blocked.")
forbid (principal, action, resource)
when {{ {who} && !{fields}.contains(resource.code) }};

@id("{pid}-lawful-status-review")
@citation({cite})
@reason({json.dumps(review)})
forbid (principal, action == Action::"release", resource)
when {{ {who} }};
"""


def _rules_of(pack: str, text: str) -> list[Rule]:
    try:
        parsed = json.loads(cedarpy.policies_to_json_str(text))
    except (ValueError, RuntimeError) as exc:
        raise ConfigError(f"policy pack '{pack}' does not parse: {exc}", field="packs") from None
    rules = []
    for key, policy in parsed["staticPolicies"].items():
        notes = policy.get("annotations", {})
        missing = [a for a in REQUIRED_ANNOTATIONS if not notes.get(a)]
        if missing:
            raise ConfigError(
                f"policy {key} of pack '{pack}' lacks @{', @'.join(missing)}", field="packs"
            )
        rules.append(
            Rule(
                id=notes["id"],
                pack=pack,
                effect=policy["effect"],
                citation=notes["citation"],
                reason=notes["reason"],
                actions=_actions(policy["action"], notes["id"]),
                ast=policy,
            )
        )
    return rules


def _actions(scope: dict[str, Any], rule_id: str) -> frozenset[str]:
    op = scope.get("op")
    if op == "All" or (op == "in" and scope["entity"]["id"] == "disclose"):
        return frozenset({"disclose", "release"})
    if op == "==" and scope["entity"]["id"] in ("disclose", "release"):
        return frozenset({scope["entity"]["id"]})
    raise ConfigError(f"policy {rule_id}: unsupported action scope", field="packs")


def _validate(pack: str, text: str) -> None:
    result = cedarpy.validate_policies(text, _schema())
    if not result.validation_passed:
        errors = "; ".join(str(e) for e in getattr(result, "errors", []))[:500]
        raise ConfigError(f"policy pack '{pack}' fails the schema: {errors}", field="packs")


def _entities() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"uid": {"type": "Requester", "id": k.value}, "attrs": {"kind": k.value}, "parents": []}
        for k in RequesterKind
    ]
    for element in Element:
        for label in resource_labels(element):
            out.append(
                {
                    "uid": {"type": "Element", "id": resource_id(element, label)},
                    "attrs": element_attrs(element, label),
                    "parents": [],
                }
            )
    return out


def resource_labels(element: Element) -> tuple[Label | None, ...]:
    """The record labels an element is evaluated under: none, plus each record label if clinical."""
    if element in CLINICAL_ELEMENTS:
        return (None, *RECORD_LABELS)
    return (None,)


def resource_id(element: Element, label: Label | None) -> str:
    return element.value if label is None else f"{element.value}|{label.value}"


def element_attrs(element: Element, label: Label | None) -> dict[str, Any]:
    """Attributes of the Element entity (see schema.cedarschema)."""
    labels = set(INTRINSIC_LABELS.get(element, frozenset()))
    if label is not None:
        labels.add(label)
    return {
        "code": element.value,
        "labels": sorted(lbl.value for lbl in labels),
        "location": element in LOCATION_ELEMENTS,
        "identifying": element in IDENTIFYING_ELEMENTS,
        "clinical": element in CLINICAL_ELEMENTS,
    }


@cache
def _static_entities() -> Any:
    return cedarpy.Entities.from_json_str(json.dumps(_entities()), schema=_schema())


@cache
def bundle(packs: tuple[str, ...]) -> Bundle:
    """Parse, validate and combine the packs into one cached policy set."""
    if not packs:
        raise ConfigError("no policy packs selected", field="packs")
    rules: dict[str, Rule] = {}
    static: dict[str, Any] = {}
    for pack in packs:
        text = pack_text(pack)
        _validate(pack, text)
        for rule in _rules_of(pack, text):
            if rule.id in rules:
                raise ConfigError(f"policy id '{rule.id}' is defined twice", field="packs")
            rules[rule.id] = rule
            static[rule.id] = rule.ast
    policy_set = cedarpy.PolicySet.from_json_str(
        json.dumps({"staticPolicies": static, "templates": {}, "templateLinks": []})
    )
    citation, text = _default_deny(packs[0])
    return Bundle(
        packs=packs,
        rules=rules,
        policy_set=policy_set,
        schema=_schema(),
        entities=_static_entities(),
        default_citation=citation,
        default_text=text,
    )


def _default_deny(first_pack: str) -> tuple[str, str]:
    table = config()["default_deny"]
    entry = table.get(first_pack) or table["*"]
    return str(entry["citation"]), str(entry["text"])


def parse_packs(spec: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list (or sequence) of pack names, checked against packs.yaml."""
    names = [p.strip() for p in spec.split(",")] if isinstance(spec, str) else list(spec)
    names = [n for n in names if n]
    for name in names:
        if name not in config()["packs"]:
            raise ConfigError(f"unknown policy pack '{name}'", field="packs")
    return tuple(dict.fromkeys(names))
