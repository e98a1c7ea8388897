"""healthwall.engine layer (see ARCHITECTURE.md)."""
