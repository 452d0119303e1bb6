"""The ``metahook`` command line.

    metahook list [NAME]
    metahook run NAME --scale quick|full --seed N --out DIR [--resume] [--set key=value ...]
                 [--ray-address ADDR]
    metahook reproduce --scale quick|full --out DIR [--only NAME ...] [--resume]
                       [--backend process|ray] [--ray-address ADDR]
    metahook bench NAME
    metahook report RUNS_DIR
    metahook forth "PROGRAM" [--task hanoi:N|1n2n:N] [--trace]

Bad input gets one line on stderr naming the problem and the valid choices, exit status 2, and
nothing written. Ctrl-C during a run writes a last checkpoint and exits 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from metahook import __version__
from metahook.harness.errors import RunInterrupted, UsageError

# Modules that add a sub-command: each has ``add_parser(subparsers)`` setting ``func``.
EXTRA_COMMANDS: list[str] = ["metahook.cli.forth", "metahook.cli.ledger", "metahook.cli.powerplay"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2.

    ``extra_help``, when set, is called for text appended to ``--help`` (computed only then).
    """

    extra_help: Callable[[], str] | None = None

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")

    def format_help(self) -> str:
        text = super().format_help()
        if self.extra_help is not None:
            text += "\n" + self.extra_help().rstrip("\n") + "\n"
        return text


def _err(message: str) -> None:
    print(f"metahook: error: {message}", file=sys.stderr)


def _notice(message: str) -> None:
    print(f"metahook: {message}", file=sys.stderr)


def _wrap(names: list[str], width: int = 78) -> str:
    """``names``, comma-separated and wrapped with an indent (for --help texts)."""
    import textwrap

    return textwrap.fill(", ".join(names), width=width, initial_indent="  ",
                         subsequent_indent="  ") if names else "  (none)"


def _set_value(value: Any) -> str:
    """A config value written as ``--set KEY=VALUE`` takes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (tuple, list)):
        return ",".join(_set_value(v) for v in value)
    return str(value)


def experiment_info(name: str) -> dict[str, Any]:
    """One experiment's description, config keys (type, value per scale) and reference figures."""
    import dataclasses
    from typing import get_type_hints

    from metahook.harness.config import allows_nonfinite, type_name
    from metahook.harness.registry import get_experiment

    exp = get_experiment(name)
    hints = get_type_hints(exp.config)
    keys = []
    for f in dataclasses.fields(exp.config):
        keys.append({
            "key": f.name,
            "type": type_name(hints[f.name], allows_nonfinite(exp.config, f.name)),
            **{scale: _set_value(getattr(cfg, f.name)) for scale, cfg in exp.scales.items()},
        })
    return {"name": exp.name, "system": exp.system, "paper": exp.paper,
            "description": exp.description, "scales": list(exp.scales), "config": keys,
            "reference": {k: r.to_json() for k, r in exp.reference.items()}}


