"""Code lists of the disclosure gateway, each code documented.

Requests and policies speak in these codes only: requester kinds, purposes of use (HL7 v3
PurposeOfUse plus local codes for enforcement and sales, which HL7 lacks), legal instruments,
conditions a requester attests to, data elements, sensitivity labels (HL7 security labels plus local
ones) and obligations. Every attribute a policy reads is one of these finite lists, which is what
lets ``healthwall policy check`` enumerate the whole request space.

Each enumeration has a companion ``*_DOCS`` mapping (code -> plain-language description); a test
checks that every code is documented, and ``docs/policy.md`` renders them.
"""

from __future__ import annotations

from enum import StrEnum


class RequesterKind(StrEnum):
    PROVIDER = "provider"
    PATIENT = "patient"
    PAYER = "payer"
    PUBLIC_HEALTH = "public-health"
    RESEARCHER = "researcher"
    LAW_ENFORCEMENT = "law-enforcement"
    IMMIGRATION_ENFORCEMENT = "immigration-enforcement"
    COURT = "court"
    OVERSIGHT = "oversight"
    DATA_BROKER = "data-broker"
    OTHER_AGENCY = "other-agency"


REQUESTER_KIND_DOCS: dict[RequesterKind, str] = {
    RequesterKind.PROVIDER: "A health care provider (treatment, payment, operations).",
    RequesterKind.PATIENT: "The patient (or personal representative) asking for their own record.",
    RequesterKind.PAYER: "A health plan or insurer (payment, coverage).",
    RequesterKind.PUBLIC_HEALTH: "A public health authority (45 CFR 164.512(b)).",
    RequesterKind.RESEARCHER: "A researcher (164.512(i), limited data sets 164.514(e)).",
    RequesterKind.LAW_ENFORCEMENT: "Police, prosecutors and other law enforcement officials.",
    RequesterKind.IMMIGRATION_ENFORCEMENT: "Immigration enforcement (ICE, Home Office, ...).",
    RequesterKind.COURT: "A court or tribunal, or a party in a judicial proceeding (164.512(e)).",
    RequesterKind.OVERSIGHT: "A health oversight agency (164.512(d)).",
    RequesterKind.DATA_BROKER: "A data broker or any buyer of data.",
    RequesterKind.OTHER_AGENCY: "Any other government agency.",
}


class Purpose(StrEnum):
    TREAT = "TREAT"
    ETREAT = "ETREAT"
    HPAYMT = "HPAYMT"
    COVERAGE = "COVERAGE"
    HOPERAT = "HOPERAT"
    FRAUD = "FRAUD"
    GOV = "GOV"
    HCOMPL = "HCOMPL"
    HLEGAL = "HLEGAL"
    HRESCH = "HRESCH"
    PATRQT = "PATRQT"
    PUBHLTH = "PUBHLTH"
    THREAT = "THREAT"
    HMARKT = "HMARKT"
    LAW_ENFORCEMENT = "law-enforcement"
    IMMIGRATION_ENFORCEMENT = "immigration-enforcement"
    DATA_SALE = "data-sale"


PURPOSE_DOCS: dict[Purpose, str] = {
    Purpose.TREAT: "HL7 TREAT: treatment.",
    Purpose.ETREAT: "HL7 ETREAT: emergency treatment.",
    Purpose.HPAYMT: "HL7 HPAYMT: health care payment.",
    Purpose.COVERAGE: "HL7 COVERAGE: coverage under a policy or program.",
    Purpose.HOPERAT: "HL7 HOPERAT: health care operations.",
    Purpose.FRAUD: "HL7 FRAUD: detection and investigation of fraud.",
    Purpose.GOV: "HL7 GOV: government purposes (other than enforcement).",
    Purpose.HCOMPL: "HL7 HCOMPL: health compliance and oversight.",
    Purpose.HLEGAL: "HL7 HLEGAL: legal proceedings (judicial and administrative).",
    Purpose.HRESCH: "HL7 HRESCH: health research.",
    Purpose.PATRQT: "HL7 PATRQT: the patient's own request.",
    Purpose.PUBHLTH: "HL7 PUBHLTH: public health.",
    Purpose.THREAT: "HL7 THREAT: averting a serious threat to health or safety (164.512(j)).",
    Purpose.HMARKT: "HL7 HMARKT: marketing.",
    Purpose.LAW_ENFORCEMENT: "Local: criminal law enforcement (HL7 has none; nearest HLEGAL).",
    Purpose.IMMIGRATION_ENFORCEMENT: "Local: immigration enforcement (HL7 has none; nearest GOV).",
    Purpose.DATA_SALE: "Local: sale of data for remuneration (nearest HL7: HMARKT).",
}

