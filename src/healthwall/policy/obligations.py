"""Obligations attached to a decision (HL7 obligation codes), derived from the request's facts.

- AOD: the disclosure is accountable under 45 CFR 164.528 -- everything except treatment, payment
  and operations, disclosures to the patient or under authorization, limited data sets and
  de-identified aggregates.
- MINEC: minimum necessary applies (164.502(b)(2): not for treatment, the patient, authorization).
- NORDSCLW: clinical records go to someone other than a provider or the patient (42 CFR 2.32 notice
  for Part 2 records; no redisclosure).
- REDACT: records with withheld labels are removed from released clinical elements.
- DEID / PSEUD: a cohort release is de-identified / pseudonymized per recipient.
- HUAPRV: a person must approve before release.
"""

from __future__ import annotations

from collections.abc import Sequence

from healthwall.model.codes import (
    CLINICAL_ELEMENTS,
    Element,
    Instrument,
    Label,
    Obligation,
    Outcome,
    Purpose,
    RequesterKind,
    ScopeKind,
)
from healthwall.policy.facts import Facts

_TPO = {
    Purpose.TREAT,
    Purpose.ETREAT,
    Purpose.HPAYMT,
    Purpose.COVERAGE,
    Purpose.HOPERAT,
}


def _own_or_authorized(facts: Facts) -> bool:
    own = facts.kind is RequesterKind.PATIENT and facts.purpose is Purpose.PATRQT
    return own or facts.instrument is Instrument.PATIENT_AUTHORIZATION


def accountable(facts: Facts) -> bool:
    """Whether a release under these facts appears in the patient's accounting (164.528(a)(1))."""
    if facts.scope is ScopeKind.AGGREGATE or facts.instrument is Instrument.DATA_USE_AGREEMENT:
        return False
    return facts.purpose not in _TPO and not _own_or_authorized(facts)


def obligations_for(
    facts: Facts, outcome: Outcome, released: Sequence[Element], withheld_labels: Sequence[Label]
) -> list[Obligation]:
    """The obligations of a decision; none for a denial."""
    if outcome is Outcome.DENY or not released:
        return []
    out: list[Obligation] = []
    if accountable(facts):
        out.append(Obligation.AOD)
    treatment = facts.kind is RequesterKind.PROVIDER and facts.purpose in _TPO
    if not treatment and not _own_or_authorized(facts):
        out.append(Obligation.MINEC)
    clinical = any(e in CLINICAL_ELEMENTS for e in released)
    if clinical and facts.kind not in (RequesterKind.PROVIDER, RequesterKind.PATIENT):
        out.append(Obligation.NORDSCLW)
    if clinical and withheld_labels:
        out.append(Obligation.REDACT)
    if facts.scope is ScopeKind.COHORT:
        out.extend((Obligation.DEID, Obligation.PSEUD))
    if outcome is Outcome.REVIEW:
        out.append(Obligation.HUAPRV)
    return out
