"""The ``metahook`` command line.

    metahook list
    metahook run NAME --scale quick|full --seed N --out DIR [--resume] [--set key=value ...]
    metahook reproduce --scale quick|full --out DIR [--only NAME ...]
    metahook bench NAME
    metahook report RUNS_DIR

Bad input gets one line on stderr naming the problem and the valid choices, exit status 2, and
nothing written. Ctrl-C during a run writes a last checkpoint and exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from metahook import __version__
from metahook.harness.errors import RunInterrupted, UsageError

# Modules that add a sub-command: each has ``add_parser(subparsers)`` setting ``func``.
EXTRA_COMMANDS: list[str] = ["metahook.cli.forth", "metahook.cli.ledger"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _err(message: str) -> None:
    print(f"metahook: error: {message}", file=sys.stderr)


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from metahook.harness.registry import all_experiments

    exps = all_experiments()
    if args.json:
        print(json.dumps([{"name": e.name, "system": e.system, "paper": e.paper,
                           "scales": list(e.scales)} for e in exps], indent=1))
        return 0
    table = Table(title="metahook experiments")
    for col in ("name", "system", "paper", "scales"):
        table.add_column(col)
    for e in exps:
        table.add_row(e.name, e.system, e.paper, ", ".join(e.scales))
    Console(width=max(120, Console().width)).print(table)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from metahook.harness.registry import get_experiment
    from metahook.harness.runner import run_experiment

    get_experiment(args.name)  # an unknown name is named first, with the valid ones
    if args.out is None:
        raise UsageError("--out DIR is required: the run directory (new, or the one to --resume)")
    console = Console(stderr=True)
    progress = Progress(TextColumn(f"{args.name}"), BarColumn(),
                        TextColumn("{task.percentage:>3.0f}%"), TimeElapsedColumn(),
                        TextColumn("{task.description}"), console=console,
                        disable=args.quiet)
    task = progress.add_task("", total=1.0)

    def sink(done: float, total: float, description: str) -> None:
        if not progress.live.is_started:  # started lazily: bad input prints one line only
            progress.start()
        progress.update(task, completed=done, total=total, description=description)

    try:
        doc = run_experiment(args.name, out=Path(args.out), scale=args.scale, seed=args.seed,
                             resume=args.resume, overrides=args.set,
                             checkpoint_every_s=args.checkpoint_every, progress_sink=sink)
    finally:
        if progress.live.is_started:
            progress.stop()
    from metahook.harness.report import terminal_table

    if not args.quiet:
        console.print(terminal_table([doc]))
    print(json.dumps({k: doc[k] for k in ("experiment", "scale", "seed", "status", "metrics")}))
    print(f"wrote {Path(args.out) / 'result.json'}", file=sys.stderr)
    return 0 if doc["status"] == "ok" else 1


def cmd_reproduce(args: argparse.Namespace) -> int:
    from rich.console import Console

    from metahook.harness.report import collect, terminal_table, write_html
    from metahook.harness.reproduce import reproduce

    out = Path(args.out)
    summaries = reproduce(out, scale=args.scale, only=args.only, seed=args.seed,
                          workers=args.workers, live=not args.quiet)
    names = {s["experiment"] for s in summaries}
    runs = [r for r in collect(out) if r["experiment"] in names]
    report = write_html(out)
    console = Console(width=max(110, Console().width))
    console.print(terminal_table(runs))
    failed = [s["experiment"] for s in summaries if s["status"] != "ok"]
    total = sum(s["wall_s"] or 0 for s in summaries)
    console.print(f"{len(summaries)} experiments, {len(failed)} failed"
                  + (f" ({', '.join(failed)})" if failed else "")
                  + f"; {total:.0f} s of run time in all")
    console.print(f"HTML report: {report.resolve()}")
    return 0 if not failed else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from metahook.harness.bench import run_benchmark

    print(json.dumps(run_benchmark(args.name, quick=args.quick)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from metahook.harness.report import write_html

    path = write_html(Path(args.runs_dir), Path(args.out) if args.out else None)
    print(f"HTML report: {path.resolve()}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="metahook", description="Learning how to learn learning algorithms, "
                     "reproduced: run the papers' experiments with their figures beside ours.")
    parser.add_argument("--version", action="version", version=f"metahook {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="every experiment: name, system, paper, scales")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run one experiment into a run directory")
    p.add_argument("name", help="experiment name (see `metahook list`)")
    p.add_argument("--scale", choices=["quick", "full"], default=None,
                   help="quick (under a minute) or full (the paper's protocol); default quick")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 0)")
    p.add_argument("--out", default=None,
                   help="run directory (new, or the one to --resume); required")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--checkpoint-every", type=float, default=30.0, metavar="SECONDS",
                   help="seconds between checkpoints (default 30)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("reproduce", help="run every experiment in parallel and write report.html")
    p.add_argument("--scale", choices=["quick", "full"], default="quick")
    p.add_argument("--out", default="runs/reproduce", help="folder for the runs and the report")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: cores)")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("bench", help="run a speed benchmark and print one JSON object")
    p.add_argument("name", help="benchmark name")
    p.add_argument("--quick", action="store_true", help="a shorter measurement")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("report", help="write one self-contained HTML report of a runs folder")
    p.add_argument("runs_dir")
    p.add_argument("--out", default=None, help="HTML file (default RUNS_DIR/report.html)")
    p.set_defaults(func=cmd_report)

    for module in EXTRA_COMMANDS:
        importlib.import_module(module).add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args: Any = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except UsageError as exc:
        _err(str(exc))
        return 2
    except RunInterrupted as exc:
        _err(str(exc))
        return 130
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