#: Local purpose codes mapped to the nearest HL7 PurposeOfUse code for interchange.
PURPOSE_HL7: dict[Purpose, Purpose] = {
    Purpose.LAW_ENFORCEMENT: Purpose.HLEGAL,
    Purpose.IMMIGRATION_ENFORCEMENT: Purpose.GOV,
    Purpose.DATA_SALE: Purpose.HMARKT,
}


class Instrument(StrEnum):
    NONE = "none"
    PATIENT_AUTHORIZATION = "patient-authorization"
    JUDICIAL_WARRANT = "judicial-warrant"
    COURT_ORDER = "court-order"
    JUDICIAL_SUBPOENA = "judicial-subpoena"
    GRAND_JURY_SUBPOENA = "grand-jury-subpoena"
    ADMINISTRATIVE_SUBPOENA = "administrative-subpoena"
    ADMINISTRATIVE_WARRANT = "administrative-warrant"
    PART2_COURT_ORDER = "part2-court-order"
    DATA_USE_AGREEMENT = "data-use-agreement"
    STATUTE = "statute"


INSTRUMENT_DOCS: dict[Instrument, str] = {
    Instrument.NONE: "No legal instrument: a bare request.",
    Instrument.PATIENT_AUTHORIZATION: "A signed authorization of the patient (164.508).",
    Instrument.JUDICIAL_WARRANT: "A warrant signed by a judge (164.512(f)(1)(ii)(A)).",
    Instrument.COURT_ORDER: "An order of a court (164.512(e)(1)(i), (f)(1)(ii)(A)).",
    Instrument.JUDICIAL_SUBPOENA: "A subpoena or summons issued by a judicial officer.",
    Instrument.GRAND_JURY_SUBPOENA: "A grand jury subpoena (164.512(f)(1)(ii)(B)).",
    Instrument.ADMINISTRATIVE_SUBPOENA: "An administrative subpoena, summons or civil demand.",
    Instrument.ADMINISTRATIVE_WARRANT: (
        "A warrant signed by an agency officer, not a judge (e.g. ICE Forms I-200/I-205): an"
        " administrative request, NOT a court-ordered warrant."
    ),
    Instrument.PART2_COURT_ORDER: "A court order under 42 CFR 2.64/2.65 (after notice, hearing).",
    Instrument.DATA_USE_AGREEMENT: "A data use agreement (164.514(e)(4)).",
    Instrument.STATUTE: "A disclosure said to be required by law (164.512(a)).",
}


class Condition(StrEnum):
    RELEVANT_AND_MATERIAL = "relevant-and-material"
    SPECIFIC_AND_LIMITED = "specific-and-limited"
    DEIDENTIFIED_INSUFFICIENT = "deidentified-insufficient"
    IDENTIFY_OR_LOCATE = "identify-or-locate"
    SATISFACTORY_ASSURANCE = "satisfactory-assurance"
    SERIOUS_CRIME = "serious-crime"
    PUBLIC_SECURITY_RISK = "public-security-risk"
    MISSING_VULNERABLE_PERSON = "missing-vulnerable-person"
    PUBLIC_HEALTH_DANGER = "public-health-danger"
    DRUG_USE = "drug-use"


CONDITION_DOCS: dict[Condition, str] = {
    Condition.RELEVANT_AND_MATERIAL: "164.512(f)(1)(ii)(C)(1): relevant and material.",
    Condition.SPECIFIC_AND_LIMITED: "164.512(f)(1)(ii)(C)(2): specific and limited in scope.",
    Condition.DEIDENTIFIED_INSUFFICIENT: (
        "164.512(f)(1)(ii)(C)(3): de-identified information could not reasonably be used."
    ),
    Condition.IDENTIFY_OR_LOCATE: (
        "164.512(f)(2): to identify or locate a suspect, fugitive, material witness or missing"
        " person."
    ),
    Condition.SATISFACTORY_ASSURANCE: (
        "164.512(e)(1)(ii): satisfactory assurance of notice to the patient or of a protective"
        " order accompanies a subpoena."
    ),
    Condition.SERIOUS_CRIME: (
        "UK MoU as narrowed 9 May 2018: deportation considered after investigation for or"
        " conviction of a crime with a custodial sentence of 12 months or more."
    ),
    Condition.PUBLIC_SECURITY_RISK: "UK MoU as narrowed 2018: a risk to public security.",
    Condition.MISSING_VULNERABLE_PERSON: "UK MoU as narrowed 2018: a missing vulnerable person.",
    Condition.PUBLIC_HEALTH_DANGER: "AufenthG §88(2): a danger to public health.",
    Condition.DRUG_USE: "AufenthG §88(2): use of hard drugs.",
}


