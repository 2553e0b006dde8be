"""What may appear in a report: small-cell suppression of counts.

A count between 1 and `min_cell - 1` is shown as "<min_cell" (0 is shown: it discloses nobody).
When a group of counts has a known total, one hidden cell could be recovered by subtraction, so
the next smallest cell of that group is hidden too (complementary suppression).
"""

from __future__ import annotations

import pandas as pd


def suppress_count(count: int, min_cell: int) -> int | str:
    """`count`, or the text "<min_cell" when 0 < count < min_cell."""
    count = int(count)
    return f"<{min_cell}" if 0 < count < min_cell else count


def suppress_group(counts: pd.Series, min_cell: int) -> pd.Series:
    """Suppress small counts of one group whose total is published, with complementary suppression.

    Returns an object Series of ints and "<min_cell" texts, same index as `counts`.
    """
    counts = counts.astype(int)
    hidden = (counts > 0) & (counts < min_cell)
    if int(hidden.sum()) == 1 and len(counts) > 1:
        candidates = counts[~hidden & (counts > 0)]
        if not candidates.empty:
            hidden[candidates.idxmin()] = True
    out = counts.astype(object)
    out[hidden] = f"<{min_cell}"
    return out


def is_suppressed(value: object) -> bool:
    return isinstance(value, str) and value.startswith("<")
