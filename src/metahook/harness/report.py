"""The report: the papers' figures beside ours, from the results ledger, then the runs at hand.

:func:`write_html` renders one self-contained HTML page (plots embedded as base64 PNG) in two
sections:

1. **Papers vs metahook**, built from the results ledger alone (:mod:`metahook.harness.ledger`):
   for every committed full-protocol run, each figure the paper gives beside ours, the paper's
   figure's provenance (``verified``, ``secondary``, ``unconfirmed``, ``program``, ``derived``),
   a verdict, and for methods whose runs can fail the solved count and the mean with unsolved
   runs counted at the cap (the verdict of a ``<=`` figure uses that mean); a link to the
   system's page in ``docs/``.
2. **Runs of this invocation** (the folder given): a quick-scale run is a *smoke run*, shown
   with whether it finished and passed its experiment's smoke criterion, never with a verdict
   against the paper's full-protocol figure; a run at another scale that is not in the ledger
   gets verdicts like the ledger's.

:func:`terminal_table` and :func:`ledger_table` render the same for the terminal (rich).
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import re
from pathlib import Path
from typing import Any

from metahook.harness.checkpoint import atomic_write_bytes
from metahook.harness.errors import UsageError
from metahook.harness.ledger import Entry, find_ledger, load

_SUP = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _run_doc(folder: Path) -> dict[str, Any] | None:
    result = folder / "result.json"
    if not result.is_file():
        return None
    try:
        doc: dict[str, Any] = json.loads(result.read_text())
    except ValueError as exc:
        raise UsageError(f"corrupt {result}: {exc}") from None
    cfg_path = folder / "config.json"
    try:
        doc["_config"] = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
    except ValueError:
        doc["_config"] = {}
    doc["_folder"] = str(folder)
    doc["_plots"] = sorted(str(p) for p in (folder / "plots").glob("*.png"))
    return doc


def collect(runs_dir: Path) -> list[dict[str, Any]]:
    """Load every run under ``runs_dir`` (the folder itself or its direct sub-folders), sorted
    by experiment and folder."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise UsageError(f"{runs_dir} is not a folder of runs")
    candidates = [runs_dir, *sorted(p for p in runs_dir.iterdir() if p.is_dir())]
    runs = [doc for folder in candidates if (doc := _run_doc(folder)) is not None]
    if not runs:
        raise UsageError(f"no result.json in {runs_dir} or its sub-folders")
    return sorted(runs, key=lambda d: (d.get("experiment", ""), d["_folder"]))


def is_ledger(folder: Path) -> bool:
    """Whether ``folder`` is a results ledger (``<experiment>/<label>/result.json``)."""
    return Path(folder).is_dir() and any(Path(folder).glob("*/*/result.json"))