class ScopeKind(StrEnum):
    SINGLE_PATIENT = "single-patient"
    COHORT = "cohort"
    AGGREGATE = "aggregate"


SCOPE_DOCS: dict[ScopeKind, str] = {
    ScopeKind.SINGLE_PATIENT: "One patient, named by exact identifiers.",
    ScopeKind.COHORT: "Record-level data on a group of patients (bulk).",
    ScopeKind.AGGREGATE: "Counts from a fixed template, with differential privacy.",
}


class Geography(StrEnum):
    NONE = "none"
    ZIP3 = "zip3"
    COUNTY = "county"
    STATE = "state"


GEOGRAPHY_DOCS: dict[Geography, str] = {
    Geography.NONE: "Not an aggregate, or no geographic breakdown.",
    Geography.ZIP3: "Counts by 3-digit ZIP area (small area).",
    Geography.COUNTY: "Counts by county (small area).",
    Geography.STATE: "Counts by state.",
}

SMALL_AREAS: frozenset[Geography] = frozenset({Geography.ZIP3, Geography.COUNTY})


class Element(StrEnum):
    NAME = "name"
    ADDRESS = "address"
    DATE_OF_BIRTH = "date-of-birth"
    PLACE_OF_BIRTH = "place-of-birth"
    SSN = "ssn"
    BLOOD_TYPE = "blood-type"
    INJURY_TYPE = "injury-type"
    TREATMENT_DATETIME = "treatment-datetime"
    DEATH_DATETIME = "death-datetime"
    PHYSICAL_DESCRIPTION = "physical-description"
    PHONE = "phone"
    EMAIL = "email"
    MEDICAID_ID = "medicaid-id"
    IMMIGRATION_STATUS = "immigration-status"
    REGISTRATION_DATE = "registration-date"
    DIAGNOSES = "diagnoses"
    PROCEDURES = "procedures"
    MEDICATIONS = "medications"
    CLAIMS = "claims"
    DNA = "dna"
    DENTAL = "dental"
    PHOTO = "photo"
    COUNTS = "counts"


ELEMENT_DOCS: dict[Element, str] = {
    Element.NAME: "First and last name.",
    Element.ADDRESS: "Street address, city, state and ZIP (reveals location).",
    Element.DATE_OF_BIRTH: "Date of birth.",
    Element.PLACE_OF_BIRTH: "Country of birth (medical information in California, SB 81).",
    Element.SSN: "Social Security number.",
    Element.BLOOD_TYPE: "ABO blood type and Rh factor.",
    Element.INJURY_TYPE: "Type of injury.",
    Element.TREATMENT_DATETIME: "Date and time of treatment.",
    Element.DEATH_DATETIME: "Date and time of death.",
    Element.PHYSICAL_DESCRIPTION: "Distinguishing physical characteristics, including gender.",
    Element.PHONE: "Telephone number.",
    Element.EMAIL: "Email address.",
    Element.MEDICAID_ID: "Medicaid (health plan beneficiary) number.",
    Element.IMMIGRATION_STATUS: "Citizenship or immigration status.",
    Element.REGISTRATION_DATE: "Date of registration with the custodian (UK: NHS registration).",
    Element.DIAGNOSES: "Diagnosis codes of the patient's claims (ICD-10-CM).",
    Element.PROCEDURES: "Procedure codes of the patient's claims.",
    Element.MEDICATIONS: "Medications dispensed or prescribed.",
    Element.CLAIMS: "Claim lines: dates, provider, facility, place of service, amounts, codes.",
    Element.DNA: "DNA, body fluid or tissue typing or analysis.",
    Element.DENTAL: "Dental records.",
    Element.PHOTO: "Full-face photograph or comparable image.",
    Element.COUNTS: "Aggregate counts from a fixed template (scope aggregate only).",
}

#: Elements drawn from clinical records, and so carrying the sensitivity labels of those records
#: (even a treatment date or an injury reveals a Part 2 or abuse record).
CLINICAL_ELEMENTS: frozenset[Element] = frozenset(
    {
        Element.DIAGNOSES,
        Element.PROCEDURES,
        Element.MEDICATIONS,
        Element.CLAIMS,
        Element.TREATMENT_DATETIME,
        Element.INJURY_TYPE,
    }
)

#: Elements that reveal where a person is (never released to immigration enforcement).
LOCATION_ELEMENTS: frozenset[Element] = frozenset({Element.ADDRESS})

#: Elements that identify a person (Safe Harbor identifiers, 164.514(b)(2)(i)).
IDENTIFYING_ELEMENTS: frozenset[Element] = frozenset(
    {
        Element.NAME,
        Element.ADDRESS,
        Element.DATE_OF_BIRTH,
        Element.SSN,
        Element.TREATMENT_DATETIME,
        Element.DEATH_DATETIME,
        Element.PHONE,
        Element.EMAIL,
        Element.MEDICAID_ID,
        Element.REGISTRATION_DATE,
        Element.DNA,
        Element.PHOTO,
        Element.CLAIMS,
    }
)


