"""Plain values for frozen results: ``_plain`` turns numpy scalars and containers into
JSON-serialisable Python values (non-finite floats become ``None``) and ``_FrameMixin`` gives a
flat result its one-row ``to_dict()`` and ``to_frame()``.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd


def _plain(value: Any) -> Any:
    """Convert numpy scalars and containers to plain Python values for JSON."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


class _FrameMixin:
    """One-row ``to_frame()`` and ``to_dict()`` for a flat frozen result."""

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of the result."""
        return _plain(asdict(self))  # type: ignore[call-overload]

    def to_frame(self) -> pd.DataFrame:
        """The result as a one-row DataFrame."""
        return pd.DataFrame([self.to_dict()])
