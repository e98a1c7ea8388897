"""healthwall.policy layer (see ARCHITECTURE.md): Cedar policy packs and ``decide``."""

from __future__ import annotations

from healthwall.policy.decide import decide, select_packs

__all__ = ["decide", "select_packs"]