def fmt(value: Any) -> str:
    """One number format for the whole report.

    Integers and floats of 1,000 and more: rounded, with thousands separators (a float up to
    10^15; beyond, ``1.23×10¹⁶``); other floats to 4 significant digits, below 10^-3 as
    ``3.07×10⁻⁸``; None as ``n/a``; strings as they are.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if abs(value) >= 1e15 or (value != 0 and abs(value) < 1e-3):
            mant, exp = f"{value:.3e}".split("e")
            return f"{float(mant):.3g}×10{str(int(exp)).translate(_SUP)}"
        if abs(value) >= 1000 or value.is_integer():
            return f"{round(value):,}"
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _companions(metrics: dict[str, Any], metric: str) -> dict[str, Any]:
    """For a mean over solved runs (``X_mean_evaluations``), the method's solved count, run
    count and mean with unsolved runs counted at the cap, when the run records them."""
    for suffix in ("mean_evaluations", "mean"):
        if metric.endswith(suffix):
            prefix = metric[: -len(suffix)]
            out = {k: metrics.get(prefix + k) for k in ("solved", "runs")}
            out["at_cap"] = metrics.get(metric + "_at_cap")
            if out["solved"] is not None and out["runs"] is not None:
                return out
    return {}


def comparisons(doc: dict[str, Any], verdicts: bool = True) -> list[dict[str, str]]:
    """Rows ``figure, paper, status, ours, runs, verdict, unit, source, note`` of one run.

    Verdicts: ``~`` gives the ratio of the figure shown (``ratio 0.94``); ``<=`` / ``>=`` say
    whether ours meets the paper's figure, where runs can fail judged on the mean with unsolved
    runs at the cap; no
    verdict when either side is not a number or ``verdicts`` is false (a smoke run).
    """
    rows = []
    metrics = doc.get("metrics", {})
    for key, ref in doc.get("reference", {}).items():
        metric = ref.get("metric", "")
        ours = metrics.get(metric) if metric else None
        paper = ref.get("value")
        extra = _companions(metrics, metric) if metric else {}
        solved = f"{extra['solved']}/{extra['runs']}" if extra else ""
        at_cap = fmt(extra["at_cap"]) if extra and extra.get("at_cap") is not None else ""
        runs = f"{solved} solved" if solved else ""
        judged = ours
        if at_cap:
            runs += f"; mean, unsolved at the cap: {at_cap}"
            judged = extra["at_cap"]
        verdict = ""
        cmp = ref.get("compare", "~")
        if verdicts and _number(paper) and _number(judged):
            if cmp == "<=":
                verdict = "met" if judged <= paper else "not met"
            elif cmp == ">=":
                verdict = "met" if judged >= paper else "not met"
            elif cmp == "~" and paper and _number(ours):
                verdict = f"ratio {ours / paper:.3g}"  # the quantity shown beside the paper's
        rows.append({
            "figure": key,
            "paper": fmt(paper),
            "status": str(ref.get("status", "")),
            "ours": fmt(ours) if metric else "-",
            "runs": runs,
            "runs_short": solved + (f", cap mean {at_cap}" if at_cap else ""),
            "verdict": verdict,
            "compare": ({"<=": "ours ≤ paper", ">=": "ours ≥ paper", "~": "same quantity",
                         "": "context"}.get(cmp, cmp) if metric else "context"),
            "unit": str(ref.get("unit", "")),
            "source": str(ref.get("source", "")),
            "note": str(ref.get("note", "")),
        })
    return rows


def smoke_verdict(doc: dict[str, Any]) -> str:
    """Whether a smoke run passed its own criterion: finished with status ok, and the
    experiment's ``smoke`` check (if it registers one) holds on its metrics."""
    status = doc.get("status", "?")
    if status != "ok":
        return f"failed ({status})"
    try:
        from metahook.harness.registry import get_experiment

        check = get_experiment(str(doc.get("experiment"))).smoke
    except UsageError:
        check = None
    if check is None:
        return "passed (finished; no criterion registered)"
    try:
        ok, why = check(doc.get("metrics", {}))
    except (KeyError, TypeError) as exc:
        return f"failed: metric missing or malformed ({exc})"
    return ("passed: " if ok else "failed: ") + why


