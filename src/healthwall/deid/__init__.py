"""healthwall.deid layer (see ARCHITECTURE.md)."""
