"""No script injection in the reports (issue 14.2): names and labels from the data render literally.

Strings from the data or the parameters (column names, category levels, arm labels, the data file
name, rule text) reach Markdown through `narrative.md_escape`, HTML tables through pandas'
escaping, figures as literal text (no mathtext). Checked with nbconvert's own Markdown renderer,
on a whole run of a trial full of hostile names, and in headless Chromium.
"""

from __future__ import annotations

import random
import string
from pathlib import Path
from types import SimpleNamespace

import matplotlib
import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from nbconvert.filters.markdown import markdown2html

from subgroups import narrative, plots
from subgroups.datasets.synthetic import simulate_trial
from subgroups.narrative import md_code, md_escape
from subgroups.runner import NOTEBOOKS, render_html, run

matplotlib.use("Agg")

IMG = "<img src=x onerror=alert({})>"
HOSTILE = [
    IMG.format(1),
    "<script>alert(2)</script>",
    "a` <b>tick</b> `b",  # backticks: closes a code span and opens raw HTML
    "$x^2$",
    '=HYPERLINK("x")',
    "line1\nline2",
    "[click](javascript:alert(7))",
    "*em* _u_ # not a heading | \\ &amp; &#60;",
]
MARKUP_TAGS = {"p", "strong", "em", "code", "ul", "li"}  # what the report sentences themselves use


def _literal(text: str) -> str:
    return " ".join(text.split())


def _hostile_results(h: str) -> tuple[dict, SimpleNamespace]:
    """A results dict (only the keys the sentences read) with `h` in every user-supplied place."""
    results = {
        "provenance": {"data_source": f"/data/{h}.csv", "data_sha256": "0" * 64},
        "data": {
            "arms": {"treated": f"drug {h}", "control": f"placebo {h}"},
            "n_treated": 100,
            "n_control": 100,
            "study": "rct",
            "outcome": {"name": f"response {h}", "type": "continuous", "higher_is_better": True},
            "dropped": {},
        },
        "ate": {
            **{"estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3, "ci_level": 0.95, "p_value": 0.01, "n": 200},
            **{"scale": "difference in means", "status": "confirmatory", "status_reason": "randomized"},
            **{"estimand": "ATE", "method": "AIPW"},
        },
        "importance": {
            "by_feature": {f"{h} one": 0.3, f"{h} two": 0.2},
            "by_family": {"genetic": 0.3},
            **{"rows_used": 50, "rows_total": 100, "surrogate_r2": 0.9},
            **{"approximation_gap_mean_abs": 0.01, "approximation_gap_relative_to_effect_sd": 0.1},
        },
        "heterogeneity": {
            "alpha": 0.05,
            "modifiers": {"scale": "difference in means", "table": [{"feature": h, "p_holm": 0.01, "p_value": 0.001}]},
        },
        "subgroups": {"conclusion": f"Validated subgroup: {h} == 1 — effect +0.4.", "method": "two halves"},
        "design": {
            **{"options": [{}], "recommended": "enrichment", "subgroup": f"{h} >= 1", "status": "planning"},
            "reasons": [f"the subgroup {h} benefits"],
        },
    }
    return results, SimpleNamespace(imbalanced=[h], balance=pd.DataFrame({"feature": [h], "SMD": [0.2]}))


def _sentences(h: str) -> list[str]:
    results, audit = _hostile_results(h)
    heading = narrative.subgroup_heading(SimpleNamespace(rule=f"{h} == 1", status="validated", prevalence=0.3))
    return [
        narrative.data_summary(results, audit),
        narrative.ate_sentence(results),
        narrative.importance_sentence(results),
        narrative.modifier_sentence(results),
        narrative.subgroup_sentence(results),
        narrative.design_sentence(results),
        heading,
        f"**{md_escape(h)}** and {md_code(h)}",
    ]


def test_md_escape_round_trips_through_the_markdown_renderer():
    """Any mix of punctuation, letters and line breaks renders back to exactly its text."""
    rng = random.Random(14)
    alphabet = string.punctuation + "ab \n\té"
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 14)))
        html_out = markdown2html(f"x{md_escape(text)}x").strip()
        soup = BeautifulSoup(html_out, "html.parser")
        assert [tag.name for tag in soup.find_all(True)] == ["p"], (text, html_out)
        assert soup.p.get_text() == f"x{text}x".replace("\r\n", " ").replace("\n", " ").replace("\r", " "), (text, html_out)
    assert md_escape("a\r\nb\u2028c") == "a b c"


