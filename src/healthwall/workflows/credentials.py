"""Who may call the service: principals, API keys, passwords and console sessions.

A *principal* is a requester (an agency, a researcher, a broker: calls the API with an API key),
an officer (privacy officer: reviews requests in the console) or an auditor (reads the ledger and
accountings). Secrets are never stored:

- API keys are 256-bit random tokens, shown once at creation and stored only as their SHA-256
  hash (a fast hash is enough for high-entropy tokens; lookup is by hash).
- Passwords are stored as ``hashlib.scrypt`` hashes (n=2**14, r=8, p=1, 16-byte salt), checked in
  constant time.
- Console sessions are random ids stored as SHA-256 hashes with their CSRF token and expiry;
  signing out deletes the row.

The tables live in the service database (the ledger's database by default) under a ``service_``
prefix, so one SQLite file (or PostgreSQL database) holds the whole deployment.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    create_engine,
    delete,
    insert,
    select,
)
from sqlalchemy.exc import IntegrityError as SAIntegrityError

from healthwall.errors import ConfigError, InvalidInput, Unauthorized


class Role(StrEnum):
    REQUESTER = "requester"
    OFFICER = "officer"
    AUDITOR = "auditor"


ROLE_DOCS: dict[Role, str] = {
    Role.REQUESTER: "Submits record requests and aggregates with an API key; sees its own only.",
    Role.OFFICER: "Privacy officer: reviews requests, reads decisions and accountings.",
    Role.AUDITOR: "Reads the ledger, proofs and accountings; changes nothing.",
}

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}
_KEY_PREFIX = "hw_"

_META = MetaData()
PRINCIPALS = Table(
    "service_principals",
    _META,
    Column("id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("requester_kind", String(40), nullable=True),
    Column("password", String(200), nullable=True),
)
API_KEYS = Table(
    "service_api_keys",
    _META,
    Column("key_hash", String(64), primary_key=True),
    Column("principal_id", String(200), nullable=False, index=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
)
SESSIONS = Table(
    "service_sessions",
    _META,
    Column("session_hash", String(64), primary_key=True),
    Column("principal_id", String(200), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    id: str
    name: str
    role: Role
    requester_kind: str | None = None


@dataclass(frozen=True)
class Session:
    """A signed-in console session (the id itself is only in the cookie)."""

    principal: Principal
    csrf_token: str
    expires_at: dt.datetime


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) of a password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    """Constant-time check of a password against :func:`hash_password`'s output."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


