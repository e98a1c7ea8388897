"""Release from the custodian store: exact match of ONE patient, fetch only the released elements.

Matching is exact on every identifier the request gives (all must equal; no fuzzy matching, no
normalization beyond trimming): a request that matches no one or several patients releases
nothing. Fetching maps each released element to its columns (patients) or claim rows (claims);
claim rows carrying a withheld sensitivity label are filtered out in SQL. The content is digested
(SHA-256 of canonical JSON) for the ledger, which never stores the content itself.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import math
from collections.abc import Sequence
from typing import Any

import orjson

from healthwall.engine.base import Engine
from healthwall.engine.duckdb import DuckDBEngine
from healthwall.model.codes import Element, Label

Store = Engine | DuckDBEngine

#: Patient columns of each element (physical description: gender and race, per 164.512(f)(2)).
PATIENT_COLUMNS: dict[Element, tuple[str, ...]] = {
    Element.NAME: ("first_name", "last_name"),
    Element.ADDRESS: ("address_line", "city", "county", "state", "zip"),
    Element.DATE_OF_BIRTH: ("birth_date",),
    Element.PLACE_OF_BIRTH: ("birthplace_country",),
    Element.SSN: ("ssn",),
    Element.PHYSICAL_DESCRIPTION: ("sex", "race"),
    Element.PHONE: ("phone",),
    Element.EMAIL: ("email",),
    Element.MEDICAID_ID: ("medicaid_id",),
    Element.IMMIGRATION_STATUS: ("immigration_status",),
    Element.PHOTO: ("photo_ref",),
}

#: Claim columns of each clinical element, and an optional row filter.
CLAIM_COLUMNS: dict[Element, tuple[tuple[str, ...], str | None]] = {
    Element.DIAGNOSES: (("service_date", "dx1", "dx2", "dx3"), None),
    Element.PROCEDURES: (("service_date", "procedure_code"), None),
    Element.TREATMENT_DATETIME: (("service_date", "facility"), None),
    Element.INJURY_TYPE: (
        ("service_date", "dx1", "dx2", "dx3"),
        "(regexp_matches(coalesce(dx1, ''), '^[ST]') OR regexp_matches(coalesce(dx2, ''), '^[ST]')"
        " OR regexp_matches(coalesce(dx3, ''), '^[ST]'))",
    ),
    Element.CLAIMS: (
        (
            "claim_id",
            "line_number",
            "service_date",
            "provider_npi",
            "facility",
            "place_of_service",
            "dx1",
            "dx2",
            "dx3",
            "procedure_code",
            "paid_amount",
        ),
        None,
    ),
}

#: Identifier fields of a request -> patients column.
IDENTIFIER_COLUMNS: dict[str, str] = {
    "first_name": "first_name",
    "last_name": "last_name",
    "birth_date": "birth_date",
    "ssn": "ssn",
    "mrn": "mrn",
    "medicaid_id": "medicaid_id",
}


def store_columns(store: Store) -> dict[str, frozenset[str]]:
    """Column names of the custodian tables the gateway reads."""
    return {t: frozenset(store.columns(t)) for t in ("patients", "claims")}


def match_patients(
    store: Store, identifiers: dict[str, str], limit: int = 2, columns: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """Patients equal on EVERY given identifier (at most ``limit``; 2 tells 'several').

    Each row has ``pid`` and the requested patient ``columns`` (so a release needs no second
    lookup of the patient row).
    """
    if not identifiers:
        return []
    where = " AND ".join(
        f"CAST({store.dialect.quote(IDENTIFIER_COLUMNS[k])} AS VARCHAR) = ?" for k in identifiers
    )
    extra = "".join(f", {store.dialect.quote(c)}" for c in columns)
    sql = (
        f"SELECT CAST(patient_id AS VARCHAR) AS pid{extra} FROM patients WHERE {where}"
        f" LIMIT {limit}"
    )
    rows = store.query_arrow(sql, list(identifiers.values())).to_pylist()
    return [{k: _plain(v) for k, v in row.items()} for row in rows]


def patient_columns(elements: Sequence[Element], have: frozenset[str]) -> list[str]:
    """The patient columns the given elements release (those the store has)."""
    return sorted({c for e in elements for c in PATIENT_COLUMNS.get(e, ()) if c in have})


def fetch(
    store: Store,
    patient_id: str,
    elements: Sequence[Element],
    withheld_labels: Sequence[Label],
    columns: dict[str, frozenset[str]] | None = None,
    patient_row: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The released content: ``{element: value(s)}``; None for what the custodian does not hold.

    ``columns`` (table -> column names, see :func:`store_columns`) saves a catalog lookup;
    ``patient_row`` (from :func:`match_patients`) saves the patient lookup.
    """
    columns = columns or store_columns(store)
    content: dict[str, Any] = {}
    have = columns["patients"]
    wanted = [e for e in elements if e in PATIENT_COLUMNS]
    if wanted:
        cols = patient_columns(wanted, have)
        row = patient_row if patient_row is not None else _patient_row(store, patient_id, cols)
        for element in wanted:
            content[element.value] = {c: row.get(c) for c in PATIENT_COLUMNS[element] if c in have}
    for element in elements:
        if element in CLAIM_COLUMNS:
            content[element.value] = _claim_rows(
                store, patient_id, element, withheld_labels, columns["claims"]
            )
        elif element not in PATIENT_COLUMNS:
            content[element.value] = None  # not held by the custodian store
    return content


