"""The library runs without the optional dependency groups; `run` and `batch` say which extra is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

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
