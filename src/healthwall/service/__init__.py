"""healthwall.service layer (see ARCHITECTURE.md)."""