def test_sentences_with_hostile_names_render_literally_in_the_report_html(tmp_path: Path):
    """Each report sentence, as a Markdown display output rendered by the runner's HTML exporter."""
    nb = nbformat.v4.new_notebook()
    outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": text, "text/plain": ""})
        for h in HOSTILE
        for text in _sentences(h)
    ]
    nb.cells = [nbformat.v4.new_code_cell("", outputs=outputs)]
    executed = tmp_path / "hostile.ipynb"
    nbformat.write(nb, executed)
    page = render_html(executed, tmp_path / "hostile.html", "hostile").read_text(encoding="utf-8")
    soup = BeautifulSoup(page, "html.parser")
    shown = soup.select('div[data-mime-type="text/markdown"]')
    assert len(shown) == len(outputs)
    texts = iter([(h, text) for h in HOSTILE for text in _sentences(h)])
    for div in shown:
        h, _ = next(texts)
        tags = {tag.name for tag in div.find_all(True)}
        assert tags <= MARKUP_TAGS, (h, tags)
        assert not [tag for tag in div.find_all(True) if any(name.startswith("on") or name == "href" for name in tag.attrs)]
        assert _literal(h) in _literal(div.get_text()), (h, div.get_text())
    assert "alert(" not in " ".join(str(s) for s in soup.find_all("script"))


MATH = [r"$\foo$", "$x^2$", "a $ b"]  # invalid mathtext, valid mathtext, a lone dollar


def test_figures_draw_names_literally_even_invalid_mathtext():
    by_feature = pd.Series([0.3, 0.2, 0.1], index=MATH)
    ax = plots.importance(by_feature, {name: "genetic" for name in MATH})
    ax.figure.canvas.draw()  # mathtext would raise on "$\foo$"
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == sorted(MATH)
    reported = {"estimator": "held-out", "effect": 0.4, "ci_low": 0.1, "ci_high": 0.7, "comparator_effect": 0.0}
    reported |= {"comparator_ci_low": -0.2, "comparator_ci_high": 0.2, "difference": 0.4}
    candidates = [
        {"rule": f"{name} >= 1", "comparator": f"{name} < 1", "hypothesis": f"{name} >= 1 vs {name} < 1", "level": 1}
        | {"n_treated": 40, "n_control": 40, "p_adjusted": 0.01, "status": "validated", "prevalence": 0.3, "reported": reported}
        for name in MATH
    ]
    ate = {"estimate": 0.2, "ci_low": 0.1, "ci_high": 0.3, "scale": "difference in means"}
    ax = plots.forest(candidates, ate)
    ax.figure.canvas.draw()
    assert all(any(name in t.get_text() for t in ax.get_yticklabels()) for name in MATH)
    ax = plots.rule_tree(candidates, ate)
    ax.figure.canvas.draw()
    assert all(any(t.get_text().startswith(f"… {name} >= 1\n") for t in ax.texts) for name in MATH)
    balance = pd.DataFrame({"feature": MATH, "level": ["mean (SD)", "yes, n (%)", "$y$, n (%)"], "SMD": [0.0, 0.2, -0.1]})
    ax = plots.balance(SimpleNamespace(balance=balance))
    ax.figure.canvas.draw()
    assert {t.get_text() for t in ax.get_yticklabels()} == {r"$\foo$", "$x^2$ yes", "a $ b $y$"}


# --- one whole run of a trial whose names are all hostile ---------------------------------------

ARMS = {"drug": "drug " + IMG.format(1), "placebo": "place`<b>tick</b>`bo $x^2$"}
LEVELS = {"current": "<script>alert(4)</script>", "former": '=HYPERLINK("x")', "never": "ne`<b>tick</b>`ver"}
COLUMNS = {
    "response": "resp<script>alert(2)</script>",
    "snp_01": IMG.format(3),  # the true effect modifier: shows up in rules, SHAP and tests
    "bmi": "$x^2$",
    "age": "a\nge",
    "severity": '=HYPERLINK("s")',
    "crp": "c`<b>tick</b>`rp",
}
DATA_FILE = "trial " + IMG.format(5) + " `$x^2$`.csv"
# Small forests, few SHAP rows, few design simulations: this checks pages, not statistics.
CHEAP = [
    "estimation.n_estimators=40",
    "estimation.nuisance_iterations=30",
    "estimation.folds=3",
    "estimation.shap_rows=50",
    "trial_design.n_simulations=1000",
]


