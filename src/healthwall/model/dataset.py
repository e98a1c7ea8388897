"""Column roles of a data set, and the known custodian schema.

A :class:`DatasetSpec` says, for each column, what it is (its *role*) and, for identifiers and
quasi-identifiers that HIPAA Safe Harbor names, which of the 18 kinds of 45 CFR 164.514(b)(2)(i)
it is. Transforms decide what to do from the kind, never from the column's name; a column the spec
does not declare is an error wherever that matters (see ``deid``).

Specs are loaded from YAML or JSON::

    columns:
      patient_id: {role: identifier, kind: record-id, patient_key: true}
      zip:        {role: quasi-identifier, kind: zip}
      notes:      {role: sensitive, free_text: true}

Every error found while loading is collected and reported at once (after splink's ErrorLogger).
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from healthwall.errors import InvalidInput


class Role(StrEnum):
    IDENTIFIER = "identifier"
    QUASI_IDENTIFIER = "quasi-identifier"
    SENSITIVE = "sensitive"
    INSENSITIVE = "insensitive"


class IdentifierKind(StrEnum):
    """What a column holds, by the Safe Harbor list (letter in 164.514(b)(2)(i) in the comment)."""

    NAME = "name"  # (A) names of the individual, relatives, employers, household members
    STREET = "street"  # (B) street address
    CITY = "city"  # (B) city
    COUNTY = "county"  # (B) county, precinct
    ZIP = "zip"  # (B) ZIP code: first three digits kept when the area has > 20,000 people
    STATE = "state"  # not an identifier under Safe Harbor (state may be kept)
    BIRTH_DATE = "birth-date"  # (C) dates related to the individual
    DATE = "date"  # (C) admission, discharge, service, death dates
    AGE = "age"  # (C) ages over 89 aggregated into 90+
    PHONE = "phone"  # (D)
    FAX = "fax"  # (E)
    EMAIL = "email"  # (F)
    SSN = "ssn"  # (G)
    MRN = "mrn"  # (H) medical record numbers
    HEALTH_PLAN_ID = "health-plan-id"  # (I) health plan beneficiary numbers (Medicaid ID)
    ACCOUNT = "account"  # (J) account numbers
    LICENSE = "license"  # (K) certificate / licence numbers
    VEHICLE = "vehicle"  # (L) vehicle identifiers, plates
    DEVICE = "device"  # (M) device identifiers and serial numbers
    URL = "url"  # (N)
    IP = "ip"  # (O)
    BIOMETRIC = "biometric"  # (P) finger and voice prints
    PHOTO = "photo"  # (Q) full-face photographs and comparable images
    RECORD_ID = (
        "record-id"  # (R) any other unique identifying number or code (patient_id, claim_id)
    )
    PROVIDER_ID = "provider-id"  # NPI of a provider: not the patient's identifier, kept


SAFE_HARBOR_LETTER: dict[IdentifierKind, str] = {
    IdentifierKind.NAME: "A",
    IdentifierKind.STREET: "B",
    IdentifierKind.CITY: "B",
    IdentifierKind.COUNTY: "B",
    IdentifierKind.ZIP: "B",
    IdentifierKind.BIRTH_DATE: "C",
    IdentifierKind.DATE: "C",
    IdentifierKind.AGE: "C",
    IdentifierKind.PHONE: "D",
    IdentifierKind.FAX: "E",
    IdentifierKind.EMAIL: "F",
    IdentifierKind.SSN: "G",
    IdentifierKind.MRN: "H",
    IdentifierKind.HEALTH_PLAN_ID: "I",
    IdentifierKind.ACCOUNT: "J",
    IdentifierKind.LICENSE: "K",
    IdentifierKind.VEHICLE: "L",
    IdentifierKind.DEVICE: "M",
    IdentifierKind.URL: "N",
    IdentifierKind.IP: "O",
    IdentifierKind.BIOMETRIC: "P",
    IdentifierKind.PHOTO: "Q",
    IdentifierKind.RECORD_ID: "R",
}


class ColumnSpec(BaseModel):
    """One column's declaration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Role
    kind: IdentifierKind | None = None
    patient_key: bool = (
        False  # the column that identifies the patient (pseudonymized per recipient)
    )
    free_text: bool = False  # free text is dropped by Safe Harbor ...
    safe_text: bool = False  # ... unless declared safe (reviewed, holds no identifiers)

    @model_validator(mode="after")
    def _consistent(self) -> ColumnSpec:
        if self.role is Role.IDENTIFIER and self.kind is None:
            raise ValueError("an identifier needs a kind")
        if self.safe_text and not self.free_text:
            raise ValueError("safe_text applies only to free_text columns")
        return self


