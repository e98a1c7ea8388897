"""Fixtures of the ledger tests: a ledger on SQLite and on a real PostgreSQL, a signing key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_helpers import PSEUDONYM_KEY

from healthwall.ledger import Ledger, SigningKey, generate_key


@pytest.fixture(scope="session")
def signer() -> SigningKey:
    return generate_key("test.healthwall.example/ledger")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture()
def ledger(ledger_url: str, signer: SigningKey) -> Iterator[Ledger]:
    led = Ledger.open(
        ledger_url, pseudonym_key=PSEUDONYM_KEY, signing_key=signer.private_text().encode()
    )
    try:
        yield led
    finally:
        led.close()


@pytest.fixture()
def sqlite_ledger(tmp_path: Path, signer: SigningKey) -> Iterator[Ledger]:
    led = Ledger.open(
        f"sqlite:///{tmp_path / 'ledger.db'}",
        pseudonym_key=PSEUDONYM_KEY,
        signing_key=signer.private_text().encode(),
    )
    try:
        yield led
    finally:
        led.close()