def describe_experiment(name: str) -> str:
    """:func:`experiment_info` as plain text (``metahook list NAME``, ``run NAME --help``)."""
    import textwrap

    info = experiment_info(name)
    lines = [f"{info['name']} ({info['system']})", f"paper: {info['paper']}"]
    if info["description"]:
        lines += textwrap.wrap(info["description"], 98)
    scales = info["scales"]
    header = ["key", "type", *scales]
    rows = [[k["key"], k["type"], *(k[s] or "(empty)" for s in scales)] for k in info["config"]]
    widths = [min(40, max(len(str(r[i])) for r in [header, *rows])) for i in range(len(header))]
    lines += ["", "config keys (--set KEY=VALUE; the values of each scale):"]
    for row in [header, *rows]:
        cells = [str(c) if len(str(c)) <= w else str(c)[: w - 3] + "..."
                 for c, w in zip(row, widths, strict=True)]
        lines.append(("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
                     .rstrip())
    lines += ["", "the paper's figures (reference):"]
    if not info["reference"]:
        lines.append("  (none)")
    for key, ref in info["reference"].items():
        text = f"  {key}: {ref.get('value')} {ref.get('unit', '')}".rstrip()
        if ref.get("metric"):
            text += f"  [ours: {ref['metric']}, compare {ref.get('compare', '~')}]"
        if ref.get("status"):
            text += f"  ({ref['status']})"
        lines.append(text)
        lines += textwrap.wrap(f"source: {ref.get('source', '')}"
                               + (f"; {ref['note']}" if ref.get("note") else ""), 96,
                               initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from metahook.harness.registry import all_experiments

    if args.name:
        if args.json:
            print(json.dumps(experiment_info(args.name), indent=1))
        else:
            print(describe_experiment(args.name))
        return 0
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
    if args.checkpoint_every is None:
        args.checkpoint_every = 30.0
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

    restore_address = _check_ray_address(args)
    try:
        doc = run_experiment(args.name, out=Path(args.out), scale=args.scale, seed=args.seed,
                             resume=args.resume, overrides=args.set,
                             checkpoint_every_s=args.checkpoint_every, progress_sink=sink,
                             notify=_notice)
    finally:
        if progress.live.is_started:
            progress.stop()
        restore_address()
    from metahook.harness.report import terminal_table

    if not args.quiet:
        console.print(terminal_table([doc]))
    print(json.dumps({k: doc[k] for k in ("experiment", "scale", "seed", "status", "metrics")}))
    print(f"wrote {Path(args.out) / 'result.json'}", file=sys.stderr)
    return 0 if doc["status"] == "ok" else 1


def _check_ray_address(args: argparse.Namespace) -> Callable[[], None]:
    """``run --ray-address ADDR``: only for a config whose ``backend`` is ``ray`` (else a
    UsageError); the address reaches the run as ``RAY_ADDRESS`` (kept out of config.json: the
    cluster does not change the result). Returns what puts the environment back."""
    if args.ray_address is None:
        return lambda: None
    from metahook.harness import config as config_mod
    from metahook.harness.registry import get_experiment

    exp = get_experiment(args.name)
    if args.resume:
        from metahook.harness.runner import read_saved_run

        backend = read_saved_run(Path(args.out))["config"].get("backend")
    else:
        cfg = config_mod.apply_overrides(exp.config_for(args.scale or "quick"), args.set,
                                         exp.name)
        backend = getattr(cfg, "backend", None)
    if backend != "ray":
        has = "has backend=" + str(backend) if backend is not None else "has no backend key"
        raise UsageError(f"--ray-address needs a run on Ray: {exp.name} {has} (set it with "
                         "--set backend=ray where the experiment has that key)")
    before = os.environ.get("RAY_ADDRESS")
    os.environ["RAY_ADDRESS"] = args.ray_address

    def restore() -> None:
        if before is None:
            os.environ.pop("RAY_ADDRESS", None)
        else:
            os.environ["RAY_ADDRESS"] = before

    return restore


def cmd_reproduce(args: argparse.Namespace) -> int:
    from rich.console import Console

    from metahook.harness.report import collect, terminal_table, write_html
    from metahook.harness.reproduce import reproduce

    out = Path(args.out)
    summaries = reproduce(out, scale=args.scale, only=args.only, seed=args.seed,
                          workers=args.workers, live=not args.quiet, resume=args.resume,
                          backend=args.backend, ray_address=args.ray_address)
    stopped = [s["experiment"] for s in summaries if s["status"] == "interrupted"]
    if stopped:
        again = ["metahook", "reproduce", "--resume", "--scale", args.scale, "--seed",
                 str(args.seed), "--out", str(out)] + (["--only", *args.only] if args.only else [])
        if args.backend != "process":
            again += ["--backend", args.backend]
        if args.ray_address is not None:
            again += ["--ray-address", args.ray_address]
        raise RunInterrupted(f"interrupted: {len(stopped)} of {len(summaries)} experiments "
                             f"unfinished ({', '.join(stopped)}); continue them with: "
                             + " ".join(again))
    names = {s["experiment"] for s in summaries}
    runs = [r for r in collect(out) if r["experiment"] in names]
    report = write_html(out)
    console = Console(width=max(110, Console().width))
    from metahook.harness.ledger import find_ledger, load

    ledger = find_ledger()
    if ledger is not None:
        from metahook.harness.report import ledger_table

        console.print(ledger_table(load(ledger)))
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


def _benchmark_names_help() -> str:
    from metahook.harness.bench import benchmark_names

    return "benchmarks:\n" + _wrap(benchmark_names())


def _experiment_names_help() -> str:
    from metahook.harness.registry import experiment_names

    return ("experiments (`metahook list NAME` shows one in full):\n"
            + _wrap(experiment_names()))


class _RunHelp(argparse.Action):
    """``run --help``; after ``run NAME`` it adds NAME's config keys and reference figures."""

    def __init__(self, option_strings: list[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        name = getattr(namespace, "name", None)
        text = parser.format_help()
        if name:
            try:
                text += "\n" + describe_experiment(name) + "\n"
            except UsageError as exc:
                parser.exit(2, f"metahook: error: {exc}\n")
        else:
            text += "\n" + _experiment_names_help() + "\n"
        sys.stdout.write(text)
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="metahook", description="Learning how to learn learning algorithms, "
                     "reproduced: run the papers' experiments with their figures beside ours.")
    parser.add_argument("--version", action="version", version=f"metahook {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("list", help="every experiment: name, system, paper, scales; or one in full",
                       description="Without NAME: every experiment. With NAME: its description, "
                       "its config keys (what --set takes) with their types and values at each "
                       "scale, and the paper's figures it is compared with.")
    p.add_argument("name", nargs="?", default=None, help="an experiment to describe in full")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("run", help="run one experiment into a run directory", add_help=False,
                       description="Run one experiment into a run directory. `metahook run NAME "
                       "--help` (or `metahook list NAME`) also shows NAME's config keys, their "
                       "types and values at each scale, and the paper's figures.")
    p.add_argument("-h", "--help", action=_RunHelp, help="show this help (with NAME: its config "
                   "keys and reference figures too) and exit")
    p.add_argument("name", help="experiment name (see `metahook list`)")
    p.add_argument("--scale", choices=["quick", "full"], default=None,
                   help="quick (under a minute) or full (the paper's protocol); default quick")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed, 0..4294967295 (default 0)")
    p.add_argument("--out", default=None,
                   help="run directory (new, or the one to --resume); required")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value (repeatable)")
    p.add_argument("--checkpoint-every", type=float, default=None, metavar="SECONDS",
                   help="seconds between checkpoints, >= 0 (default 30)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or table")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="the Ray cluster for a run with --set backend=ray (default: "
                   "RAY_ADDRESS, else a local Ray started for the run)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser(
        "reproduce", help="run every experiment in parallel and write report.html",
        description="Run every experiment (or --only some) in worker processes, one per core, "
        "into OUT/<name>/, then print the papers' figures beside ours and write "
        "OUT/report.html. OUT/<name>/ is replaced when it holds a run of the same scale and "
        "seed; a folder holding a run of another scale or seed (finished or not), of another "
        "experiment, or files that are no run is never deleted: reproduce refuses it (one "
        "line, exit 2, nothing touched) -- use another --out. --resume keeps finished runs and "
        "continues the others (from their checkpoints). Ctrl-C stops the runs at their next "
        "checkpoint (a second Ctrl-C at once), marks them interrupted and exits 130.")
    p.add_argument("--scale", choices=["quick", "full"], default="quick")
    p.add_argument("--out", default="runs/reproduce", help="folder for the runs and the report")
    p.add_argument("--only", nargs="+", metavar="NAME", help="run only these experiments")
    p.add_argument("--seed", type=int, default=0, help="random seed, 0..4294967295 (default 0)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes, >= 1 (default: one per core)")
    p.add_argument("--resume", action="store_true",
                   help="keep finished runs in --out, continue the unfinished ones")
    p.add_argument("--quiet", action="store_true", help="no live progress display")
    p.add_argument("--backend", choices=["process", "ray"], default="process",
                   help="process: worker processes on this machine (default); ray: one Ray "
                   "task per experiment (same results)")
    p.add_argument("--ray-address", default=None, metavar="ADDR",
                   help="with --backend ray: the cluster to join (default: RAY_ADDRESS, else a "
                   "local Ray with --workers CPUs)")
    p.extra_help = _experiment_names_help
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("bench", help="run a speed benchmark and print one JSON object")
    p.add_argument("name", help="benchmark name (listed below)")
    p.add_argument("--quick", action="store_true", help="a shorter measurement")
    p.extra_help = _benchmark_names_help
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("report", help="write one self-contained HTML report of a runs folder")
    p.add_argument("runs_dir")
    p.add_argument("--out", default=None, help="HTML file (default RUNS_DIR/report.html)")
    p.set_defaults(func=cmd_report)

    for module in EXTRA_COMMANDS:
        importlib.import_module(module).add_parser(sub)
    return parser


def _stdout_gone() -> int:
    """The reader of stdout went away (``metahook ... | head``): stop quietly, no traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (tests); nothing left to silence
        pass
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args: Any = parser.parse_args(argv)
    except BrokenPipeError:  # --help into a closed pipe
        return _stdout_gone()
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _stdout_gone()
    except UsageError as exc:
        _err(str(exc))
        return 2
    except RunInterrupted as exc:
        _err(str(exc))
        return 130
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
