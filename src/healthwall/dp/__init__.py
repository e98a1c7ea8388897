"""healthwall.dp layer (see ARCHITECTURE.md)."""
