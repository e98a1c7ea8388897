"""healthwall.model layer (see ARCHITECTURE.md)."""
