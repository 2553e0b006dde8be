"""The library runs without the optional dependency groups; `run` and `batch` say which extra is missing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import yaml
from support import FAST

from subgroups.runner import NOTEBOOKS

ROOT = Path(__file__).resolve().parent.parent
UNSHIPPED = (".git", ".venv", "runs", "build", "*.egg-info", "__pycache__", ".pytest_cache", ".ruff_cache", "results", "docs")

BLOCK = textwrap.dedent(
    """
    import importlib.abc, importlib.util, sys
    BLOCKED = {"papermill", "nbconvert", "nbformat", "ipykernel", "jupyterlab", "distributed", "dask"}

    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in BLOCKED:
                raise ImportError(f"blocked: {name}")
            return None

    sys.meta_path.insert(0, Block())
    _find_spec = importlib.util.find_spec

    def find_spec(name, package=None):
        return None if name.split(".")[0] in BLOCKED else _find_spec(name, package)

    importlib.util.find_spec = find_spec
    """
)


@pytest.mark.slow
def test_the_library_analyses_a_trial_without_the_report_and_batch_extras(tmp_path):
    script = BLOCK + textwrap.dedent(
        """
        import subgroups
        from subgroups.datasets.synthetic import simulate_trial
        frame = simulate_trial("PM-SNP", n=300, seed=2, b1_rel=2).data
        params = {"name": "t", "data": {"treatment": {"column": "arm", "treated": "drug", "control": "placebo"},
                  "outcome": {"column": "response", "type": "continuous"}, "id_column": "patient_id"},
                  "estimation": {"n_estimators": 40, "nuisance_iterations": 30, "folds": 3, "shap_rows": 50}}
        a = subgroups.analyze(frame, params)
        print(round(a.results["ate"]["estimate"], 6))
        from subgroups import runner
        try:
            runner.run(params, out_dir=sys.argv[1])
        except subgroups.RunError as error:
            print(error)
        from subgroups import batch
        try:
            batch.run_batch([], out_dir=sys.argv[1])
        except subgroups.RunError as error:
            print(error)
        """
    )
    out = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert abs(float(lines[0])) < 2  # an effect was estimated
    assert lines[1].startswith("this needs the optional 'report' dependencies (papermill, nbconvert, nbformat, ipykernel")
    assert lines[1].endswith("pip install 'subgroups[report]'")
    assert lines[2] == "this needs the optional 'batch' dependencies (distributed not installed): pip install 'subgroups[batch]'"


def _site_packages(python: Path) -> Path:
    out = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    )
    return Path(out.stdout.strip())


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_environment_runs_the_demo_from_an_unrelated_folder(tmp_path):
    """Build the wheel, install it (no source tree on the path) and run `subgroups run` on the demo.

    The fresh environment sees this environment's third-party packages through a path entry (a `.pth` line is
    added to sys.path without processing the .pth files inside it, so the editable `subgroups` of the checkout
    stays invisible): the test is about the package's own files, notebooks and templates, not a new download."""
    # pip builds in the source folder (build/, *.egg-info): build a copy, so the checkout stays as it was.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, symlinks=True, ignore=shutil.ignore_patterns(*UNSHIPPED))
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            "-w",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("subgroups-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {f"subgroups/notebooks/{nb}.ipynb" for nb in NOTEBOOKS} <= names
    assert "subgroups/templates/index.html.j2" in names

    env_dir = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    (_site_packages(python) / "third_party.pth").write_text(f"{_site_packages(Path(sys.executable))}\n")
    # nbconvert's page templates are data files installed beside its package (share/jupyter/nbconvert).
    (env_dir / "share" / "jupyter").mkdir(parents=True)
    (env_dir / "share" / "jupyter" / "nbconvert").symlink_to(Path(sys.prefix) / "share" / "jupyter" / "nbconvert")
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert install.returncode == 0, install.stderr[-2000:]

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    tree = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    tree["data"]["simulation"]["n"] = 400  # the demo trial, smaller, with the suite's fast settings
    tree["estimation"] = {**tree["estimation"], **FAST["estimation"]}
    (elsewhere / "demo.yaml").write_text(yaml.safe_dump(tree, sort_keys=False))
    where = subprocess.run(
        [str(python), "-c", "import subgroups; print(subgroups.__file__)"], cwd=elsewhere, capture_output=True, text=True
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout + where.stderr

    run = subprocess.run(
        [str(env_dir / "bin" / "subgroups"), "run", "demo.yaml", "-o", "runs"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    folder = elsewhere / "runs" / "demo"
    results = json.loads((folder / "results.json").read_text())
    assert results["data"]["n"]["value"] == 400
    assert all((folder / f"{nb}.html").stat().st_size > 10_000 for nb in NOTEBOOKS)
    assert "Demo trial" in (folder / "index.html").read_text()
