"""healthwall.risk layer (see ARCHITECTURE.md)."""
