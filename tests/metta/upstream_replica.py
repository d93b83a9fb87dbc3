"""Replicas of Metta's own code that the contract tests bind extras with, cited file:line.

One copy for every test that needs them (three tests had each their own): the upstream
behaviour our checks must agree with, written from Metta's source, never imported from the
product.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict


class Config(BaseModel):  # packages/mettagrid/python/src/mettagrid/base_config.py:9-16 (both)
    model_config = ConfigDict(extra="forbid")


def parse_value(text: str) -> Any:
    """A command-line value as tools/run.py reads it: common/src/metta/common/tool/
    run_tool.py:88-119 at 7c1a7ff418 (:84-115 at a8d1ecee19)."""
    lower = text.lower()
    if lower in {"true", "false"}:
        return lower == "true"
    if lower in {"none", "null"}:
        return None
    if (text.startswith("{") and text.endswith("}")) or (
        text.startswith("[") and text.endswith("]")
    ):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            pass
    for conv in (int, float):
        try:
            return conv(text)
        except ValueError:
            pass
    return text
