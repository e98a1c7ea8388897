"""Limited data set (45 CFR 164.514(e)): the 16 direct identifiers removed; dates, town or city,
state, county and the 5-digit ZIP kept.

Dates may be shifted per patient by a keyed amount within +-N days (the same shift for all of a
patient's dates, so intervals survive). The patient key becomes a keyed pseudonym when a key is
given, else it is dropped; other record ids are dropped.
"""

from __future__ import annotations

from healthwall.deid.profiles import PlanOptions, Profile, column_treatment
from healthwall.model.dataset import ColumnSpec, IdentifierKind
from healthwall.model.deid import (
    LIMITED_DATA_SET_CITATION,
    RE_ID_CODE_CITATION,
    ColumnTreatment,
    Treatment,
)

K = IdentifierKind
T = Treatment

#: The 16 direct identifiers of 164.514(e)(2), with their item number.
DIRECT: dict[IdentifierKind, str] = {
    K.NAME: "i",
    K.STREET: "ii",
    K.PHONE: "iii",
    K.FAX: "iv",
    K.EMAIL: "v",
    K.SSN: "vi",
    K.MRN: "vii",
    K.HEALTH_PLAN_ID: "viii",
    K.ACCOUNT: "ix",
    K.LICENSE: "x",
    K.VEHICLE: "xi",
    K.DEVICE: "xii",
    K.URL: "xiii",
    K.IP: "xiv",
    K.BIOMETRIC: "xv",
    K.PHOTO: "xvi",
}

_KEPT: dict[IdentifierKind, str] = {
    K.CITY: "town or city may be kept in a limited data set",
    K.STATE: "state may be kept in a limited data set",
    K.COUNTY: "geography other than postal address may be kept in a limited data set",
    K.AGE: "ages may be kept in a limited data set",
    K.PROVIDER_ID: "a provider's identifier, not the individual's",
}


def _treat(
    name: str, col: ColumnSpec, treatment: Treatment, rule: str, why: str
) -> ColumnTreatment:
    return column_treatment(
        name, col, treatment, rule, why, base_citation=LIMITED_DATA_SET_CITATION
    )


def _dated(name: str, col: ColumnSpec, options: PlanOptions) -> ColumnTreatment:
    if options.date_shift_days is None:
        return _treat(name, col, T.KEEP, "-", "dates may be kept in a limited data set")
    why = f"shifted per patient by a keyed amount within +-{options.date_shift_days} days"
    return _treat(name, col, T.DATE_SHIFT, "-", why)


def _record_id(name: str, col: ColumnSpec, options: PlanOptions) -> ColumnTreatment:
    if col.patient_key and options.keyed:
        treated = _treat(name, col, T.PSEUDONYMIZE, "-", "keyed per-recipient pseudonym")
        return treated.model_copy(update={"citation": RE_ID_CODE_CITATION})
    why = "patient key dropped: no pseudonym key given" if col.patient_key else "record id dropped"
    return _treat(name, col, T.DROP, "-", why)


def plan_column(name: str, col: ColumnSpec, options: PlanOptions) -> ColumnTreatment:
    """The limited-data-set treatment of one declared column."""
    kind = col.kind
    if kind in DIRECT:
        return _treat(name, col, T.DROP, DIRECT[kind], f"{kind.value} is a direct identifier")
    if kind is K.RECORD_ID:
        return _record_id(name, col, options)
    if kind is K.ZIP:
        return _treat(name, col, T.ZIP5, "-", "5-digit ZIP may be kept; ZIP+4 removed")
    if kind in (K.DATE, K.BIRTH_DATE):
        return _dated(name, col, options)
    if kind in _KEPT:
        return _treat(name, col, T.KEEP, "-", _KEPT[kind])
    if col.free_text and not col.safe_text:
        return _treat(name, col, T.DROP, "-", "free text may hold direct identifiers")
    return _treat(
        name, col, T.KEEP, "-", f"declared {col.role.value}; scanned for identifier patterns"
    )


PROFILE = Profile(
    name="limited-data-set",
    citation="45 CFR 164.514(e)",
    planner=plan_column,
    ruleset="limited-data-set",
    allows_date_shift=True,
)
