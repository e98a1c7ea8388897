"""One exception root for healthwall.

Every error knows its HTTP status and CLI exit code (after click's ``exit_code`` and datasette's
``Base400.status``). Messages name the problem -- a field, a column, a rule -- and never echo row
values, SQL or patient data: they are safe to log and to show to a requester.
"""

from __future__ import annotations

from typing import ClassVar


class HealthwallError(Exception):
    """Root of every error healthwall raises on purpose."""

    status: ClassVar[int] = 500
    exit_code: ClassVar[int] = 1
    code: ClassVar[str] = "internal-error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    def to_dict(self) -> dict[str, str]:
        """The one JSON error shape of the API (see tests/test_errors.py)."""
        body = {"error": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        return body


class InvalidInput(HealthwallError):
    """Malformed file or request, wrong type, unknown column or code, missing field."""

    status = 422
    exit_code = 2
    code = "invalid-input"


class UnknownCode(InvalidInput):
    """A code (purpose, instrument, element, label, ...) that is not in its code list."""

    code = "unknown-code"


class TooLarge(InvalidInput):
    """A request or file over a configured size limit."""

    status = 413
    code = "too-large"


class UndeclaredIdentifier(InvalidInput):
    """A column that looks like an identifier but was not declared in the spec."""

    code = "undeclared-identifier"


class NotFound(HealthwallError):
    status = 404
    exit_code = 3
    code = "not-found"


class Unauthorized(HealthwallError):
    status = 401
    exit_code = 4
    code = "unauthorized"


class Forbidden(HealthwallError):
    status = 403
    exit_code = 4
    code = "forbidden"


class Refused(HealthwallError):
    """The firewall refused: risk above threshold, budget exhausted, policy denial."""

    status = 409
    exit_code = 5
    code = "refused"


class ConfigError(HealthwallError):
    """A setting, key reference or policy pack is missing or invalid."""

    status = 500
    exit_code = 6
    code = "config-error"


class IntegrityError(HealthwallError):
    """The ledger (or another tamper-evident structure) failed verification."""

    status = 500
    exit_code = 7
    code = "integrity-error"
