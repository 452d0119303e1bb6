"""``metahook powerplay verify RUN_DIR``: re-run a PowerPlay run's whole repertoire on its solver.

Reads ``repertoire.json`` and the saved final solver from a PowerPlay run directory and re-runs
every task without the search: ``solver.npz`` of ``powerplay-forth`` through the OOPS machine's
interpreter, ``net.npz`` of ``powerplay-slim-patterns`` / ``powerplay-slim-fovea`` through the
pure-Python reference SLIM net. Prints one JSON line ``{"tasks": N, "failed": K}``. A run is
forgetting-free only if K = 0; the exit status is 0 then, 1 if some task failed, 2 for bad input.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from metahook.harness.errors import UsageError


def cmd_verify(args: Any) -> int:
    run_dir = Path(args.run_dir)
    if (run_dir / "repertoire.json").is_file() and (run_dir / "solver.npz").is_file():
        from metahook.experiments.powerplay_forth import verify
    elif (run_dir / "repertoire.json").is_file() and (run_dir / "net.npz").is_file():
        from metahook.experiments.powerplay_slim_patterns import verify
    else:
        raise UsageError(f"{run_dir} is not a PowerPlay run directory: it needs repertoire.json "
                         "and solver.npz (powerplay-forth) or net.npz (powerplay-slim-*)")
    try:
        out = verify(run_dir)
    except (ValueError, KeyError, TypeError, IndexError, OSError, zipfile.BadZipFile,
            json.JSONDecodeError) as err:
        raise UsageError(f"{run_dir}: unreadable repertoire or solver ({err})") from None
    print(json.dumps(out))
    return 0 if out["failed"] == 0 else 1


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("powerplay", help="PowerPlay tools: verify a run's repertoire")
    psub = p.add_subparsers(dest="powerplay_command", required=True, parser_class=type(p))
    v = psub.add_parser("verify", help="re-run every task of a run's repertoire on its final "
                        "solver (machine only); prints {\"tasks\": N, \"failed\": K}")
    v.add_argument("run_dir", help="a powerplay-forth run directory")
    v.set_defaults(func=cmd_verify)
