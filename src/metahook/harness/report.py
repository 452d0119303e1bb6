"""The report: the paper's figures and ours side by side.

:func:`collect` reads every ``result.json`` under a runs folder (the folder itself or its direct
sub-folders). :func:`write_html` renders one self-contained HTML page (plots embedded as base64
PNG): per experiment the paper, the reference figures beside ours, every other metric, the config
and the time taken. :func:`terminal_table` renders the same comparison for the terminal (rich).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from metahook.harness.checkpoint import atomic_write_bytes
from metahook.harness.errors import UsageError


def collect(runs_dir: Path) -> list[dict[str, Any]]:
    """Load every run under ``runs_dir`` (sorted by experiment name)."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise UsageError(f"{runs_dir} is not a folder of runs")
    candidates = [runs_dir, *sorted(p for p in runs_dir.iterdir() if p.is_dir())]
    runs = []
    for folder in candidates:
        result = folder / "result.json"
        if not result.is_file():
            continue
        try:
            doc = json.loads(result.read_text())
        except ValueError as exc:
            raise UsageError(f"corrupt {result}: {exc}") from None
        cfg_path = folder / "config.json"
        doc["_config"] = json.loads(cfg_path.read_text()) if cfg_path.is_file() else {}
        doc["_folder"] = str(folder)
        doc["_plots"] = sorted(str(p) for p in (folder / "plots").glob("*.png"))
        runs.append(doc)
    if not runs:
        raise UsageError(f"no result.json in {runs_dir} or its sub-folders")
    return sorted(runs, key=lambda d: d.get("experiment", ""))


def fmt(value: Any) -> str:
    """A number to 4 significant digits (integers with thousands separators)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.4g}"
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    if isinstance(value, (list, dict)):
        text = json.dumps(value)
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value)


def comparisons(doc: dict[str, Any]) -> list[dict[str, str]]:
    """Rows ``figure, paper, ours, verdict, unit, source`` of one run."""
    rows = []
    metrics = doc.get("metrics", {})
    for key, ref in doc.get("reference", {}).items():
        metric = ref.get("metric", "")
        ours = metrics.get(metric) if metric else None
        verdict = ""
        paper = ref.get("value")
        if ours is not None and isinstance(paper, (int, float)) and isinstance(ours, (int, float)):
            cmp = ref.get("compare", "~")
            if cmp == "<=":
                verdict = "ok" if ours <= paper else "worse"
            elif cmp == ">=":
                verdict = "ok" if ours >= paper else "worse"
            elif cmp == "~" and paper:
                verdict = f"x{ours / paper:.3g}"
        rows.append({
            "figure": key,
            "paper": fmt(paper),
            "ours": fmt(ours) if metric else "-",
            "verdict": verdict,
            "unit": str(ref.get("unit", "")),
            "source": str(ref.get("source", "")),
            "note": str(ref.get("note", "")),
        })
    return rows


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;color:#222}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;
text-align:left;vertical-align:top}th{background:#f3f3f3}.num{text-align:right}
.ok{color:#070}.worse,.error{color:#b00}.muted{color:#777}img{max-width:48%;margin:.3em}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;font-size:.85em}
"""


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(runs: list[dict[str, Any]], title: str = "metahook report") -> str:
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title>",
             f"<style>{_CSS}</style></head><body><h1>{e(title)}</h1>"]
    summary = []
    for doc in runs:
        status = doc.get("status", "?")
        summary.append([
            f"<a href='#{e(doc['experiment'])}'>{e(doc['experiment'])}</a>",
            e(doc.get("system", "")), e(doc.get("scale", "")),
            f"<span class='{e(status)}'>{e(status)}</span>",
            f"<span class='num'>{fmt(doc.get('metrics', {}).get('wall_s'))}</span>",
        ])
    parts.append(_table(["experiment", "system", "scale", "status", "wall s"], summary))
    for doc in runs:
        name = doc["experiment"]
        parts.append(f"<h2 id='{e(name)}'>{e(name)}</h2>")
        parts.append(f"<p><b>{e(doc.get('system', ''))}</b>: {e(doc.get('paper', ''))}<br>")
        parts.append(f"scale <b>{e(str(doc.get('scale')))}</b>, seed {e(str(doc.get('seed')))}, "
                     f"status <span class='{e(doc.get('status', ''))}'>"
                     f"{e(doc.get('status', ''))}</span>, wall time "
                     f"{fmt(doc.get('metrics', {}).get('wall_s'))} s</p>")
        if doc.get("error"):
            parts.append(f"<pre class='error'>{e(doc['error'])}</pre>")
        rows = comparisons(doc)
        if rows:
            parts.append("<h3>The paper's figures beside ours</h3>")
            parts.append(_table(
                ["figure", "paper", "ours", "", "unit", "source"],
                [[e(r["figure"]), f"<span class='num'>{e(r['paper'])}</span>",
                  f"<span class='num'>{e(r['ours'])}</span>",
                  f"<span class='{e(r['verdict'])}'>{e(r['verdict'])}</span>",
                  e(r["unit"]), e(r["source"]) + (f"<br><span class='muted'>{e(r['note'])}"
                                                   "</span>" if r["note"] else "")]
                 for r in rows]))
        metrics = doc.get("metrics", {})
        if metrics:
            parts.append("<h3>Metrics</h3>")
            parts.append(_table(["metric", "value"],
                                [[e(k), f"<span class='num'>{e(fmt(v))}</span>"]
                                 for k, v in metrics.items()]))
        for plot in doc.get("_plots", []):
            data = base64.b64encode(Path(plot).read_bytes()).decode()
            parts.append(f"<img alt='{e(Path(plot).name)}' src='data:image/png;base64,{data}'>")
        cfg = doc.get("_config", {}).get("config")
        if cfg is not None:
            parts.append("<h3>Config</h3><pre>" + e(json.dumps(cfg, indent=1)) + "</pre>")
        parts.append("<p class='muted'>versions: " + e(json.dumps(doc.get("versions", {})))
                     + "</p>")
    parts.append("</body></html>")
    return "".join(parts)


def write_html(runs_dir: Path, out: Path | None = None) -> Path:
    """Write ``report.html`` for the runs under ``runs_dir``; return its path."""
    runs = collect(runs_dir)
    target = Path(out) if out else Path(runs_dir) / "report.html"
    atomic_write_bytes(target, render_html(runs).encode())
    return target


def terminal_table(runs: list[dict[str, Any]]) -> Any:
    """A rich Table: experiment, figure, paper, ours, verdict, unit."""
    from rich.table import Table

    table = Table(title="The papers' figures beside ours", show_lines=False)
    for col, just in (("experiment", "left"), ("figure", "left"), ("paper", "right"),
                      ("ours", "right"), ("", "left"), ("unit", "left")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for doc in runs:
        rows = comparisons(doc)
        status = doc.get("status", "?")
        label = doc["experiment"] + ("" if status == "ok" else f" [{status}]")
        if not rows:
            table.add_row(label, "-", "-", "-", "", "")
        for i, r in enumerate(rows):
            table.add_row(label if i == 0 else "", r["figure"], r["paper"], r["ours"],
                          r["verdict"], r["unit"])
        table.add_section()
    return table
