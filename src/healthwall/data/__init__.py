"""Reference data built into the package, each file with its provenance in ``PROVENANCE.md``."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def data_path(name: str) -> Path:
    """Path of a data file shipped in ``healthwall/data``."""
    return Path(str(resources.files(__package__).joinpath(name)))
