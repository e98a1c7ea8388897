"""Secrets by reference, never inline (after datasette's ``resolve_env_secrets``).

A secret setting is given as ``{"$env": "NAME"}``, ``{"$file": "path"}``, or the strings
``env:NAME`` / ``file:path``. Inline secret values are refused so keys never end up in a config
file, a shell history or a ledger entry.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from healthwall.errors import ConfigError


def resolve_secret(ref: Any, *, what: str) -> bytes:
    """Return the secret bytes a reference points to; ``what`` names the setting in errors."""
    kind, target = _parse_ref(ref, what=what)
    if kind == "env":
        value = os.environ.get(target)
        if not value:
            raise ConfigError(f"{what}: environment variable {target} is not set", field=what)
        return value.encode()
    path = Path(target)
    if not path.is_file():
        raise ConfigError(f"{what}: key file {path} does not exist", field=what)
    data = path.read_bytes().strip()
    if not data:
        raise ConfigError(f"{what}: key file {path} is empty", field=what)
    return data


def _parse_ref(ref: Any, *, what: str) -> tuple[str, str]:
    if isinstance(ref, dict) and len(ref) == 1:
        ((key, target),) = ref.items()
        if key in ("$env", "$file") and isinstance(target, str) and target:
            return key[1:], target
    if isinstance(ref, str):
        for prefix in ("env:", "file:"):
            if ref.startswith(prefix) and len(ref) > len(prefix):
                return prefix[:-1], ref[len(prefix) :]
    raise ConfigError(
        f"{what}: give a reference ({{'$env': NAME}}, {{'$file': PATH}}, env:NAME or file:PATH);"
        " inline secrets are not accepted",
        field=what,
    )
