"""healthwall.workflows layer (see ARCHITECTURE.md)."""