class Label(StrEnum):
    SUD = "SUD"
    ETH = "ETH"
    HIV = "HIV"
    STD = "STD"
    PSY = "PSY"
    MH = "MH"
    SEX = "SEX"
    PREGNANT = "PREGNANT"
    REPRO = "REPRO"
    SDV = "SDV"
    IMMIG = "IMMIG"
    PATLOC = "PATLOC"


LABEL_DOCS: dict[Label, str] = {
    Label.SUD: "HL7 SUD: substance use disorder; 42 CFR Part 2 records (42CFRPart2).",
    Label.ETH: "HL7 ETH: substance abuse information (treated as Part 2).",
    Label.HIV: "HL7 HIV: HIV/AIDS information.",
    Label.STD: "HL7 STD: sexually transmitted disease information.",
    Label.PSY: "HL7 PSY: psychiatry / psychotherapy information.",
    Label.MH: "HL7 MH: mental health information.",
    Label.SEX: "HL7 SEX: sexuality and reproductive health information.",
    Label.PREGNANT: "HL7 PREGNANT: pregnancy information.",
    Label.REPRO: "Local REPRO: reproductive health care (abortion, contraception, fertility).",
    Label.SDV: "HL7 SDV: sexual assault, abuse or domestic violence.",
    Label.IMMIG: "Local IMMIG: immigration status and place of birth (SB 81).",
    Label.PATLOC: "HL7 PATLOC: patient location.",
}

#: Labels a clinical record (claim) may carry, derived from its codes.
RECORD_LABELS: tuple[Label, ...] = (
    Label.SUD,
    Label.ETH,
    Label.HIV,
    Label.STD,
    Label.PSY,
    Label.MH,
    Label.SEX,
    Label.PREGNANT,
    Label.REPRO,
    Label.SDV,
)

#: Labels an element carries by its nature, whatever the record.
INTRINSIC_LABELS: dict[Element, frozenset[Label]] = {
    Element.IMMIGRATION_STATUS: frozenset({Label.IMMIG}),
    Element.PLACE_OF_BIRTH: frozenset({Label.IMMIG}),
    Element.ADDRESS: frozenset({Label.PATLOC}),
}


class Obligation(StrEnum):
    AOD = "AOD"
    MINEC = "MINEC"
    NORDSCLW = "NORDSCLW"
    DEID = "DEID"
    PSEUD = "PSEUD"
    REDACT = "REDACT"
    HUAPRV = "HUAPRV"


OBLIGATION_DOCS: dict[Obligation, str] = {
    Obligation.AOD: "Account for the disclosure (45 CFR 164.528): it appears in the accounting.",
    Obligation.MINEC: "Minimum necessary (164.502(b)): only the released elements go out.",
    Obligation.NORDSCLW: "No redisclosure without jurisdictional authorization (e.g. 42 CFR 2.32).",
    Obligation.DEID: "De-identify before release (bulk scope).",
    Obligation.PSEUD: "Pseudonymize patient identifiers per recipient.",
    Obligation.REDACT: "Records with withheld sensitivity labels are redacted from the release.",
    Obligation.HUAPRV: "Human approval required before anything is released.",
}


class Outcome(StrEnum):
    PERMIT = "permit"
    DENY = "deny"
    REVIEW = "review"


OUTCOME_DOCS: dict[Outcome, str] = {
    Outcome.PERMIT: "Release the released elements now.",
    Outcome.DENY: "Release nothing.",
    Outcome.REVIEW: "A privacy officer must approve before the released elements go out.",
}

#: Every code list, by the name used in docs and error messages.
CODE_LISTS: dict[str, dict[str, str]] = {
    "requester kind": {k.value: v for k, v in REQUESTER_KIND_DOCS.items()},
    "purpose": {k.value: v for k, v in PURPOSE_DOCS.items()},
    "instrument": {k.value: v for k, v in INSTRUMENT_DOCS.items()},
    "condition": {k.value: v for k, v in CONDITION_DOCS.items()},
    "scope": {k.value: v for k, v in SCOPE_DOCS.items()},
    "geography": {k.value: v for k, v in GEOGRAPHY_DOCS.items()},
    "element": {k.value: v for k, v in ELEMENT_DOCS.items()},
    "label": {k.value: v for k, v in LABEL_DOCS.items()},
    "obligation": {k.value: v for k, v in OBLIGATION_DOCS.items()},
    "decision": {k.value: v for k, v in OUTCOME_DOCS.items()},
}