@pytest.fixture(scope="module")
def hostile_pages(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("hostile")
    frame = simulate_trial("PM-SNP", n=600, seed=5, b1_rel=2).data
    frame["arm"] = frame["arm"].map(ARMS)
    frame["smoking"] = frame["smoking"].map(LEVELS)
    path = folder / DATA_FILE
    frame.rename(columns=COLUMNS).to_csv(path, index=False)
    params = {
        "name": "hostile",
        "data": {
            "source": str(path),
            "treatment": {"column": "arm", "treated": ARMS["drug"], "control": ARMS["placebo"]},
            "outcome": {"column": COLUMNS["response"], "type": "continuous"},
            "features": {
                "genetic": [COLUMNS["snp_01"], "snp_*"],
                "lifestyle": ["smoking", COLUMNS["bmi"], "activity", "alcohol"],
                "disease": [COLUMNS["severity"], COLUMNS["crp"], "duration", "comorbidities"],
                "other": [COLUMNS["age"], "female"],
            },
            "id_column": "patient_id",
        },
        "subgroups": {"prespecified": [f"smoking == {LEVELS['current']}", "comorbidities >= 2"]},
        "report": {"title": "<script>alert(6)</script>"},
    }
    result = run(params, out_dir=folder / "runs", overrides=CHEAP)
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(result.run_dir.glob("*.html"))}


@pytest.mark.slow
def test_no_tag_from_the_data_in_any_page(hostile_pages):
    assert set(hostile_pages) == {*NOTEBOOKS, "index", "report"}
    for name, page in hostile_pages.items():
        for raw in ("<img src=x", "<script>alert", "<b>tick"):
            assert raw not in page, f"{name}: unescaped {raw!r}"
        soup = BeautifulSoup(page, "html.parser")
        assert all(img["src"].startswith("data:image/") for img in soup.find_all("img")), name
        assert not [tag for tag in soup.find_all(True) if any(attr.startswith("on") for attr in tag.attrs)], name
        assert not soup.find_all("b") and not soup.select('a[href^="javascript"]'), name
        assert "alert(" not in " ".join(str(s) for s in soup.find_all("script")), name
    # ... and the names are there, as text: the audit names every arm, level, column and the file.
    audit = _literal(BeautifulSoup(hostile_pages["01_data_audit"], "html.parser").get_text())
    for text in [*ARMS.values(), *LEVELS.values(), *COLUMNS.values(), DATA_FILE]:
        # a line break shows as a space in sentences, as a backslash and "n" in tables (pandas to_html)
        assert _literal(text) in audit or _literal(text.replace("\n", "\\n")) in audit, text
    index = BeautifulSoup(hostile_pages["index"], "html.parser")
    assert index.title.get_text() == "<script>alert(6)</script>: subgroup analysis"


@pytest.mark.slow
def test_no_dialog_fires_in_chromium(hostile_pages, tmp_path: Path):
    from test_browser import CHROMIUM, FLAGS

    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    for name, page_html in hostile_pages.items():
        (tmp_path / f"{name}.html").write_text(page_html, encoding="utf-8")
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for name in hostile_pages:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda dialog, dialogs=dialogs: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto((tmp_path / f"{name}.html").as_uri(), wait_until="load")
            page.wait_for_timeout(200)
            planted = page.evaluate("document.querySelectorAll('img[src=\"x\"], b').length")
            inline = page.evaluate("Array.from(document.scripts).map(s => s.text).join(' ')")
            text = page.inner_text("body")
            page.close()
            assert dialogs == [], f"{name}: dialogs {dialogs}"
            assert "alert(" not in inline, name
            assert planted == 0, name
            if name == "01_data_audit":
                assert ARMS["drug"] in text and ARMS["placebo"] in text and LEVELS["current"] in text  # no MathJax either
        browser.close()
