"""Console pages: one module per page (see healthwall.service.console)."""
