"""healthwall.policy layer (see ARCHITECTURE.md)."""
