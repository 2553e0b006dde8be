"""The demo runs' pages in a real browser (headless Chromium): no console errors, every image decodes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import ACTG_YAML, DEMO_YAML

from subgroups.runner import NOTEBOOKS as RUNNER_NOTEBOOKS
from subgroups.runner import run

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Small forests and few SHAP rows: this test checks pages, not statistics.
FAST = ["estimation.n_estimators=40", "estimation.nuisance_iterations=30", "estimation.folds=3", "estimation.shap_rows=50"]
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("runs")
    return [run(params, out_dir=out, overrides=FAST).run_dir for params in (DEMO_YAML, ACTG_YAML)]


@pytest.mark.slow
def test_every_page_loads_without_errors_and_images_decode(demo_runs):
    sync_api = pytest.importorskip("playwright.sync_api")
    pages = [page for run_dir in demo_runs for page in sorted(run_dir.glob("*.html"))]
    assert len(pages) == 2 * (len(RUNNER_NOTEBOOKS) + 2)  # the pages, index.html and report.html
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        for path in pages:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors: list[str] = []
            page.on("console", lambda message, errors=errors: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error, errors=errors: errors.append(str(error)))
            failed: list[str] = []
            page.on("requestfailed", lambda request, failed=failed: failed.append(request.url))
            dialogs: list[str] = []  # no page may open an alert (script injection: tests/test_injection.py)
            page.on("dialog", lambda dialog, dialogs=dialogs: (dialogs.append(dialog.message), dialog.dismiss()))
            page.goto(path.as_uri(), wait_until="load")
            images = page.evaluate("Array.from(document.images).map(i => [i.complete, i.naturalWidth])")
            links = page.evaluate("Array.from(document.querySelectorAll('a[href]')).map(a => a.getAttribute('href'))")
            nav = page.evaluate(
                "Array.from(document.querySelectorAll('header.sg-header nav a')).map(a => a.getAttribute('href'))"
            )
            anchors = page.evaluate(
                "Array.from(document.querySelectorAll('a[href^=\"#\"]')).map(a => !!document.getElementById(a.getAttribute('href').slice(1)))"
            )
            sections = page.evaluate(
                "Array.from(document.querySelectorAll('section.sg-section')).map(s => [s.id, s.querySelectorAll('img').length])"
            )
            shot = path.with_suffix(".png")
            if path.stem != "report":  # report.html repeats the other pages: no second, very tall screenshot
                page.screenshot(path=str(shot), full_page=True)
            page.close()
            assert errors == [], f"{path.name}: console errors {errors}"
            assert failed == [], f"{path.name}: failed requests {failed}"
            assert dialogs == [], f"{path.name}: dialogs {dialogs}"
            assert all(done and width > 0 for done, width in images), f"{path.name}: an image did not decode"
            if path.stem != "index":
                assert images, f"{path.name} has no figures"
            assert len(nav) == len(RUNNER_NOTEBOOKS) + 2, f"{path.name}: header navigation {nav}"
            assert all(anchors), f"{path.name}: a link to a missing section"
            if path.stem == "report":  # every page in one file: the summary, then each notebook page with its figures
                assert [name for name, _ in sections] == ["summary", *RUNNER_NOTEBOOKS], sections
                assert all(count > 0 for name, count in sections if name != "summary"), sections
                assert len(images) == sum(count for _, count in sections)
            for link in links:
                if not link.startswith(("http", "#", "mailto:")):
                    assert (path.parent / link).exists(), f"{path.name}: broken link {link}"
            assert path.stem == "report" or shot.stat().st_size > 10_000
        browser.close()
