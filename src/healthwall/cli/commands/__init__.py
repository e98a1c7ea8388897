"""Each module here exposes ``register(app: typer.Typer) -> None`` and is discovered by ``main``.

Keeping one module per command group lets every area add commands without editing a shared file.
"""
