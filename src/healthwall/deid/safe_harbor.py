"""Safe Harbor (45 CFR 164.514(b)(2)): the treatment of each of the 18 identifier kinds.

Names, geography below the state (except ZIP3), contact details, numbers, biometrics and photos
are dropped; ZIP becomes its first three digits (restricted prefixes -> 000); dates become their
year; ages over 89 become ``90+`` and birth years revealing them are removed. The patient key is
replaced by a keyed pseudonym (164.514(c)) when a recipient key is given, else dropped; any other
record id (claim_id, ...) is dropped. Free text is dropped unless declared safe.
"""

from __future__ import annotations

from healthwall.deid.profiles import PlanOptions, Profile, column_treatment
from healthwall.model.dataset import SAFE_HARBOR_LETTER, ColumnSpec, IdentifierKind
from healthwall.model.deid import (
    RE_ID_CODE_CITATION,
    SAFE_HARBOR_CITATION,
    ColumnTreatment,
    Treatment,
)

K = IdentifierKind
T = Treatment

_TRANSFORMED: dict[IdentifierKind, tuple[Treatment, str]] = {
    K.ZIP: (T.ZIP3, "first three digits; prefixes of 20,000 people or fewer become 000"),
    K.BIRTH_DATE: (T.BIRTH_YEAR, "year only; removed when the year reveals an age over 89"),
    K.DATE: (T.YEAR, "all date elements except the year removed"),
    K.AGE: (T.AGE_90, "ages over 89 aggregated into 90+"),
}

_KEPT: dict[IdentifierKind, str] = {
    K.STATE: "a state is not smaller than a state; Safe Harbor lets it stay",
    K.PROVIDER_ID: "a provider's identifier, not the individual's",
}


def _treat(
    name: str, col: ColumnSpec, treatment: Treatment, rule: str, why: str
) -> ColumnTreatment:
    return column_treatment(name, col, treatment, rule, why, base_citation=SAFE_HARBOR_CITATION)


def _record_id(name: str, col: ColumnSpec, options: PlanOptions) -> ColumnTreatment:
    if col.patient_key and options.keyed:
        treated = _treat(name, col, T.PSEUDONYMIZE, "(R)", "keyed per-recipient pseudonym")
        return treated.model_copy(update={"citation": RE_ID_CODE_CITATION})
    why = "patient key dropped: no pseudonym key given" if col.patient_key else "record id dropped"
    return _treat(name, col, T.DROP, "(R)", why)


def plan_column(name: str, col: ColumnSpec, options: PlanOptions) -> ColumnTreatment:
    """The Safe Harbor treatment of one declared column."""
    kind = col.kind
    if kind is K.RECORD_ID:
        return _record_id(name, col, options)
    if kind in _TRANSFORMED:
        treatment, why = _TRANSFORMED[kind]
        return _treat(name, col, treatment, f"({SAFE_HARBOR_LETTER[kind]})", why)
    if kind in _KEPT:
        return _treat(name, col, T.KEEP, "-", _KEPT[kind])
    if kind is not None:
        letter = SAFE_HARBOR_LETTER[kind]
        return _treat(name, col, T.DROP, f"({letter})", f"{kind.value} is an identifier")
    if col.free_text and not col.safe_text:
        return _treat(name, col, T.DROP, "(R)", "free text may hold identifiers")
    why = f"declared {col.role.value}; scanned for identifier patterns"
    return _treat(name, col, T.KEEP, "-", why)


PROFILE = Profile(
    name="safe-harbor",
    citation="45 CFR 164.514(b)(2)",
    planner=plan_column,
    ruleset="safe-harbor",
)