def _patient_row(store: Store, patient_id: str, cols: list[str]) -> dict[str, Any]:
    if not cols:
        return {}
    select = ", ".join(store.dialect.quote(c) for c in cols)
    sql = f"SELECT {select} FROM patients WHERE CAST(patient_id AS VARCHAR) = ?"
    rows = store.query_arrow(sql, [patient_id]).to_pylist()
    return {k: _plain(v) for k, v in rows[0].items()} if rows else {}


def _claim_rows(
    store: Store,
    patient_id: str,
    element: Element,
    withheld_labels: Sequence[Label],
    have: frozenset[str],
) -> list[dict[str, Any]]:
    columns, row_filter = CLAIM_COLUMNS[element]
    cols = [c for c in columns if c in have]
    select = ", ".join(store.dialect.quote(c) for c in cols)
    where = ["CAST(patient_id AS VARCHAR) = ?"]
    params: list[Any] = [patient_id]
    if withheld_labels:
        where.append(
            "NOT list_has_any(string_split(coalesce(CAST(sensitivity_labels AS VARCHAR), ''), ';'),"
            " ?::VARCHAR[])"
        )
        params.append([lbl.value for lbl in withheld_labels])
    if row_filter:
        where.append(row_filter)
    order = " ORDER BY service_date" if "service_date" in cols else ""
    sql = f"SELECT {select} FROM claims WHERE {' AND '.join(where)}{order}"
    return [
        {k: _plain(v) for k, v in row.items()} for row in store.query_arrow(sql, params).to_pylist()
    ]


