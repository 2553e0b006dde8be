"""What the report notebooks set up in their first cell: figures, warnings and the shared cache.

- Figures are drawn as SVG (vector: sharp at any zoom) with alt text built from their titles and
  axis labels (`alt_text`); the HTML export turns each into an ``<img alt="...">``
  (`subgroups.runner.render_html`).
- The package's own warnings (data, memory, constant effect) stay visible; third-party noise is hidden.
- Run interactively (no run folder), the five notebooks share one cached analysis in a private
  folder of the system's temporary directory (`interactive_cache`), keyed like a run's cache: the
  first notebook fits, the others open in seconds. It holds patient-level data, readable only by
  you, and is replaced when the data or parameters change.
"""

from __future__ import annotations

import io
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

ALT_KEY = "alt"  # metadata key of an SVG output that carries its alt text


def alt_text(figure: Any) -> str:
    """A figure's description for readers who cannot see it: "Figure: <title>. Horizontal axis: <label>.
    Vertical axis: <label>." per panel; a figure may set its own as ``figure.subgroups_alt``."""
    own = getattr(figure, "subgroups_alt", None)
    if own:
        return str(own)
    parts = []
    suptitle = getattr(figure, "_suptitle", None)
    if suptitle is not None and suptitle.get_text():
        parts.append(suptitle.get_text())
    for ax in figure.axes:
        title = " ".join(t for t in (ax.get_title("center"), ax.get_title("left"), ax.get_title("right")) if t)
        panel = [title] if title else []
        if ax.axison:
            for name, label in (("Horizontal axis", ax.get_xlabel()), ("Vertical axis", ax.get_ylabel())):
                if label:
                    panel.append(f"{name}: {' '.join(label.split())}")
        if panel:
            parts.append(". ".join(panel))
    return "Figure: " + (". ".join(parts) if parts else "a figure of the report") + "."


def _svg(figure: Any) -> tuple[str, dict[str, str]]:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue(), {ALT_KEY: alt_text(figure)}


def setup() -> None:
    """Configure the running notebook: SVG figures with alt text, the package's warnings only."""
    warnings.filterwarnings("ignore")
    from subgroups.data import DataWarning
    from subgroups.errors import ConstantEffectWarning
    from subgroups.resources import MemoryWarning

    for category in (DataWarning, ConstantEffectWarning, MemoryWarning):
        warnings.filterwarnings("default", category=category)
    try:
        from IPython import get_ipython
    except ImportError:  # not in IPython: nothing to configure for figures
        return
    shell = get_ipython()
    if shell is None:
        return
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib_inline.backend_inline import set_matplotlib_formats

    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller files, selectable labels
    matplotlib.rcParams["svg.hashsalt"] = "subgroups"  # stable ids: the same run gives the same file
    set_matplotlib_formats("svg")
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, _svg)


def interactive_cache(run_dir: str | Path | None = None) -> Path:
    """The cache folder of a notebook: the run folder's `cache` in a run, else a private folder of the
    temporary directory shared by the notebooks opened interactively (mode 0700)."""
    if run_dir:
        return Path(run_dir) / "cache"
    uid = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    folder = Path(tempfile.gettempdir()) / f"subgroups-notebooks-{uid}"
    folder.mkdir(mode=0o700, exist_ok=True)
    if folder.is_symlink() or (hasattr(os, "getuid") and folder.stat().st_uid != os.getuid()):
        from subgroups.errors import RunError

        raise RunError(f"{folder} is not a private folder of yours; remove it or pass a run folder")
    folder.chmod(0o700)
    return folder
