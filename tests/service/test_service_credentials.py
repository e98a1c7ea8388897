"""Credential store on a real SQLite database: keys hashed at rest, scrypt passwords, sessions."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import pytest

from healthwall.errors import InvalidInput, Unauthorized
from healthwall.workflows.credentials import (
    CredentialStore,
    Role,
    check_password,
    create_console_user,
    create_requester_key,
    hash_password,
)


@pytest.fixture()
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'svc.db'}"


def _dump(db: str) -> str:
    con = sqlite3.connect(db.removeprefix("sqlite:///"))
    try:
        return "\n".join(con.iterdump())
    finally:
        con.close()


def test_api_key_is_stored_only_as_its_sha256(db: str) -> None:
    key = create_requester_key(db, "sfpd", "San Francisco PD", "law-enforcement")
    assert key.startswith("hw_") and len(key) > 40
    dump = _dump(db)
    assert key not in dump
    assert hashlib.sha256(key.encode()).hexdigest() in dump
    store = CredentialStore.open(db)
    principal = store.authenticate_key(key)
    assert (principal.id, principal.role, principal.requester_kind) == (
        "sfpd",
        Role.REQUESTER,
        "law-enforcement",
    )


def test_each_key_is_new_and_revocation_works(db: str) -> None:
    first = create_requester_key(db, "ice", "ICE ERO", "immigration-enforcement")
    second = create_requester_key(db, "ice", "ICE ERO", "immigration-enforcement")
    assert first != second
    store = CredentialStore.open(db)
    store.revoke_api_keys("ice")
    for key in (first, second):
        with pytest.raises(Unauthorized):
            store.authenticate_key(key)


@pytest.mark.parametrize("key", ["", "hw_", "hw_not-a-key", "Bearer x", "x" * 500])
def test_unknown_keys_are_unauthorized(db: str, key: str) -> None:
    store = CredentialStore.open(db)
    with pytest.raises(Unauthorized) as info:
        store.authenticate_key(key)
    assert info.value.field == "authorization"


def test_password_scrypt_round_trip_and_salt() -> None:
    one, two = hash_password("correct horse battery"), hash_password("correct horse battery")
    assert one != two and one.startswith("scrypt$16384$8$1$")
    assert check_password("correct horse battery", one)
    assert not check_password("correct horse batterz", one)
    assert not check_password("anything", "not-a-hash")


def test_console_login_and_sessions(db: str) -> None:
    create_console_user(db, "olivia", "Olivia Officer", Role.OFFICER, "a long enough password")
    store = CredentialStore.open(db)
    assert "a long enough password" not in _dump(db)
    with pytest.raises(Unauthorized):
        store.authenticate_password("olivia", "wrong password!!")
    with pytest.raises(Unauthorized):
        store.authenticate_password("nobody", "a long enough password")
    principal = store.authenticate_password("olivia", "a long enough password")
    session_id, session = store.start_session(principal, dt.timedelta(minutes=5))
    assert session_id not in _dump(db)
    live = store.session(session_id)
    assert live is not None and live.principal.id == "olivia"
    assert live.csrf_token == session.csrf_token
    store.end_session(session_id)
    assert store.session(session_id) is None


def test_expired_session_is_gone(db: str) -> None:
    create_console_user(db, "ada", "Ada Auditor", Role.AUDITOR, "another long password")
    store = CredentialStore.open(db)
    principal = store.authenticate_password("ada", "another long password")
    session_id, _ = store.start_session(principal, dt.timedelta(seconds=-1))
    assert store.session(session_id) is None


def test_bad_console_users_are_refused(db: str) -> None:
    with pytest.raises(InvalidInput):
        create_console_user(db, "r", "Requester", Role.REQUESTER, "a long enough password")
    with pytest.raises(InvalidInput) as info:
        create_console_user(db, "o", "Officer", Role.OFFICER, "short")
    assert info.value.field == "password"
    create_console_user(db, "o", "Officer", Role.OFFICER, "a long enough password")
    with pytest.raises(InvalidInput):
        create_console_user(db, "o", "Officer", Role.OFFICER, "a long enough password")
