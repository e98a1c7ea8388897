"""The ``healthwall`` command: thin Typer adapters that parse, call a workflow and render."""
