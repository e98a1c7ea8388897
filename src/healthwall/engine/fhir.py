"""Reading FHIR R4 (Bundle JSON, bulk-data NDJSON) into rows of the known tables.

Resources are validated with ``fhir.resources`` (R4B models, which accept R4 content for these
five types) and then mapped, from their JSON, to ``patients`` and ``claims`` rows. The mapping is
documented in docs/data.md ("FHIR mapping"); :mod:`healthwall.engine.fhir_export` writes the
inverse, so synthetic data round-trips. Errors name the file, the line (NDJSON) or entry (Bundle),
the resource type and the invalid element, never a value.

Parsing is per resource (JSON is a per-record format); it runs at a few thousand resources per
second. CSV and Parquet go through the engine instead.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from healthwall.data.icd10 import sensitivity_labels
from healthwall.engine import fhir_codes as fc
from healthwall.engine.fhir_structure import structure_problems
from healthwall.errors import InvalidInput

Json = dict[str, Any]
SUPPORTED = ("Patient", "Claim", "ExplanationOfBenefit", "Encounter", "Condition")


@dataclass
class FhirRows:
    """Rows for the known tables, from one or more FHIR files."""

    patients: list[Json] = field(default_factory=list)
    claims: list[Json] = field(default_factory=list)
    resources: dict[str, int] = field(default_factory=dict)


def is_fhir(path: Path) -> bool:
    """Whether a file is FHIR by its name (.json, .ndjson, optionally gzipped)."""
    return path.name.lower().removesuffix(".gz").endswith((".json", ".ndjson"))


def _open_text(path: Path) -> str:
    try:
        if path.name.lower().endswith(".gz"):
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                return fh.read()
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise InvalidInput(f"{path.name}: cannot read ({type(exc).__name__})") from None


def iter_resources(path: Path) -> Iterator[tuple[str, Json]]:
    """(location, resource) of every resource of a Bundle/resource JSON or NDJSON file."""
    text = _open_text(path)
    if path.name.lower().removesuffix(".gz").endswith(".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                yield f"line {number}", _loads(line, path, f"line {number}")
        return
    doc = _loads(text, path, "document")
    if doc.get("resourceType") != "Bundle":
        yield "resource", doc
        return
    for number, entry in enumerate(doc.get("entry") or [], start=1):
        resource = entry.get("resource") if isinstance(entry, dict) else None
        if not isinstance(resource, dict):
            raise InvalidInput(f"{path.name}: entry {number}: no resource")
        yield f"entry {number}", resource


def _loads(text: str, path: Path, where: str) -> Json:
    try:
        value = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{path.name}: {where}: not valid JSON (column {exc.colno})") from None
    if not isinstance(value, dict) or "resourceType" not in value:
        raise InvalidInput(f"{path.name}: {where}: not a FHIR resource (no resourceType)")
    return value


def validate(resource: Json, path: Path, where: str, mode: str = "full") -> str:
    """Validate one resource: always the elements the mapping reads (ids, required elements,
    shapes, dates: :mod:`healthwall.engine.fhir_structure`), and in ``full`` mode also its
    fhir.resources model. Return its type."""
    kind = resource.get("resourceType")
    if kind not in SUPPORTED:
        raise InvalidInput(
            f"{path.name}: {where}: unsupported resource type {str(kind)[:40]!r} "
            f"(supported: {', '.join(SUPPORTED)})"
        )
    found = structure_problems(resource, str(kind))  # cheap; full mode checks both
    if found:
        raise InvalidInput(f"{path.name}: {where}: invalid FHIR R4 {kind}: " + "; ".join(found[:5]))
    if mode == "structure":
        return str(kind)
    try:
        fc.model_of(kind).model_validate(resource)
    except ValidationError as exc:
        problems = sorted(
            {f"{'.'.join(str(p) for p in e['loc'])} ({e['type']})" for e in exc.errors()}
        )
        raise InvalidInput(
            f"{path.name}: {where}: invalid FHIR R4 {kind}: " + "; ".join(problems[:5])
        ) from None
    return str(kind)


VALIDATION_MODES = ("full", "structure")


def read_fhir(paths: list[Path], validation: str = "full") -> FhirRows:
    """Validate and map every resource of ``paths``; Encounters and Conditions are joined last."""
    if validation not in VALIDATION_MODES:
        raise InvalidInput("FHIR validation must be full or structure", field="fhir_validation")
    out = FhirRows()
    encounters: list[Json] = []
    conditions: list[Json] = []
    for path in paths:
        for where, resource in iter_resources(path):
            kind = validate(resource, path, where, validation)
            out.resources[kind] = out.resources.get(kind, 0) + 1
            if kind == "Patient":
                out.patients.append(map_patient(resource))
            elif kind in ("Claim", "ExplanationOfBenefit"):
                out.claims.extend(map_claim(resource))
            elif kind == "Encounter":
                encounters.append(resource)
            else:
                conditions.append(resource)
    out.claims.extend(map_encounters(encounters, conditions))
    return out


def _ref_id(reference: Json | None) -> str | None:
    ref = (reference or {}).get("reference")
    if not isinstance(ref, str):
        return None
    return ref.rsplit("/", 1)[-1] if "/" in ref and not ref.startswith("urn:") else ref


def _code(concept: Json | None, system: str | None = None) -> str | None:
    for coding in (concept or {}).get("coding") or []:
        if system is None or coding.get("system") == system:
            code = coding.get("code")
            return str(code) if code is not None else None
    return None


def _identifier(
    resource: Json, *, system: str | None = None, type_code: str | None = None
) -> str | None:
    for ident in resource.get("identifier") or []:
        if system is not None and ident.get("system") == system:
            return str(ident.get("value"))
        if type_code is not None and _code(ident.get("type"), fc.V2_0203) == type_code:
            return str(ident.get("value"))
    return None


def _extension(resource: Json, url: str) -> Json | None:
    for ext in resource.get("extension") or []:
        if ext.get("url") == url:
            return dict(ext)
    return None


def _ext_text(resource: Json, url: str) -> str | None:
    ext = _extension(resource, url)
    for sub in (ext or {}).get("extension") or []:
        if sub.get("url") == "text":
            return str(sub.get("valueString"))
    return None


def _telecom(resource: Json, system: str) -> str | None:
    for point in resource.get("telecom") or []:
        if point.get("system") == system:
            return str(point.get("value"))
    return None


def map_patient(p: Json) -> Json:
    """A FHIR Patient as a ``patients`` row."""
    name = (p.get("name") or [{}])[0]
    address = (p.get("address") or [{}])[0]
    birthplace = _extension(p, fc.BIRTHPLACE) or {}
    status = _extension(p, fc.IMMIGRATION_STATUS) or {}
    language = ((p.get("communication") or [{}])[0]).get("language") or {}
    return {
        "patient_id": p.get("id"),
        "mrn": _identifier(p, type_code="MR"),
        "ssn": _identifier(p, system=fc.SSN),
        "medicaid_id": _identifier(p, type_code="MA"),
        "first_name": (name.get("given") or [None])[0],
        "last_name": name.get("family"),
        "birth_date": p.get("birthDate"),
        "sex": fc.SEX_FROM_GENDER.get(p.get("gender") or ""),
        "address_line": " ".join(address.get("line") or []) or None,
        "city": address.get("city"),
        "county": address.get("district"),
        "state": address.get("state"),
        "zip": address.get("postalCode"),
        "phone": _telecom(p, "phone"),
        "email": _telecom(p, "email"),
        "race": _ext_text(p, fc.US_CORE_RACE),
        "ethnicity": _ext_text(p, fc.US_CORE_ETHNICITY),
        "language": language.get("text") or _code(language),
        "birthplace_country": (birthplace.get("valueAddress") or {}).get("country"),
        "immigration_status": _code(status.get("valueCodeableConcept")),
        "photo_ref": ((p.get("photo") or [{}])[0]).get("url"),
    }


def _diagnoses(resource: Json) -> list[str | None]:
    ordered = sorted(resource.get("diagnosis") or [], key=lambda d: d.get("sequence", 0))
    codes = [_code(d.get("diagnosisCodeableConcept"), fc.ICD10CM) for d in ordered]
    return [*codes, None, None, None][:3]


def _paid(item: Json) -> Decimal | None:
    for adj in item.get("adjudication") or []:
        if _code(adj.get("category")) in ("benefit", "paid"):
            return Decimal(str((adj.get("amount") or {}).get("value")))
    net = (item.get("net") or {}).get("value")
    return Decimal(str(net)) if net is not None else None


def map_claim(c: Json) -> list[Json]:
    """A FHIR Claim or ExplanationOfBenefit as ``claims`` rows, one per item."""
    dx = _diagnoses(c)
    provider = (c.get("provider") or {}).get("identifier") or {}
    base = {
        "claim_id": c.get("id"),
        "patient_id": _ref_id(c.get("patient")),
        "provider_npi": provider.get("value") if provider.get("system") == fc.NPI else None,
        "facility": (c.get("facility") or {}).get("display"),
        "dx1": dx[0],
        "dx2": dx[1],
        "dx3": dx[2],
        "sensitivity_labels": sensitivity_labels(dx),
    }
    fallback_date = ((c.get("billablePeriod") or {}).get("start") or c.get("created") or "")[:10]
    rows = []
    for item in c.get("item") or []:
        rows.append(
            base
            | {
                "line_number": item.get("sequence"),
                "service_date": item.get("servicedDate") or fallback_date or None,
                "place_of_service": _code(item.get("locationCodeableConcept")),
                "procedure_code": _code(item.get("productOrService")),
                "paid_amount": _paid(item),
            }
        )
    return rows


def map_encounters(encounters: list[Json], conditions: list[Json]) -> list[Json]:
    """Encounters as one-line claims with the codes of their Conditions; a Condition linked to no
    Encounter becomes a one-line claim of its own."""
    by_id = {c.get("id"): c for c in conditions}
    used: set[Any] = set()
    rows = []
    for enc in encounters:
        linked = [_ref_id(d.get("condition")) for d in enc.get("diagnosis") or []]
        linked += [c.get("id") for c in conditions if _ref_id(c.get("encounter")) == enc.get("id")]
        ids = [i for i in dict.fromkeys(linked) if i in by_id]
        used.update(ids)
        codes = ([_code(by_id[i].get("code"), fc.ICD10CM) for i in ids] + [None] * 3)[:3]
        rows.append(_encounter_row(enc, codes))
    for cond in conditions:
        if cond.get("id") not in used:
            code = _code(cond.get("code"), fc.ICD10CM)
            day = (cond.get("recordedDate") or cond.get("onsetDateTime") or "")[:10] or None
            rows.append(
                _line(cond.get("id"), _ref_id(cond.get("subject")), day, [code, None, None])
            )
    return rows


def _encounter_row(enc: Json, codes: list[str | None]) -> Json:
    day = ((enc.get("period") or {}).get("start") or "")[:10] or None
    row = _line(enc.get("id"), _ref_id(enc.get("subject")), day, codes)
    npis = [
        ((p.get("individual") or {}).get("identifier") or {}) for p in enc.get("participant") or []
    ]
    row["provider_npi"] = next((i.get("value") for i in npis if i.get("system") == fc.NPI), None)
    row["facility"] = (enc.get("serviceProvider") or {}).get("display")
    row["place_of_service"] = fc.POS_FROM_CLASS.get(str((enc.get("class") or {}).get("code")))
    row["procedure_code"] = next(
        (c for t in enc.get("type") or [] if (c := _code(t, fc.CPT)) is not None), None
    )
    return row


def _line(claim_id: Any, patient_id: str | None, day: str | None, codes: list[str | None]) -> Json:
    return {
        "claim_id": claim_id,
        "line_number": 1,
        "patient_id": patient_id,
        "service_date": day,
        "provider_npi": None,
        "facility": None,
        "place_of_service": None,
        "dx1": codes[0],
        "dx2": codes[1],
        "dx3": codes[2],
        "procedure_code": None,
        "paid_amount": None,
        "sensitivity_labels": sensitivity_labels(codes),
    }
