"""One run: validate, fit once, execute the notebooks with papermill, render HTML, write the index.

Layout of ``runs/<name>/``: ``params.yaml`` (resolved), ``NN_*.ipynb`` (executed copies),
``NN_*.html`` (reports without code, each with a header and links to the others), ``results.json``,
``status.json``, ``report.html`` (every page in one file, to share), ``index.html`` (the executive
summary; written last, only when everything succeeded), ``cache/`` (the fitted model, row-level: never rendered)
and ``.subgroups.lock``.

A run never deletes what it did not write. ``status.json`` carries the suite's signature and the
names of the files a run writes; a re-run removes only those (never ``cache/`` or anything else).
A folder without the signature is used only if it is empty or, for run folders of earlier versions
(``status.json`` without the signature), if it holds nothing but the names above; anything else,
a run folder that is a symbolic link, and a data source inside the run folder are refused before
anything is deleted or read. One run at a time writes a folder: the lock is an advisory
``flock`` on ``.subgroups.lock`` (released by the kernel when its process dies, so a crashed run
never blocks the next one); the file records the holder's pid for the message.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import importlib.resources
import json
import os
import re
import socket
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from subgroups.analysis import open_analysis
from subgroups.errors import NotebookError, RunError, SubgroupsError
from subgroups.narrative import fmt, p_text
from subgroups.params import RunParams, load_params
from subgroups.privacy import SUPPRESSED, count_text

NOTEBOOKS = ("01_data_audit", "02_effects", "03_explain", "04_subgroups", "05_trial_design")
TITLES = {
    "01_data_audit": "Data audit",
    "02_effects": "Treatment effects",
    "03_explain": "What drives the effect",
    "04_subgroups": "Subgroups",
    "05_trial_design": "Next-trial designs",
}
KERNEL = "subgroups"
SIGNATURE = "subgroups run folder"  # in status.json: this folder was written by `subgroups run`
LOCK_NAME = ".subgroups.lock"
# Every file a run writes directly in its folder; only these are ever removed, and only from a signed folder.
OUTPUTS = (
    "params.yaml",
    "status.json",
    "results.json",
    "index.html",
    "report.html",
    *(f"{nb}.{ext}" for nb in NOTEBOOKS for ext in ("ipynb", "html")),
)
KEPT = ("cache", LOCK_NAME)  # kept across runs, never removed


@dataclass(frozen=True)
class RunResult:
    name: str
    run_dir: Path
    index_html: Path
    results: dict[str, Any]


def notebooks_dir() -> Path:
    """The report notebooks, package data of `subgroups` (in a checkout, `src/subgroups/notebooks` is a
    link to the project's top-level `notebooks/`, so an editable install and a wheel read the same files)."""
    return Path(str(importlib.resources.files("subgroups").joinpath("notebooks")))


def ensure_kernel(name: str = KERNEL) -> str:
    """Register this interpreter as a Jupyter kernel `name` (inside this environment) if absent."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name=f"Python ({name})", prefix=sys.prefix)
    return name


def _data_path(run: RunParams) -> Path | None:
    """The data file as `data.read_source` finds it (relative to the parameter file, else the working folder)."""
    source = run.data.source
    if not source or source.startswith("builtin:"):
        return None
    path = Path(source).expanduser()
    if path.is_absolute():
        return path
    base = Path(run.base_dir) if run.base_dir else Path.cwd()
    return base / path if (base / path).exists() else Path.cwd() / path


def _resolved_params(run: RunParams) -> dict[str, Any]:
    """Parameters with a relative data path made absolute, so the copy in the run folder stands alone."""
    tree = run.to_dict()
    path = _data_path(run)
    if path is not None and not Path(tree["data"]["source"]).is_absolute():
        tree["data"]["source"] = str(path.resolve())
    adam = tree["data"].get("adam")
    if adam and run.data.source is None:  # ADaM files, found as `adam.read_adam` finds them
        for role in ("adsl", "bds"):
            name = Path(adam[role]).expanduser()
            base = Path(run.base_dir) if run.base_dir else Path.cwd()
            found = base / name if not name.is_absolute() and (base / name).exists() else name
            adam[role] = str(found.resolve())
    return tree


def _write_status(run_dir: Path, status: str, **extra: Any) -> None:
    # "outputs": every name a run of the suite owns (a re-run may remove them, nothing else); "written": those
    # present now, so a failed run does not read as if it had left its reports.
    record = {
        "written_by": SIGNATURE,
        "status": status,
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        **extra,
        "outputs": list(OUTPUTS),
        "written": [name for name in OUTPUTS if name == "status.json" or (run_dir / name).is_file()],
    }
    (run_dir / "status.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def _read_status(run_dir: Path) -> dict[str, Any] | None:
    path = run_dir / "status.json"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _own_outputs(run_dir: Path) -> list[Path]:
    """The files of an earlier run that a new run may remove; refuses a folder the suite did not write."""
    entries = sorted(item.name for item in run_dir.iterdir())
    record = _read_status(run_dir)
    if record is not None and record.get("written_by") == SIGNATURE:
        listed = set(record.get("outputs") or ()) & set(OUTPUTS)  # never more than the suite's own names
    else:
        # A run folder of an earlier version has status.json without the signature: accepted only when it
        # holds nothing but the suite's own names. Without any status.json, only cache/ and the lock.
        legacy = record is not None and record.get("status") in ("running", "failed", "succeeded")
        allowed = set(KEPT) | (set(OUTPUTS) if legacy else set())
        strangers = [name for name in entries if name not in allowed]
        if strangers:
            raise RunError(
                f"{run_dir}: the folder exists and was not written by subgroups run (it holds '{strangers[0]}'); "
                "nothing was deleted; choose another -o or run name, or empty the folder"
            )
        listed = set(entries) & set(OUTPUTS)
    paths = [run_dir / name for name in sorted(listed)]
    return [path for path in paths if path.is_symlink() or path.is_file()]


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def prepare_run_folder(run: RunParams, out_dir: str | Path) -> Path:
    """Check, before anything is deleted or read, that ``out_dir/<name>`` may be written; create it."""
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise RunError(f"output folder {out} is a file, not a folder; give -o a folder for the run folders")
    run_dir = out.resolve() / run.name
    if run_dir.is_symlink():
        raise RunError(f"{run_dir}: the run folder is a symbolic link; runs write only into real folders, remove the link")
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir}: exists and is not a folder; choose another -o or run name")
    data = _data_path(run)
    if data is not None and (_inside(Path(os.path.abspath(data)), run_dir) or _inside(data.resolve(), run_dir)):
        raise RunError(f"data.source {run.data.source} lies inside the run folder {run_dir}; keep data outside run folders")
    if run_dir.is_dir():
        _own_outputs(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create the run folder {run_dir} ({exc.strerror}); give -o a writable folder") from None
    if not os.access(run_dir, os.W_OK | os.X_OK):
        raise RunError(f"run folder {run_dir} is not writable; give -o a writable folder")
    return run_dir


def _lock_holder(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        record = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
        return f"pid {int(record['pid'])} on {record.get('host', '?')}, since {record.get('since', '?')}"
    return "another process"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def run_folder_lock(run_dir: Path) -> Iterator[None]:
    """Hold the folder's lock for the duration of a run; a second run into the folder gets a one-line error."""
    import fcntl

    try:
        fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as exc:
        raise RunError(f"cannot create the lock in {run_dir} ({exc.strerror}); give -o a writable folder") from None
    try:
        busy = f"{run_dir}: another run is writing this folder ({{}}); wait for it to finish or give this run another name"
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise RunError(busy.format(_lock_holder(fd))) from None
            # A file system without flock: fall back to the recorded pid (a dead holder does not block).
            with contextlib.suppress(OSError, ValueError, KeyError):
                record = json.loads(os.pread(fd, 4096, 0).decode("utf-8"))
                if record.get("host") == socket.gethostname() and record["pid"] != os.getpid() and _alive(int(record["pid"])):
                    raise RunError(busy.format(_lock_holder(fd))) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        yield
    finally:
        os.close(fd)  # releases the flock


def require_extra(extra: str, *modules: str) -> None:
    """A one-line `RunError` naming the install command when an optional dependency group is missing
    (the library itself needs none of them: ``[report]`` runs the notebooks, ``[batch]`` the Dask cluster)."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise RunError(
            f"this needs the optional '{extra}' dependencies ({', '.join(missing)} not installed): pip install 'subgroups[{extra}]'"
        )


def run(
    params: str | Path | dict | RunParams,
    out_dir: str | Path = "runs",
    overrides: Any = None,
    kernel: str = KERNEL,
) -> RunResult:
    """Execute one analysis end to end and leave its HTML reports in ``out_dir/<name>/``.

    Raises `SubgroupsError` (one line) when the parameters or data are wrong, the run folder may not
    be written (not written by the suite, a symbolic link, holding the data, busy with another run),
    or a notebook fails; once the folder is accepted, a failed run leaves ``status.json`` with the
    reason and no ``index.html``.
    """
    require_extra("report", "papermill", "nbconvert", "nbformat", "ipykernel")
    run_params = load_params(params, overrides)
    run_dir = prepare_run_folder(run_params, out_dir)
    with run_folder_lock(run_dir):
        return _run_locked(run_params, run_dir, kernel)


def _run_locked(run_params: RunParams, run_dir: Path, kernel: str) -> RunResult:
    try:
        for path in _own_outputs(run_dir):  # start clean; the model cache is kept
            path.unlink()
        _write_status(run_dir, "running")
    except OSError as exc:
        raise RunError(f"cannot write the run folder {run_dir} ({exc.strerror}); give -o a writable folder") from None
    try:
        params_file = run_dir / "params.yaml"
        params_file.write_text(yaml.safe_dump(_resolved_params(run_params), sort_keys=False), encoding="utf-8")
        analysis = open_analysis(params_file, cache_dir=run_dir / "cache")
        kernel = ensure_kernel(kernel)
        reports = []
        for notebook in NOTEBOOKS:
            executed = _execute(notebook, params_file, run_dir, kernel)
            header = page_header(analysis.results, notebook)
            reports.append(render_html(executed, run_dir / f"{notebook}.html", f"{run_params.name}: {TITLES[notebook]}", header))
        results_text = json.dumps(analysis.results, indent=2, allow_nan=False) + "\n"
        (run_dir / "results.json").write_text(results_text, encoding="utf-8")
        (run_dir / REPORT).write_text(report_page(analysis.results, reports), encoding="utf-8")
        index = run_dir / "index.html"
        index.write_text(index_page(analysis.results, reports), encoding="utf-8")
        _write_status(run_dir, "succeeded")
    except SubgroupsError as exc:
        _mark_failed(run_dir, str(exc))
        raise
    except OSError as exc:  # disk full, permissions changed under the run: the user's to fix
        where = exc.filename or run_dir
        message = f"cannot write {where} ({exc.strerror or type(exc).__name__}); free space or give -o a writable folder"
        _mark_failed(run_dir, message)
        raise RunError(message) from None
    except BaseException as exc:  # a killed kernel, Ctrl-C, SIGTERM, or a bug: never leave a run looking complete
        _mark_failed(run_dir, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else 'interrupted'}")
        raise
    return RunResult(run_params.name, run_dir, index, analysis.results)


def _mark_failed(run_dir: Path, reason: str) -> None:
    for page in ("index.html", "report.html"):  # a failed run never looks complete
        with contextlib.suppress(OSError):
            (run_dir / page).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        _write_status(run_dir, "failed", reason=reason)


#: Exceptions raised in a notebook that are the user's to fix (the package's own, `subgroups.errors`).
USER_ERRORS = ("SubgroupsError", "ParameterError", "DataError", "RunError")


def _execute(notebook: str, params_file: Path, run_dir: Path, kernel: str) -> Path:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = notebooks_dir() / f"{notebook}.ipynb"
    if not source.is_file():
        raise RunError(f"notebook {source} is missing from the installation")
    target = run_dir / f"{notebook}.ipynb"
    try:
        papermill.execute_notebook(
            str(source),
            str(target),
            parameters={"params_file": str(params_file), "run_dir": str(run_dir)},
            kernel_name=kernel,
            cwd=str(source.parent),
            progress_bar=False,
            log_output=False,
            extra_arguments=["--log-level=CRITICAL"],
        )
    except PapermillExecutionError as exc:
        message = str(exc.evalue).splitlines()[0] if exc.evalue else ""
        text = f"notebook {notebook} failed in cell {exc.exec_count}: {exc.ename}: {message}"
        if exc.ename in USER_ERRORS:  # the package refused the parameters or data inside the notebook
            raise RunError(text) from None
        raise NotebookError(text) from exc  # a bug: the CLI says "internal error" and logs the cell's traceback
    except SubgroupsError:
        raise
    except Exception as exc:  # dead kernel, timeout, missing kernel
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise RunError(f"notebook {notebook} did not finish: {type(exc).__name__}: {first}") from None
    return target


_EXTERNAL_SCRIPT = re.compile(r"<script[^>]*\bsrc=\"https?://[^\"]*\"[^>]*>\s*</script>", re.IGNORECASE)
_BODY = re.compile(r"<body[^>]*>", re.IGNORECASE)
_EXTERNAL_LINK = re.compile(r"<link[^>]*\bhref=\"https?://[^\"]*\"[^>]*>", re.IGNORECASE)


def _figure_with_alt(output: Any) -> Any:
    """An SVG figure output as an ``<img>`` with its alt text (`subgroups.notebook.alt_text`); others unchanged."""
    import base64
    import html

    from subgroups.notebook import ALT_KEY

    data = output.get("data") or {}
    if output.get("output_type") not in ("display_data", "execute_result") or "image/svg+xml" not in data:
        return output
    svg = data["image/svg+xml"]
    alt = (output.get("metadata") or {}).get("image/svg+xml", {}).get(ALT_KEY) or "Figure of the report."
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    output["data"] = {"text/html": f'<img class="sg-figure" src="data:image/svg+xml;base64,{encoded}" alt="{html.escape(alt)}">'}
    output["metadata"] = {}
    return output


def render_html(executed: Path, target: Path, title: str, header: str = "") -> Path:
    """Render an executed notebook to self-contained HTML: no code, no prompts, no stderr, no CDN.

    `header` (an HTML fragment, `page_header`) is placed right after ``<body>``: the study, the page
    and links to the other pages, added here so the notebooks stay free of it.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(executed, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [
                _figure_with_alt(out)
                for out in cell.outputs
                if not (out.get("output_type") == "stream" and out.get("name") == "stderr")
            ]
    exporter = HTMLExporter(template_name="lab", exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    # embed_images stays off: figures are data URLs already, and with it nbconvert (7.17) re-parses each inline HTML
    # tag on its own, so `<code>name</code>` in a Markdown output came out as `<code></code>name`
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    body = _EXTERNAL_LINK.sub("", _EXTERNAL_SCRIPT.sub("", body))
    if header:
        body = _BODY.sub(lambda found: found.group(0) + "\n" + header, body, count=1)
    target.write_text(body, encoding="utf-8")
    return target


_STYLE_PAGE = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;margin:0 auto 2rem;padding:0 1rem;color:#222;line-height:1.45}"
_STYLE = """
.sg-summary{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#222;line-height:1.45}.sg-summary a{color:#224;text-decoration:underline}
.sg-summary h1{font-size:1.6rem}.sg-summary h2{font-size:1.2rem;margin-top:2rem}.sg-summary table{border-collapse:collapse}
.sg-summary td,.sg-summary th{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:left}
.sg-summary .tag{display:inline-block;padding:.05rem .4rem;border-radius:.3rem;background:#eef;font-size:.85em}.sg-summary .muted{color:#666;font-size:.9em}
.sg-summary ol.sg-summary-sentences li{margin:.35rem 0}.sg-summary dt{font-weight:600;margin-top:.5rem}.sg-summary dd{margin-left:1.2rem}
"""
REPORT = "report.html"  # every page in one self-contained file, to share


def _excluded(count: Any) -> str:
    """An exclusion count as the index shows it: "1,085 patients", "<10 patients", "number suppressed"."""
    shown = count_text(count)
    return "number suppressed" if shown == SUPPRESSED else f"{shown} patients"


def page_template(name: str) -> Any:
    """A Jinja2 template shipped in subgroups/templates (package data), with autoescaping on."""
    import jinja2

    def load(template: str) -> str:
        return importlib.resources.files("subgroups").joinpath("templates", template).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load), autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True
    )
    return env.get_template(name)


def _study(results: dict[str, Any]) -> str:
    return results["params"]["report"].get("title") or results["name"]


def page_header(results: dict[str, Any], current: str, *, in_report: bool = False) -> str:
    """The header of every page: study, page title, date, data fingerprint, version, and links to the other pages.

    `current` is a notebook name, "index" or "report"; in the combined report the links are anchors to its sections.
    """
    prov = results["provenance"]
    pages = [("index", "Summary"), *((nb, TITLES[nb]) for nb in NOTEBOOKS)]
    if in_report:
        links = [(f"#{'summary' if stem == 'index' else stem}", label, False) for stem, label in pages]
        links.append((REPORT, "All pages in one file", True))
    else:
        links = [(f"{stem}.html", label, stem == current) for stem, label in pages]
        links.append((REPORT, "All pages in one file (to share)", current == "report"))
    page = "All pages" if in_report else "Summary" if current == "index" else TITLES.get(current, current)
    return page_template("header.html.j2").render(
        study=_study(results),
        page=page,
        generated=prov["generated_at"],
        fingerprint=prov["data_sha256"][:16],
        version=prov["packages"].get("subgroups", "?"),
        links=links,
    )


def _summary(results: dict[str, Any], reports: list[Path], anchors: bool = False) -> str:
    """The index's content (executive summary, links, tables, glossary), shared by index.html and report.html."""
    from subgroups.narrative import (
        CONSTANT_EFFECT_MODEL,
        GLOSSARY,
        constant_effect_model,
        display_name,
        importance_caveat,
        index_summary,
        proxy_notes,
        spread_summary,
        unit_suffix,
    )

    data, ate, imp, design = results["data"], results["ate"], results["importance"], results["design"]
    unit = unit_suffix(results)  # RMST: a time; else the outcome's unit (data.labels)
    hr = ate.get("hazard_ratio")
    recommended = (design.get("recommended") or "none").replace("_", " ")
    if design.get("subgroup") and design.get("recommended") not in (None, "all_comers"):
        recommended += f" for {design['subgroup']}"
    if design.get("note"):
        recommended += f": {design['note']}"
    recommended = recommended[:1].upper() + recommended[1:]  # a table cell of its own
    links = [(f"#{p.stem}" if anchors else p.name, TITLES.get(p.stem, p.stem)) for p in reports]
    if reports and not anchors:
        links.append((REPORT, "All pages in one file (to share)"))
    return page_template("summary.html.j2").render(
        title=_study(results),
        name=results["name"],
        version=results["provenance"]["packages"].get("subgroups", "?"),
        prov=results["provenance"],
        packages=", ".join(f"{k} {v}" for k, v in results["provenance"]["packages"].items()),
        check=(results.get("audit") or {}).get("randomization"),
        data=data,
        min_cell=results["params"]["report"]["min_cell"],
        sentences=index_summary(results),
        links=links,
        dropped="; ".join(f"{why}: {_excluded(count)}" for why, count in data["dropped"].items()) or "none",
        ate=ate,
        ate_value=f"{ate['estimate']:+.3g}{unit} ({ate['ci_level']:.0%} CI {ate['ci_low']:.3g} to {ate['ci_high']:.3g}{unit}; "
        f"{p_text(ate['p_value'])}; n = {count_text(ate['n'])})",
        horizon=ate.get("horizon"),
        hazard_ratio=(
            f"{hr['estimate']:.3g} ({hr['ci_level']:.0%} CI {fmt(hr['ci_low'], '.3g')} to {fmt(hr['ci_high'], '.3g')}); {hr['method']}"
            if hr and hr.get("estimate") is not None
            else None
        ),
        het=results["heterogeneity"],
        subgroups=results["subgroups"],
        subgroup_tag="validated"
        if any(c["status"] == "validated" for c in results["subgroups"]["candidates"])
        else "exploratory",
        design_text=recommended,
        effects=results["effects"],
        top_features=[(name, display_name(name, results), value) for name, value in list(imp["by_feature"].items())[:5]],
        families=list(imp["by_family"].items()),
        importance_caveat=importance_caveat(results),  # "" unless heterogeneity was not detected: then greyed, with why
        proxies=proxy_notes(results),
        constant_model=CONSTANT_EFFECT_MODEL if constant_effect_model(results) else "",  # a table of zeros says nothing
        spread=spread_summary(results),
        imp=imp,
        gap=fmt(imp["approximation_gap_mean_abs"], ".3g"),
        gap_share=fmt(imp["approximation_gap_relative_to_effect_sd"], ".0%"),
        glossary=GLOSSARY,
    )


def index_page(results: dict[str, Any], reports: list[Path]) -> str:
    """The run's landing page: an executive summary in five sentences, links, headline numbers, glossary."""
    from markupsafe import Markup  # fragments rendered by the autoescaped templates, or constants: already safe

    return page_template("index.html.j2").render(
        title=_study(results),
        style=Markup(_STYLE_PAGE + _STYLE),  # noqa: S704
        header=Markup(page_header(results, "index")),  # noqa: S704
        summary=Markup(_summary(results, reports)),  # noqa: S704
    )


_HEAD = re.compile(r"<head[^>]*>(.*?)</head>", re.IGNORECASE | re.DOTALL)
_TITLE = re.compile(r"<title>.*?</title>", re.IGNORECASE | re.DOTALL)
_MAIN = re.compile(r"<main[^>]*>(.*?)</main>", re.IGNORECASE | re.DOTALL)


def report_page(results: dict[str, Any], reports: list[Path]) -> str:
    """All pages in one self-contained file: the index's summary first, then each notebook page's body (images inline).

    The notebook pages share one stylesheet (nbconvert's lab template), taken once from the first page.
    """
    from markupsafe import Markup  # nbconvert's rendered pages (names escaped there) and autoescaped fragments

    sections, head = [], ""
    for path in reports:
        text = path.read_text(encoding="utf-8")
        if not head and (found := _HEAD.search(text)):
            head = _TITLE.sub("", found.group(1))
        body = _MAIN.search(text)
        if body is None:
            raise RunError(f"{path}: the rendered page has no <main> element; re-run to render it again")
        sections.append((path.stem, TITLES.get(path.stem, path.stem), Markup(body.group(1))))  # noqa: S704
    return page_template("report.html.j2").render(
        title=_study(results),
        notebook_head=Markup(head),  # noqa: S704
        style=Markup(_STYLE),  # noqa: S704
        header=Markup(page_header(results, "report", in_report=True)),  # noqa: S704
        summary=Markup(_summary(results, reports, anchors=True)),  # noqa: S704
        sections=sections,
    )
