"""Fast structural validation of FHIR R4 resources, for bulk NDJSON.

Full validation with ``fhir.resources`` checks every element of the specification but runs at
several hundred resources per second here. This checks what the mapping relies on, at tens of
thousands per second: the resource's required elements (R4 cardinality 1..) are present, every
element the mapping reads has the right JSON shape (object, array, string, positive integer,
number), and dates and codes are well formed. Elements the mapping ignores are not checked.
Choose it with ``--fhir-validation structure``.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

_DATE = re.compile(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
_DATETIME = re.compile(
    r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01])"
    r"(T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)(\.\d+)?(Z|[+-]\d\d:\d\d))?)?)?$"
)
_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")

# element -> (shape, required). Shapes: obj, list, str, id, date, datetime, or a tuple of codes.
_COMMON = {"id": ("id", True), "extension": ("list", False), "identifier": ("list", False)}
SHAPES: dict[str, dict[str, tuple[Any, bool]]] = {
    "Patient": _COMMON
    | {
        "name": ("list", False),
        "telecom": ("list", False),
        "gender": (("male", "female", "other", "unknown"), False),
        "birthDate": ("date", False),
        "address": ("list", False),
        "photo": ("list", False),
        "communication": ("list", False),
    },
    "Claim": _COMMON
    | {
        "status": ("str", True),
        "type": ("obj", True),
        "use": ("str", True),
        "patient": ("obj", True),
        "created": ("datetime", True),
        "provider": ("obj", True),
        "priority": ("obj", True),
        "insurance": ("list", True),
        "facility": ("obj", False),
        "diagnosis": ("list", False),
        "item": ("list", False),
        "billablePeriod": ("obj", False),
    },
    "ExplanationOfBenefit": _COMMON
    | {
        "status": ("str", True),
        "type": ("obj", True),
        "use": ("str", True),
        "patient": ("obj", True),
        "created": ("datetime", True),
        "insurer": ("obj", True),
        "provider": ("obj", True),
        "outcome": ("str", True),
        "insurance": ("list", True),
        "facility": ("obj", False),
        "diagnosis": ("list", False),
        "item": ("list", False),
        "billablePeriod": ("obj", False),
    },
    "Encounter": _COMMON
    | {
        "status": ("str", True),
        "class": ("obj", True),
        "subject": ("obj", False),
        "period": ("obj", False),
        "participant": ("list", False),
        "diagnosis": ("list", False),
        "serviceProvider": ("obj", False),
        "type": ("list", False),
    },
    "Condition": _COMMON
    | {
        "subject": ("obj", True),
        "code": ("obj", False),
        "encounter": ("obj", False),
        "recordedDate": ("datetime", False),
        "onsetDateTime": ("datetime", False),
    },
}
ITEM = {"sequence": ("posint", True), "servicedDate": ("date", False), "net": ("obj", False)}
DIAGNOSIS = {"sequence": ("posint", True), "diagnosisCodeableConcept": ("obj", False)}


def _ok(value: Any, shape: Any) -> bool:
    if isinstance(shape, tuple):
        return value in shape
    checks = {
        "obj": lambda v: isinstance(v, dict),
        "list": lambda v: isinstance(v, list),
        "str": lambda v: isinstance(v, str) and v != "",
        "id": lambda v: isinstance(v, str) and bool(_ID.match(v)),
        "date": lambda v: isinstance(v, str) and bool(_DATE.match(v)),
        "datetime": lambda v: isinstance(v, str) and bool(_DATETIME.match(v)),
        "posint": lambda v: isinstance(v, int) and not isinstance(v, bool) and v > 0,
    }
    return bool(checks[shape](value))


def _check(obj: dict[str, Any], shapes: dict[str, tuple[Any, bool]], prefix: str) -> list[str]:
    problems = []
    for element, (shape, required) in shapes.items():
        if element not in obj:
            if required:
                problems.append(f"{prefix}{element} (missing)")
        elif not _ok(obj[element], shape):
            problems.append(f"{prefix}{element} (wrong type or format)")
    return problems


def _money(item: dict[str, Any]) -> bool:
    value = (item.get("net") or {}).get("value")
    return value is None or (isinstance(value, int | Decimal) and not isinstance(value, bool))


def structure_problems(resource: dict[str, Any], kind: str) -> list[str]:
    """Problems found in one resource (element paths and kinds of problem, never values)."""
    problems = _check(resource, SHAPES[kind], "")
    for part, shapes in (("item", ITEM), ("diagnosis", DIAGNOSIS)):
        entries = resource.get(part)
        if kind in ("Claim", "ExplanationOfBenefit") and isinstance(entries, list):
            for i, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    problems.append(f"{part}.{i} (wrong type or format)")
                    continue
                problems += _check(entry, shapes, f"{part}.{i}.")
                if part == "item" and not _money(entry):
                    problems.append(f"item.{i}.net.value (wrong type or format)")
    return problems
