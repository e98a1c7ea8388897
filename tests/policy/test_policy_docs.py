"""docs/policy.md cannot drift: every code and every rule id is documented there."""

from __future__ import annotations

from pathlib import Path

from healthwall.model.codes import CODE_LISTS
from healthwall.policy.packs import bundle, known_packs

DOC = Path(__file__).resolve().parents[2] / "docs" / "policy.md"


def test_every_code_is_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [
        f"{name}:{code}"
        for name, docs in CODE_LISTS.items()
        for code in docs
        if f"`{code}`" not in text
    ]
    assert not missing


def test_every_rule_is_in_the_docs() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [r for p in known_packs() for r in bundle((p,)).rules if f"`{r}`" not in text]
    assert not missing
