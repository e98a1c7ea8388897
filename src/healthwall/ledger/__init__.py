"""healthwall.ledger layer (see ARCHITECTURE.md)."""
