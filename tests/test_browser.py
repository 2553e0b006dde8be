"""The end-to-end runs' pages in a real browser (headless Chromium): no console errors, every image decodes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from subgroups.runner import NOTEBOOKS as RUNNER_NOTEBOOKS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
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
def demo_runs(marked_run: Path, marked_actg_run: Path, tmp_path_factory) -> list[Path]:
    """The session's two complete runs (a PM-SNP trial and ACTG 175), copied: screenshots land beside the pages."""
    out = tmp_path_factory.mktemp("browser")
    return [Path(shutil.copytree(run_dir, out / run_dir.name)) for run_dir in (marked_run, marked_actg_run)]


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
