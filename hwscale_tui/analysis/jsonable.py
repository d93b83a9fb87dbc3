"""Turn analysis values (numpy, pandas, dataclasses with ``to_json``) into strict JSON data.

NaN (unknown) becomes ``null``; an infinite value (an unbounded interval end, a median never
reached) becomes the string ``"inf"`` / ``"-inf"`` so the two are never confused.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict") and hasattr(
        value, "columns"
    ):  # DataFrame (its own to_json returns text)
        return [jsonable(r) for r in value.to_dict(orient="records")]
    if hasattr(value, "to_json"):
        return jsonable(value.to_json())
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        if math.isnan(f):
            return None
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f
    if value is None or isinstance(value, str):
        return value
    return str(value)
