"""``metahook ledger``: the results ledger of committed runs (see :mod:`metahook.harness.ledger`).

    metahook ledger add RUN_DIR --label full [--command "metahook run ..."] [--replace]
    metahook ledger list
    metahook ledger check [FILE.md ...]     # every tagged figure of README.md and docs/*.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from metahook.harness.errors import UsageError


def _ledger_dir(args: argparse.Namespace) -> Path:
    if args.ledger:
        return Path(args.ledger)
    from metahook.harness.ledger import LEDGER_DIR, find_ledger

    return find_ledger() or Path(LEDGER_DIR)


def cmd_add(args: argparse.Namespace) -> int:
    from metahook.harness.ledger import add, size_bytes

    ledger = _ledger_dir(args)
    target = add(Path(args.run_dir), ledger, args.label, args.command, replace=args.replace)
    print(f"added {target} (ledger: {size_bytes(ledger) / 1e6:.1f} MB)")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from metahook.harness.ledger import load

    for key, ent in load(_ledger_dir(args)).items():
        cmd = ent.command.splitlines()[0] if ent.command else "?"
        print(f"{key:40s} {ent.result.get('scale', '?'):6s} seed {ent.result.get('seed', '?')}"
              f"  {cmd}")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    from metahook.harness.claims import check_files
    from metahook.harness.ledger import load

    ledger = _ledger_dir(args)
    root = ledger.resolve().parent
    files = [Path(f) for f in args.files] or [root / "README.md", *sorted((root / "docs")
                                                                          .glob("*.md"))]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"no such file: {missing[0]}")
    claims, problems = check_files(files, load(ledger))
    for p in problems:
        print(p)
    print(f"{len(claims)} figures tagged, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


def add_parser(sub: Any) -> None:
    p = sub.add_parser("ledger", help="the results ledger: add a finished run, list, check docs")
    p.add_argument("--ledger", default=None,
                   help="the ledger folder (default: results/ of the repository around here)")
    lsub = p.add_subparsers(dest="ledger_command", required=True, parser_class=type(p))
    a = lsub.add_parser("add", help="copy a finished run into results/<experiment>/<label>/")
    a.add_argument("run_dir")
    a.add_argument("--label", required=True, help="the run's name in the ledger, e.g. full")
    a.add_argument("--command", default=None,
                   help="the exact command that made the run (default: RUN_DIR/command.txt)")
    a.add_argument("--replace", action="store_true", help="overwrite an existing entry")
    a.set_defaults(func=cmd_add)
    lst = lsub.add_parser("list", help="every committed run and its command")
    lst.set_defaults(func=cmd_list)
    c = lsub.add_parser("check", help="every tagged figure of the docs against the ledger")
    c.add_argument("files", nargs="*", help="Markdown files (default README.md and docs/*.md)")
    c.set_defaults(func=cmd_check)
