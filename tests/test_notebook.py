"""The notebooks' set-up: alt text of figures, SVG outputs turned into images with it, the shared cache."""

from __future__ import annotations

import stat
import warnings

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import nbformat  # noqa: E402

from subgroups import notebook  # noqa: E402
from subgroups.data import DataWarning  # noqa: E402
from subgroups.runner import _figure_with_alt  # noqa: E402


def test_alt_text_names_each_panel_by_title_and_axes():
    fig, (left, right) = plt.subplots(1, 2)
    left.set_title("Effect by genotype")
    left.set_xlabel("snp_01 carriers")
    left.set_ylabel("effect\n(difference)")
    right.set_axis_off()
    right.set_title("Tree")
    assert notebook.alt_text(fig) == (
        "Figure: Effect by genotype. Horizontal axis: snp_01 carriers. Vertical axis: effect (difference). Tree."
    )
    fig.subgroups_alt = "Forest plot of 3 hypotheses."
    assert notebook.alt_text(fig) == "Forest plot of 3 hypotheses."
    plt.close(fig)


def test_svg_output_becomes_an_image_with_escaped_alt_text():
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    out = nbformat.v4.new_output(
        "display_data", data={"image/svg+xml": svg, "text/plain": "<Figure>"},
        metadata={"image/svg+xml": {notebook.ALT_KEY: 'Figure: "a" <b>tag</b>.'}},
    )  # fmt: skip
    html = _figure_with_alt(out)["data"]["text/html"]
    assert html.startswith('<img class="sg-figure" src="data:image/svg+xml;base64,')
    assert html.endswith('alt="Figure: &quot;a&quot; &lt;b&gt;tag&lt;/b&gt;.">')
    stream = nbformat.v4.new_output("stream", name="stdout", text="x")
    assert _figure_with_alt(stream) is stream


def test_setup_keeps_the_package_warnings_and_hides_others():
    with warnings.catch_warnings(record=True) as caught:
        notebook.setup()
        warnings.warn("third-party noise", UserWarning, stacklevel=1)
        warnings.warn("12 rows dropped", DataWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == ["12 rows dropped"]


def test_interactive_cache_is_private_and_shared(tmp_path, monkeypatch):
    monkeypatch.setattr(notebook.tempfile, "gettempdir", lambda: str(tmp_path))
    folder = notebook.interactive_cache("")
    assert folder == notebook.interactive_cache(None) and folder.parent == tmp_path
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert notebook.interactive_cache(tmp_path / "run") == tmp_path / "run" / "cache"