def _plain(value: Any) -> Any:
    """A store value as released: dates as ISO text, decimals as text, a NaN or infinite float
    (possible in a DOUBLE column) as null, so the answer and its content digest see one value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def content_digest(content: dict[str, Any]) -> str:
    """SHA-256 (hex) of the content as canonical JSON (sorted keys, no whitespace)."""
    return hashlib.sha256(sorted_json(content, ensure_ascii=False)).hexdigest()


def sorted_json(value: Any, *, ensure_ascii: bool = True) -> bytes:
    """``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=...)`` as UTF-8,
    byte for byte.

    orjson writes the same bytes when the value holds only plain JSON types without floats (the
    two format some floats differently) and nothing needed an escape (no backslash in its output;
    with ``ensure_ascii`` also nothing outside printable ASCII); anything else goes through
    ``json``, which also raises what it raised before.
    """
    try:
        out = orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError: an integer past 64 bits, a lone surrogate, ...
        out = b""
    if (
        out
        and b"\\" not in out
        and (not ensure_ascii or (out.isascii() and b"\x7f" not in out))
        and _plain_json(value)
    ):
        return out
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=ensure_ascii)
    return text.encode()


_SCALARS = (str, int, bool, type(None))


def _plain_json(value: Any) -> bool:
    """Only dicts, lists, tuples, str, int, bool and None (exact types: no float, no str enum,
    no date or other type orjson would encode and ``json`` refuses)."""
    kind = type(value)
    if kind is dict:
        return all(_plain_json(v) for v in value.values())
    if kind is list or kind is tuple:
        return all(_plain_json(v) for v in value)
    return kind in _SCALARS


# -- set-based variants for a batch of requests (one query per identifier shape / claim element) --


def match_many(
    store: Store, wanted: Sequence[tuple[dict[str, str], Sequence[str]]]
) -> list[list[dict[str, Any]]]:
    """:func:`match_patients` for many requests at once: for each ``(identifiers, columns)`` the
    patients equal on EVERY given identifier (at most 2), each row with ``pid`` and ``columns``.

    Requests giving the same identifier fields share ONE join of the batch against ``patients``
    (the same exact ``CAST(column AS VARCHAR) = value`` test as the single lookup).
    """
    out: list[list[dict[str, Any]]] = [[] for _ in wanted]
    groups: dict[tuple[str, ...], list[int]] = {}
    for i, (identifiers, _) in enumerate(wanted):
        if identifiers:
            groups.setdefault(tuple(sorted(identifiers)), []).append(i)
    for keys, members in groups.items():
        cols = sorted({c for i in members for c in wanted[i][1]})
        q = store.dialect.quote
        probe = ", ".join(f"unnest(?::VARCHAR[]) AS k{n}" for n in range(len(keys)))
        on = " AND ".join(
            f"CAST(p.{q(IDENTIFIER_COLUMNS[k])} AS VARCHAR) = b.k{n}" for n, k in enumerate(keys)
        )
        extra = "".join(f", p.{q(c)}" for c in cols)
        sql = (
            f"WITH b AS (SELECT {probe}, unnest(?::INTEGER[]) AS hw_i)"
            f" SELECT b.hw_i, CAST(p.patient_id AS VARCHAR) AS pid{extra}"
            f" FROM b JOIN patients p ON {on}"
            " QUALIFY row_number() OVER (PARTITION BY b.hw_i) <= 2"
        )
        params: list[Any] = [[wanted[i][0][k] for i in members] for k in keys]
        params.append(members)
        for row in _query(store, sql, params):
            i = row.pop("hw_i")
            own = set(wanted[i][1])
            out[i].append({k: _plain(v) for k, v in row.items() if k == "pid" or k in own})
    return out


def fetch_many(
    store: Store,
    wanted: Sequence[tuple[str, Sequence[Element], Sequence[Label], dict[str, Any]]],
    columns: dict[str, frozenset[str]],
) -> list[dict[str, Any]]:
    """:func:`fetch` for many releases: ``(patient_id, elements, withheld labels, patient row)``.

    Patient columns come from the match rows; claim rows are read with ONE query per (element,
    withheld labels) over all the batch's patients, then split by patient.
    """
    contents: list[dict[str, Any]] = []
    groups: dict[tuple[Element, tuple[Label, ...]], list[int]] = {}
    have = columns["patients"]
    for i, (_, elements, labels, row) in enumerate(wanted):
        content: dict[str, Any] = {}
        for element in elements:
            if element in PATIENT_COLUMNS:
                content[element.value] = {
                    c: row.get(c) for c in PATIENT_COLUMNS[element] if c in have
                }
            elif element in CLAIM_COLUMNS:
                key = (element, tuple(sorted(labels, key=lambda lbl: lbl.value)))
                groups.setdefault(key, []).append(i)
                content[element.value] = []
            else:
                content[element.value] = None  # not held by the custodian store
        contents.append(content)
    by_labels: dict[tuple[Label, ...], list[tuple[Element, list[int]]]] = {}
    for (element, labels), members in groups.items():
        by_labels.setdefault(labels, []).append((element, members))
    for labels, grouped in by_labels.items():
        pids = sorted({wanted[i][0] for _, members in grouped for i in members})
        rows = _claim_rows_of(store, pids, [e for e, _ in grouped], labels, columns["claims"])
        for element, members in grouped:
            for i in members:
                contents[i][element.value] = rows[element].get(wanted[i][0], [])
    return contents


def _claim_rows_of(
    store: Store,
    patient_ids: list[str],
    elements: Sequence[Element],
    withheld_labels: Sequence[Label],
    have: frozenset[str],
) -> dict[Element, dict[str, list[dict[str, Any]]]]:
    """Claim rows of several clinical elements for several patients in ONE query (same columns
    and filters as :func:`fetch`): ``{element: {patient_id: rows}}``."""
    q = store.dialect.quote
    cols = sorted({c for e in elements for c in CLAIM_COLUMNS[e][0] if c in have})
    flags = "".join(
        f", ({CLAIM_COLUMNS[e][1] or 'TRUE'}) AS hw_f{n}" for n, e in enumerate(elements)
    )
    where = ["CAST(patient_id AS VARCHAR) IN (SELECT unnest(?::VARCHAR[]))"]
    params: list[Any] = [patient_ids]
    if withheld_labels:
        where.append(
            "NOT list_has_any(string_split(coalesce(CAST(sensitivity_labels AS VARCHAR), ''), ';'),"
            " ?::VARCHAR[])"
        )
        params.append([lbl.value for lbl in withheld_labels])
    select = "".join(f", {q(c)}" for c in cols)
    order = ", service_date" if "service_date" in cols else ""
    sql = (
        f"SELECT CAST(patient_id AS VARCHAR) AS hw_pid{select}{flags} FROM claims"
        f" WHERE {' AND '.join(where)} ORDER BY hw_pid{order}"
    )
    out: dict[Element, dict[str, list[dict[str, Any]]]] = {e: {} for e in elements}
    own = {e: [c for c in CLAIM_COLUMNS[e][0] if c in have] for e in elements}
    for row in _query(store, sql, params):
        pid = row["hw_pid"]
        for n, element in enumerate(elements):
            if row[f"hw_f{n}"]:
                values = {c: _plain(row[c]) for c in own[element]}
                out[element].setdefault(pid, []).append(values)
    return out


def _query(store: Store, sql: str, params: list[Any]) -> list[dict[str, Any]]:
    """Rows as dicts. On DuckDB through ``execute``/``fetchall`` (a prepared statement, no
    relation or Arrow round trip: about a quarter of the cost for the small queries of a batch)."""
    if isinstance(store, DuckDBEngine):
        cursor = store.con.execute(sql, params)
        names = [d[0] for d in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return list(store.query_arrow(sql, params).to_pylist())