class DatasetSpec(BaseModel):
    """Roles of every column of one data set."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, ColumnSpec]

    def role_of(self, column: str) -> Role | None:
        spec = self.columns.get(column)
        return spec.role if spec else None

    def patient_key(self) -> str | None:
        keys = [name for name, col in self.columns.items() if col.patient_key]
        return keys[0] if keys else None

    def merged(self, other: DatasetSpec) -> DatasetSpec:
        """This spec with ``other``'s declarations taking precedence."""
        return DatasetSpec(columns={**self.columns, **other.columns})

    @classmethod
    def load(cls, path: Path) -> DatasetSpec:
        """Load a spec from YAML (.yaml/.yml) or JSON, reporting every problem at once."""
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot read spec file {path}: {exc.strerror}") from None
        try:
            raw: Any = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError):
            raise InvalidInput(f"spec file {path} is not valid YAML/JSON") from None
        return cls.parse(raw, source=str(path))

    @classmethod
    def parse(cls, raw: Any, *, source: str = "spec") -> DatasetSpec:
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            ]
            raise InvalidInput(f"{source} is invalid: " + "; ".join(problems)) from None


def _c(role: Role, kind: IdentifierKind | None = None, **flags: bool) -> ColumnSpec:
    return ColumnSpec(role=role, kind=kind, **flags)


_I, _Q, _S, _N = Role.IDENTIFIER, Role.QUASI_IDENTIFIER, Role.SENSITIVE, Role.INSENSITIVE
K = IdentifierKind

PATIENT_COLUMNS: dict[str, ColumnSpec] = {
    "patient_id": _c(_I, K.RECORD_ID, patient_key=True),
    "mrn": _c(_I, K.MRN),
    "ssn": _c(_I, K.SSN),
    "medicaid_id": _c(_I, K.HEALTH_PLAN_ID),
    "first_name": _c(_I, K.NAME),
    "last_name": _c(_I, K.NAME),
    "birth_date": _c(_Q, K.BIRTH_DATE),
    "sex": _c(_Q),
    "address_line": _c(_I, K.STREET),
    "city": _c(_Q, K.CITY),
    "county": _c(_Q, K.COUNTY),
    "state": _c(_Q, K.STATE),
    "zip": _c(_Q, K.ZIP),
    "phone": _c(_I, K.PHONE),
    "email": _c(_I, K.EMAIL),
    "race": _c(_Q),
    "ethnicity": _c(_Q),
    "language": _c(_Q),
    "birthplace_country": _c(_S),
    "immigration_status": _c(_S),
    "photo_ref": _c(_I, K.PHOTO),
}

CLAIM_COLUMNS: dict[str, ColumnSpec] = {
    "claim_id": _c(_I, K.RECORD_ID),
    "line_number": _c(_N),
    "patient_id": _c(_I, K.RECORD_ID, patient_key=True),
    "service_date": _c(_Q, K.DATE),
    "provider_npi": _c(_N, K.PROVIDER_ID),
    "facility": _c(_N),
    "place_of_service": _c(_N),
    "dx1": _c(_S),
    "dx2": _c(_S),
    "dx3": _c(_S),
    "procedure_code": _c(_S),
    "paid_amount": _c(_N),
    "sensitivity_labels": _c(_S),
}

#: The known custodian schema (ARCHITECTURE.md): patients, claims, and the two joined.
DEFAULT_SPECS: dict[str, DatasetSpec] = {
    "patients": DatasetSpec(columns=PATIENT_COLUMNS),
    "claims": DatasetSpec(columns=CLAIM_COLUMNS),
    "claims_patients": DatasetSpec(columns={**PATIENT_COLUMNS, **CLAIM_COLUMNS}),
}


def default_spec() -> DatasetSpec:
    """Roles of every column of the known schema (patients and claims, joined or not)."""
    return DEFAULT_SPECS["claims_patients"]