def docs_page(experiment: str, docs: Path | None) -> Path | None:
    """The page of ``docs/`` that documents ``experiment`` (names it most often)."""
    if docs is None or not docs.is_dir():
        return None
    best, count = None, 0
    name = re.compile(rf"(?<![\w-]){re.escape(experiment)}(?![\w-])")
    for page in sorted(docs.glob("*.md")):
        n = len(name.findall(page.read_text()))
        if n > count:
            best, count = page, n
    return best


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:76em;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}h3{margin-bottom:.3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
.met,.ok,.passed{color:#070}.notmet,.error,.failed,.interrupted{color:#b00}.muted{color:#777}
.tag{font-size:.8em;padding:0 .4em;border-radius:.6em;background:#eee;white-space:nowrap}
.smoke{background:#fff3cd}.ledger{background:#e7f3ff}
img{max-width:48%;margin:.3em;border:1px solid #eee}
"""


def _table(headers: list[str], rows: list[list[str]], num: set[int] | None = None) -> str:
    num = num or set()
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td class='num'>{c}</td>" if i in num else f"<td>{c}</td>"
                         for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _kv_table(values: dict[str, Any]) -> str:
    e = html.escape
    return _table(["key", "value"], [[e(str(k)), e(fmt(v))] for k, v in values.items()], {1})


def _figures_html(doc: dict[str, Any], verdicts: bool) -> str:
    e = html.escape
    rows = comparisons(doc, verdicts)
    if not rows:
        return "<p class='muted'>The paper gives no figure this run compares with.</p>"
    cls = {"met": "met", "not met": "notmet"}
    body = []
    for r in rows:
        source = e(r["source"]) + (f"<br><span class='muted'>{e(r['note'])}</span>"
                                   if r["note"] else "")
        status = f"<span class='tag'>{e(r['status'])}</span>" if r["status"] else ""
        cells = [e(r["figure"]), f"{e(r['paper'])} {status}", e(r["ours"]), e(r["runs"])]
        if verdicts:
            cells.append(f"<span class='{cls.get(r['verdict'], '')}'>{e(r['verdict'])}</span>")
        cells += [e(r["compare"]), e(r["unit"]), source]
        body.append(cells)
    headers = ["figure", "paper", "ours", "runs"] + (["verdict"] if verdicts else [])
    headers += ["how to read", "unit", "paper's source"]
    return _table(headers, body, {1, 2})


def _plots_html(plots: list[str]) -> str:
    e = html.escape
    out = []
    for plot in plots:
        data = base64.b64encode(Path(plot).read_bytes()).decode()
        out.append(f"<img alt='{e(Path(plot).name)}' src='data:image/png;base64,{data}'>")
    return "".join(out)


def _config_html(doc: dict[str, Any]) -> str:
    cfg = doc.get("_config", {}).get("config")
    parts = []
    if isinstance(cfg, dict) and cfg:
        parts.append("<details><summary>config</summary>" + _kv_table(cfg) + "</details>")
    versions = doc.get("versions", {})
    if isinstance(versions, dict) and versions:
        parts.append("<details><summary>versions</summary>" + _kv_table(versions)
                     + "</details>")
    return "".join(parts)


def _anchor(doc: dict[str, Any]) -> str:
    return "run-" + "".join(c if c.isalnum() else "-" for c in doc["_folder"])


def _with_current_reference(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` with the paper's figures as the experiment registers them now (value, source
    and provenance from :mod:`metahook.references`), where it is still registered; a committed
    run keeps the copy it was written with otherwise."""
    doc = dict(result)
    try:
        from metahook.harness.registry import get_experiment

        exp = get_experiment(str(doc.get("experiment")))
    except UsageError:
        return doc
    doc["reference"] = {k: r.to_json() for k, r in exp.reference.items()}
    return doc


def _ledger_html(entries: dict[str, Entry], report_dir: Path) -> str:
    e = html.escape
    docs = next(iter(entries.values())).folder.parent.parent.parent / "docs" if entries else None
    parts = ["<h2 id='papers-vs-metahook'>Papers vs metahook</h2>",
             "<p>Every run below is committed in the results ledger (<code>results/</code>) and "
             "ran the experiment's full protocol (or the configuration its command names); the "
             "docs quote only these runs, and a test holds them to it. The paper's figures carry "
             "their provenance: <span class='tag'>verified</span> against the paper's text, "
             "<span class='tag'>secondary</span> quoted through a secondary source, "
             "<span class='tag'>unconfirmed</span>, <span class='tag'>program</span> the "
             "original program's own output, <span class='tag'>derived</span>.</p>"]
    summary = []
    for key, ent in entries.items():
        doc = _with_current_reference(ent.result)
        page = docs_page(ent.experiment, docs)
        link = (f"<a href='{e(os.path.relpath(page, report_dir))}'>{e(page.name)}</a>"
                if page else "")
        rows = comparisons(doc, verdicts=doc.get("scale") != "quick")
        met = sum(r["verdict"] == "met" for r in rows)
        judged = sum(r["verdict"] in ("met", "not met") for r in rows)
        summary.append([f"<a href='#ledger-{e(key)}'>{e(key)}</a>", e(doc.get("system", "")),
                        e(str(doc.get("scale", ""))), e(str(doc.get("seed", ""))),
                        f"{met} of {judged}" if judged else "-",
                        fmt(doc.get("metrics", {}).get("wall_s")), link])
    parts.append(_table(["run", "system", "scale", "seed", "≤ / ≥ figures met",
                         "wall s", "docs"], summary, {5}))
    from metahook.harness.registry import experiment_names

    missing = sorted(set(experiment_names()) - {ent.experiment for ent in entries.values()}
                     - {"toy-counter"})  # the harness's self-test reproduces no paper
    if missing:
        parts.append("<p class='muted'>No committed run yet (their pages say where their "
                     "figures come from): " + ", ".join(e(n) for n in missing) + ".</p>")
    for key, ent in entries.items():
        doc = _with_current_reference(ent.result)
        doc["_config"] = ent.config
        parts.append(f"<h3 id='ledger-{e(key)}'>{e(key)} "
                     f"<span class='tag ledger'>ledger</span></h3>")
        parts.append(f"<p>{e(doc.get('paper', ''))}<br><span class='muted'>command: "
                     f"<code>{e(ent.command.splitlines()[0] if ent.command else '?')}</code>"
                     "</span></p>")
        parts.append(_figures_html(doc, verdicts=doc.get("scale") != "quick"))
        parts.append(_plots_html([str(p) for p in ent.plots]))
        parts.append(_config_html(doc))
    return "".join(parts)


def _runs_html(runs: list[dict[str, Any]]) -> str:
    e = html.escape
    parts = ["<h2 id='runs'>Runs of this report</h2>",
             "<p>A quick-scale run is a <span class='tag smoke'>smoke run</span>: it checks that "
             "the experiment runs end to end and passes its own smoke criterion, on a budget far "
             "below the paper's, so it gets no verdict against the paper's figures (those are "
             "judged above, on the ledger's full runs).</p>"]
    summary = []
    for doc in runs:
        smoke = doc.get("scale") == "quick"
        status = str(doc.get("status", "?"))
        verdict = smoke_verdict(doc) if smoke else status
        summary.append([f"<a href='#{_anchor(doc)}'>{e(doc['experiment'])}</a>",
                        e(Path(doc["_folder"]).name), e(str(doc.get("scale", ""))),
                        e(str(doc.get("seed", ""))),
                        f"<span class='{e(verdict.split()[0].rstrip(':'))}'>{e(verdict)}</span>",
                        fmt(doc.get("metrics", {}).get("wall_s"))])
    parts.append(_table(["experiment", "folder", "scale", "seed", "status", "wall s"], summary,
                        {5}))
    for doc in runs:
        smoke = doc.get("scale") == "quick"
        tag = "<span class='tag smoke'>smoke run</span>" if smoke else ""
        parts.append(f"<h3 id='{_anchor(doc)}'>{e(doc['experiment'])} {tag}</h3>")
        parts.append(f"<p>{e(doc.get('paper', ''))}<br>folder <code>{e(doc['_folder'])}</code>, "
                     f"scale <b>{e(str(doc.get('scale')))}</b>, seed {e(str(doc.get('seed')))}, "
                     f"status <span class='{e(str(doc.get('status', '')))}'>"
                     f"{e(str(doc.get('status', '')))}</span>, wall time "
                     f"{fmt(doc.get('metrics', {}).get('wall_s'))} s</p>")
        if doc.get("error"):
            parts.append(f"<pre class='error'>{e(str(doc['error']))}</pre>")
        if smoke:
            parts.append(f"<p>Smoke criterion: {e(smoke_verdict(doc))}.</p>")
        parts.append(_figures_html(doc, verdicts=not smoke))
        metrics = doc.get("metrics", {})
        if metrics:
            parts.append("<details><summary>all metrics</summary>" + _kv_table(metrics)
                         + "</details>")
        parts.append(_plots_html(doc.get("_plots", [])))
        parts.append(_config_html(doc))
    return "".join(parts)


def render_html(runs: list[dict[str, Any]], entries: dict[str, Entry] | None = None,
                report_dir: Path | None = None, title: str = "metahook report") -> str:
    """The page: the ledger's "Papers vs metahook" section (if any), then ``runs``."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]
    if entries:
        parts.append(_ledger_html(entries, report_dir or Path.cwd()))
    if runs:
        parts.append(_runs_html(runs))
    parts.append("</body></html>")
    return "".join(parts)


def write_html(runs_dir: Path, out: Path | None = None, ledger: Path | None = None) -> Path:
    """Write ``report.html`` for ``runs_dir``; return its path.

    If ``runs_dir`` is a results ledger, the page is its "Papers vs metahook" section alone.
    Otherwise that section comes from ``ledger`` (default: the ``results/`` folder of the
    repository around the working directory, if there is one), followed by the runs.
    """
    runs_dir = Path(runs_dir)
    target = Path(out) if out else runs_dir / "report.html"
    if is_ledger(runs_dir):
        entries, runs = load(runs_dir), []
    else:
        runs = collect(runs_dir)
        found = Path(ledger) if ledger else find_ledger()
        entries = load(found) if found else {}
    page = render_html(runs, entries, target.resolve().parent)
    atomic_write_bytes(target, page.encode())
    return target


def ledger_table(entries: dict[str, Entry]) -> Any:
    """A rich Table of the ledger: run, figure, paper (status), ours, runs, verdict."""
    from rich.table import Table

    table = Table(title="Papers vs metahook (the results ledger: full-protocol runs)")
    for col, just in (("run", "left"), ("figure", "left"), ("paper", "right"),
                      ("ours", "right"), ("runs", "left"), ("verdict", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for key, ent in entries.items():
        rows = comparisons(_with_current_reference(ent.result),
                           verdicts=ent.result.get("scale") != "quick")
        for i, r in enumerate(rows):
            paper = r["paper"] + (f" ({r['status']})" if r["status"] else "")
            table.add_row(key if i == 0 else "", r["figure"], paper, r["ours"], r["runs_short"],
                          r["verdict"])
        if rows:
            table.add_section()
    return table


def terminal_table(runs: list[dict[str, Any]]) -> Any:
    """A rich Table of runs: a smoke run shows its smoke criterion; another run its figures."""
    from rich.table import Table

    table = Table(title="Runs (quick scale = smoke run: no verdict against the paper)")
    for col, just in (("experiment", "left"), ("folder", "left"), ("scale", "left"),
                      ("figure", "left"), ("paper", "right"), ("ours", "right"),
                      ("verdict", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for doc in runs:
        folder = Path(doc.get("_folder", "")).name
        if doc.get("scale") == "quick":
            table.add_row(doc["experiment"], folder, "quick", "smoke criterion", "", "",
                          smoke_verdict(doc))
            continue
        rows = comparisons(doc)
        if not rows:
            table.add_row(doc["experiment"], folder, str(doc.get("scale")), "-", "", "",
                          str(doc.get("status")))
        for i, r in enumerate(rows):
            table.add_row(doc["experiment"] if i == 0 else "", folder if i == 0 else "",
                          str(doc.get("scale")) if i == 0 else "", r["figure"], r["paper"],
                          r["ours"], r["verdict"])
        table.add_section()
    return table