class CredentialStore:
    """Principals, hashed API keys, hashed passwords and sessions in one SQL database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        _META.create_all(engine)

    @classmethod
    def open(cls, url: str) -> CredentialStore:
        """Open (and create the tables of) the credential store at a SQLAlchemy URL."""
        try:
            engine = create_engine(url)
        except Exception:
            raise ConfigError("cannot open the service database", field="db") from None
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # principals --------------------------------------------------------------------------
    def add_principal(
        self,
        principal_id: str,
        name: str,
        role: Role,
        *,
        requester_kind: str | None = None,
        password: str | None = None,
    ) -> Principal:
        """Create a principal; officers and auditors need a password to use the console."""
        if not principal_id or not name:
            raise InvalidInput("a principal needs an id and a name", field="id")
        if password is not None and len(password) < 12:
            raise InvalidInput("a password needs at least 12 characters", field="password")
        row = {
            "id": principal_id,
            "name": name,
            "role": role.value,
            "requester_kind": requester_kind,
            "password": hash_password(password) if password else None,
        }
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(PRINCIPALS).values(**row))
        except SAIntegrityError:
            raise InvalidInput(f"principal {principal_id!r} already exists", field="id") from None
        return Principal(principal_id, name, role, requester_kind)

    def principal(self, principal_id: str) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(PRINCIPALS).where(PRINCIPALS.c.id == principal_id)
            ).one_or_none()
        if row is None:
            return None
        return Principal(row.id, row.name, Role(row.role), row.requester_kind)

    def ensure_principal(
        self, principal_id: str, name: str, role: Role, *, requester_kind: str | None = None
    ) -> Principal:
        """The principal with this id, created when missing (its role must match)."""
        found = self.principal(principal_id)
        if found is None:
            return self.add_principal(principal_id, name, role, requester_kind=requester_kind)
        if found.role is not role:
            raise InvalidInput(f"principal {principal_id!r} has another role", field="role")
        return found

    # API keys -----------------------------------------------------------------------------
    def create_api_key(self, principal_id: str) -> str:
        """A new API key for the principal: returned once, stored only as its SHA-256 hash."""
        if self.principal(principal_id) is None:
            raise InvalidInput(f"no principal {principal_id!r}", field="principal")
        key = _KEY_PREFIX + secrets.token_urlsafe(32)
        with self.engine.begin() as conn:
            conn.execute(
                insert(API_KEYS).values(
                    key_hash=_sha256(key), principal_id=principal_id, created_at=_now()
                )
            )
        return key

    def revoke_api_keys(self, principal_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                API_KEYS.update()
                .where(API_KEYS.c.principal_id == principal_id)
                .values(revoked=True)
            )

    def authenticate_key(self, key: str) -> Principal:
        """The principal owning an API key; :class:`Unauthorized` for unknown or revoked keys."""
        if not key.startswith(_KEY_PREFIX) or len(key) > 200:
            raise Unauthorized("invalid API key", field="authorization")
        query = (
            select(PRINCIPALS)
            .join(API_KEYS, API_KEYS.c.principal_id == PRINCIPALS.c.id)
            .where(API_KEYS.c.key_hash == _sha256(key), API_KEYS.c.revoked.is_(False))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            raise Unauthorized("invalid API key", field="authorization")
        return Principal(row.id, row.name, Role(row.role), row.requester_kind)

    # passwords and sessions ---------------------------------------------------------------
    def authenticate_password(self, principal_id: str, password: str) -> Principal:
        """Check a console login; the same error whether the id or the password is wrong."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(PRINCIPALS).where(PRINCIPALS.c.id == principal_id)
            ).one_or_none()
        stored = row.password if row is not None else None
        # Hash anyway when the principal is unknown, so timing does not reveal which ids exist.
        ok = check_password(password, stored or hash_password("unknown-principal!"))
        if row is None or stored is None or not ok:
            raise Unauthorized("wrong user id or password", field="password")
        return Principal(row.id, row.name, Role(row.role), row.requester_kind)

    def start_session(self, principal: Principal, ttl: dt.timedelta) -> tuple[str, Session]:
        """A new session id (for the cookie only) and the session it opens."""
        session_id = secrets.token_urlsafe(32)
        session = Session(principal, secrets.token_urlsafe(32), _now() + ttl)
        with self.engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < _now()))
            conn.execute(
                insert(SESSIONS).values(
                    session_hash=_sha256(session_id),
                    principal_id=principal.id,
                    csrf_token=session.csrf_token,
                    expires_at=session.expires_at,
                )
            )
        return session_id, session

    def session(self, session_id: str) -> Session | None:
        """The live session for an id, or None when unknown or expired."""
        query = (
            select(SESSIONS, PRINCIPALS)
            .join(PRINCIPALS, PRINCIPALS.c.id == SESSIONS.c.principal_id)
            .where(SESSIONS.c.session_hash == _sha256(session_id))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).one_or_none()
        if row is None:
            return None
        expires = row.expires_at
        if expires.tzinfo is None:  # SQLite drops the zone; stored values are UTC
            expires = expires.replace(tzinfo=dt.UTC)
        if expires < _now():
            return None
        principal = Principal(row.id, row.name, Role(row.role), row.requester_kind)
        return Session(principal, row.csrf_token, expires)

    def end_session(self, session_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(SESSIONS).where(SESSIONS.c.session_hash == _sha256(session_id)))


def create_requester_key(db: str, requester_id: str, name: str, kind: str) -> str:
    """Create (or reuse) a requester principal and return a new API key for it, once."""
    store = CredentialStore.open(db)
    try:
        store.ensure_principal(requester_id, name, Role.REQUESTER, requester_kind=kind)
        return store.create_api_key(requester_id)
    finally:
        store.close()


def create_console_user(db: str, user_id: str, name: str, role: Role, password: str) -> Principal:
    """Create an officer or auditor who signs in to the console with a password."""
    if role is Role.REQUESTER:
        raise InvalidInput("console users are officers or auditors", field="role")
    store = CredentialStore.open(db)
    try:
        return store.add_principal(user_id, name, role, password=password)
    finally:
        store.close()
