"""healthwall.reports layer (see ARCHITECTURE.md)."""
