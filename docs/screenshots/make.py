"""Regenerate the screenshots of this folder: the demo's and ACTG 175's summary, subgroups and design pages.

Runs both analyses with their committed parameters (package defaults otherwise) into a temporary
folder, opens the pages in headless Chromium (Playwright driving Debian's `chromium`) at 1200 px
wide and saves the top 1,800 px of each as JPEG. Needs the project's environment (`make install`):

    .venv/bin/python docs/screenshots/make.py
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from subgroups.runner import run

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
PAGES = {"index": "summary", "04_subgroups": "subgroups", "05_trial_design": "design"}
STUDIES = {"demo": ROOT / "params" / "demo.yaml", "actg175": ROOT / "params" / "actg175.yaml"}


def main() -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("error: chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory() as out, sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for study, params in STUDIES.items():
            run_dir = run(params, out_dir=Path(out)).run_dir
            for page_name, label in PAGES.items():
                page = browser.new_page(viewport={"width": 1200, "height": 1800})
                page.goto((run_dir / f"{page_name}.html").as_uri())
                target = HERE / f"{study}-{label}.jpg"
                page.screenshot(path=str(target), type="jpeg", quality=70)
                page.close()
                print(f"{target.relative_to(ROOT)}")
        browser.close()


if __name__ == "__main__":
    main()
