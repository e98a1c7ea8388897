"""Rendering workflow results as plain JSON types."""

from __future__ import annotations

import dataclasses
from typing import Any


def as_json(value: Any) -> Any:
    """A workflow result as plain JSON types (pydantic models, dataclasses, lists of them)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "to_json"):
        return value.to_json()
    if isinstance(value, list | tuple):
        return [as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): as_json(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return as_json(dataclasses.asdict(value))
    return value
