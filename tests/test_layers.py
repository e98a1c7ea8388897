"""The layer table of ARCHITECTURE.md, enforced: a package imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "healthwall"

# Top-level modules every layer may use: the error root, secret references, packaged data.
COMMON = {"errors", "secrets", "data"}

ALLOWED: dict[str, set[str]] = {
    "model": set(),
    "policy": {"model"},
    "risk": {"model"},
    "deid": {"model", "risk", "engine"},
    "dp": {"model", "engine"},
    "engine": {"model"},
    "synth": {"model", "engine"},
    "ledger": {"model"},
    "reports": {"model", "ledger"},
    "workflows": {"model", "policy", "deid", "risk", "dp", "engine", "ledger", "reports", "synth"},
    "service": {"workflows", "model"},
    "cli": {"workflows", "model"},
}


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "healthwall" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_it_may(layer: str) -> None:
    bad: list[str] = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for used in _imported_layers(path) - {layer} - COMMON - ALLOWED[layer]:
            bad.append(f"{path.relative_to(PACKAGE)} imports healthwall.{used}")
    assert not bad, "layer violations:\n" + "\n".join(bad)


def test_standalone_verifier_imports_nothing_of_ours() -> None:
    verifier = PACKAGE / "ledger" / "verifier.py"
    if not verifier.exists():
        pytest.skip("ledger verifier not written yet")
    assert _imported_layers(verifier) == set()


def test_every_top_level_layer_is_listed() -> None:
    dirs = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert dirs - COMMON == set(ALLOWED)
