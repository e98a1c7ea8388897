"""Writing the known tables as FHIR R4: bulk-data NDJSON (``Patient.ndjson``, ``Claim.ndjson``)
and, optionally, one collection Bundle (``bundle.json``).

The inverse of :mod:`healthwall.engine.fhir`: ingesting the output gives back the same rows. It
exists so that tests and demos can exercise FHIR ingest with realistic data; rows are turned into
JSON one resource at a time (FHIR is a per-record format), in batches read from the engine.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from healthwall.engine import fhir_codes as fc
from healthwall.engine.duckdb import DuckDBEngine

Json = dict[str, Any]
BATCH = 50_000

CLAIMS_GROUPED = """
SELECT claim_id, any_value(patient_id) AS patient_id, any_value(provider_npi) AS provider_npi,
       any_value(facility) AS facility, any_value(dx1) AS dx1, any_value(dx2) AS dx2,
       any_value(dx3) AS dx3, min(service_date) AS created,
       list(struct_pack(line_number, service_date, place_of_service, procedure_code, paid_amount)
            ORDER BY line_number) AS items
FROM {source} GROUP BY claim_id ORDER BY claim_id
"""


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _dumps(resource: Json) -> str:
    return json.dumps(resource, default=_default, separators=(",", ":"))


def _coding(system: str, code: str | None) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def patient_resource(r: Json) -> Json:
    """A ``patients`` row as a FHIR Patient (absent values are left out, as FHIR requires)."""
    ident = [
        {"type": _coding(fc.V2_0203, "MR"), "value": r["mrn"]} if r["mrn"] else None,
        {"system": fc.SSN, "value": r["ssn"]} if r["ssn"] else None,
        {"type": _coding(fc.V2_0203, "MA"), "value": r["medicaid_id"]}
        if r["medicaid_id"]
        else None,
    ]
    telecom = [{"system": s, "value": r[s]} for s in ("phone", "email") if r[s] is not None]
    ext = [
        _text_ext(fc.US_CORE_RACE, r["race"]),
        _text_ext(fc.US_CORE_ETHNICITY, r["ethnicity"]),
        {"url": fc.BIRTHPLACE, "valueAddress": {"country": r["birthplace_country"]}}
        if r["birthplace_country"]
        else None,
        {
            "url": fc.IMMIGRATION_STATUS,
            "valueCodeableConcept": _coding(fc.IMMIGRATION_SYSTEM, r["immigration_status"]),
        }
        if r["immigration_status"]
        else None,
    ]
    address = {
        "line": [r["address_line"]] if r["address_line"] else None,
        "city": r["city"],
        "district": r["county"],
        "state": r["state"],
        "postalCode": r["zip"],
    }
    name = {"family": r["last_name"], "given": [r["first_name"]] if r["first_name"] else None}
    resource = {
        "resourceType": "Patient",
        "id": r["patient_id"],
        "extension": [e for e in ext if e],
        "identifier": [i for i in ident if i],
        "name": [_clean(name)],
        "telecom": telecom,
        "gender": fc.GENDER_FROM_SEX.get(r["sex"] or ""),
        "birthDate": r["birth_date"],
        "address": [_clean(address)],
        "photo": [{"url": r["photo_ref"]}] if r["photo_ref"] else None,
        "communication": [{"language": {"text": r["language"]}}] if r["language"] else None,
    }
    return _clean(resource)


def _text_ext(url: str, text: str | None) -> Json | None:
    return {"url": url, "extension": [{"url": "text", "valueString": text}]} if text else None


def _clean(d: Json) -> Json:
    """Drop absent (None or empty) elements: FHIR JSON has no nulls."""
    return {k: v for k, v in d.items() if v is not None and v != [] and v != {}}


def claim_resource(r: Json) -> Json:
    """One claim (its lines grouped, in line order) as a FHIR Claim."""
    dx = [c for c in (r["dx1"], r["dx2"], r["dx3"]) if c]
    items = [
        _clean(
            {
                "sequence": it["line_number"],
                "productOrService": _coding(
                    _proc_system(it["procedure_code"]), it["procedure_code"]
                ),
                "servicedDate": it["service_date"],
                "locationCodeableConcept": _coding(fc.POS, it["place_of_service"])
                if it["place_of_service"]
                else None,
                "net": {"value": it["paid_amount"], "currency": "USD"}
                if it["paid_amount"] is not None
                else None,
                "diagnosisSequence": list(range(1, len(dx) + 1)) or None,
            }
        )
        for it in r["items"]
    ]
    return _clean(
        {
            "resourceType": "Claim",
            "id": r["claim_id"],
            "status": "active",
            "type": _coding("http://terminology.hl7.org/CodeSystem/claim-type", "professional"),
            "use": "claim",
            "patient": {"reference": f"Patient/{r['patient_id']}"},
            "created": r["created"],
            "provider": {"identifier": {"system": fc.NPI, "value": r["provider_npi"]}},
            "priority": _coding("http://terminology.hl7.org/CodeSystem/processpriority", "normal"),
            "facility": {"display": r["facility"]} if r["facility"] else None,
            "diagnosis": [
                {"sequence": i, "diagnosisCodeableConcept": _coding(fc.ICD10CM, code)}
                for i, code in enumerate(dx, start=1)
            ],
            "insurance": [{"sequence": 1, "focal": True, "coverage": {"display": "coverage"}}],
            "item": items,
        }
    )


def _proc_system(code: str | None) -> str:
    return fc.HCPCS if code and code[:1].isalpha() else fc.CPT


def _resources(engine: DuckDBEngine, patients: str, claims: str) -> Iterator[Json]:
    for batch in engine.query_arrow(f"SELECT * FROM {patients}").to_batches(BATCH):
        yield from (patient_resource(r) for r in batch.to_pylist())
    for batch in engine.query_arrow(CLAIMS_GROUPED.format(source=claims)).to_batches(BATCH):
        yield from (claim_resource(r) for r in batch.to_pylist())


def export_fhir(
    engine: DuckDBEngine, patients: str, claims: str, out_dir: Path, *, bundle: bool = False
) -> dict[str, Path]:
    """Write Patient.ndjson and Claim.ndjson (and bundle.json if asked) for two relations."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with _atomic(out_dir / "Patient.ndjson") as pfh, _atomic(out_dir / "Claim.ndjson") as cfh:
        for resource in _resources(engine, patients, claims):
            fh = pfh if resource["resourceType"] == "Patient" else cfh
            fh.write(_dumps(resource) + "\n")
    written["Patient"], written["Claim"] = out_dir / "Patient.ndjson", out_dir / "Claim.ndjson"
    if bundle:
        with _atomic(out_dir / "bundle.json") as fh:
            fh.write('{"resourceType":"Bundle","type":"collection","entry":[')
            for i, resource in enumerate(_resources(engine, patients, claims)):
                prefix = "," if i else ""
                fh.write(f'{prefix}{{"fullUrl":"urn:healthwall:{resource["resourceType"]}:')
                fh.write(f'{resource["id"]}","resource":{_dumps(resource)}}}')
            fh.write("]}\n")
        written["Bundle"] = out_dir / "bundle.json"
    return written


class _atomic:
    """A text file written to a temporary name in its directory and renamed on success."""

    def __init__(self, path: Path) -> None:
        self.path = path
        fd, self.tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        self.fh: IO[str] = os.fdopen(fd, "w", encoding="utf-8", newline="\n")

    def __enter__(self) -> IO[str]:
        return self.fh

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.fh.close()
        if exc_type is None:
            os.replace(self.tmp, self.path)
        else:
            Path(self.tmp).unlink(missing_ok=True)
