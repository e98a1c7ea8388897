"""FHIR systems, extension URLs and code maps used by the FHIR reader and exporter."""

from __future__ import annotations

from functools import cache
from importlib import import_module
from typing import Any

V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SSN = "http://hl7.org/fhir/sid/us-ssn"
NPI = "http://hl7.org/fhir/sid/us-npi"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
HCPCS = "https://www.cms.gov/Medicare/Coding/HCPCSReleaseCodeSets"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
US_CORE_RACE = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race"
US_CORE_ETHNICITY = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity"
BIRTHPLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
#: No standard FHIR element holds immigration status; healthwall uses its own extension.
IMMIGRATION_STATUS = "https://healthwall.invalid/fhir/StructureDefinition/immigration-status"
IMMIGRATION_SYSTEM = "https://healthwall.invalid/fhir/CodeSystem/immigration-status"

SEX_FROM_GENDER = {"female": "F", "male": "M", "other": "O", "unknown": "U"}
GENDER_FROM_SEX = {v: k for k, v in SEX_FROM_GENDER.items()}

#: Encounter.class (v3 ActCode) -> CMS place of service.
POS_FROM_CLASS = {"AMB": "11", "EMER": "23", "IMP": "21", "VR": "10", "HH": "12", "SS": "22"}

_MODULES = {
    "Patient": ("patient", "Patient"),
    "Claim": ("claim", "Claim"),
    "ExplanationOfBenefit": ("explanationofbenefit", "ExplanationOfBenefit"),
    "Encounter": ("encounter", "Encounter"),
    "Condition": ("condition", "Condition"),
}


@cache
def model_of(resource_type: str) -> Any:
    """The fhir.resources (R4B) model class of a supported resource type (imported lazily)."""
    module, name = _MODULES[resource_type]
    return getattr(import_module(f"fhir.resources.R4B.{module}"), name)
