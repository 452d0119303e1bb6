"""``metahook forth "PROGRAM"``: run one program of the OOPS language and print one JSON object.

    metahook forth "c3 dec boostq defnp c4 calltp c3 c5 calltp endnp" --task hanoi:5
    metahook forth "defnp c1 calltp c2 endnp" --task 1n2n:30
    metahook forth "c5 fak" --trace

The program is written at code address 77 (where the search writes its programs), after the
frozen code: the 7 declared programs, plus, with ``--frozen paper`` (the default for Hanoi), the
programs the original run had frozen when it searched Hanoi (so ``boostq 2`` refers to the 1^n2^n
solver). Output: the stop (``solved``, ``halted``, ``end``, ``bad-ip``, ``time``), the halt reason,
instructions, time steps, final ``ds`` and ``Ds`` (and pegs and moves for Hanoi), and with
``--task`` the task's verdict from an independent checker.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from metahook.harness.errors import UsageError


def _task(spec: str | None) -> tuple[int, int, str]:
    from metahook.envs.oops_tasks import GOAL_NONE, TASKS

    if spec is None:
        return GOAL_NONE, 1, "none"
    kind, _, num = spec.partition(":")
    if kind not in TASKS or not num.isdigit() or not 1 <= int(num) <= 30:
        raise UsageError(f"bad --task {spec!r}; valid: hanoi:N or 1n2n:N with N in 1..30")
    return TASKS[kind], int(num), kind


def cmd_forth(args: argparse.Namespace) -> int:
    from metahook.envs.oops_tasks import GOAL_HANOI, check_1n2n, check_hanoi
    from metahook.machines.forth.asm import UnknownToken, assemble
    from metahook.search.runner import PAPER_FROZEN, ProgramRunner

    try:
        program = assemble(args.program)
    except UnknownToken as e:
        raise UsageError(str(e)) from None
    goal, n, kind = _task(args.task)
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be >= 1, got {args.max_steps}")
    frozen_mode = args.frozen
    if frozen_mode == "auto":
        frozen_mode = "paper" if goal == GOAL_HANOI else "none"
    frozen = [assemble(p) for p in PAPER_FROZEN] if frozen_mode == "paper" else []
    runner = ProgramRunner(program, goal, n, args.max_steps, extended=args.extended,
                           frozen=frozen)
    res = runner.run(trace=args.trace, trace_limit=args.trace_limit)
    out: dict[str, Any] = {"program": args.program, "start": runner.start,
                           "frozen": frozen_mode, **res.to_json()}
    if kind != "none":
        solved = check_hanoi(res.pegs, n) if goal == GOAL_HANOI else check_1n2n(res.Ds, n)
        out["task"] = f"{kind}:{n}"
        out["verdict"] = "solved" if solved and res.stop == "solved" else "not solved"
        if goal == GOAL_HANOI:
            out["optimal_moves"] = 2**n - 1
    print(json.dumps(out))
    return 0


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser("forth", help="run one program of the OOPS language (JSON out)")
    p.add_argument("program", help='program text, e.g. "defnp c1 calltp c2 endnp"')
    p.add_argument("--task", default=None, metavar="hanoi:N|1n2n:N",
                   help="set up task N's tape and test its goal after every instruction")
    p.add_argument("--trace", action="store_true", help="include one record per instruction")
    p.add_argument("--trace-limit", type=int, default=10_000, help="at most this many records")
    p.add_argument("--max-steps", type=int, default=10**12, metavar="K",
                   help="time limit in time steps (default 1e12)")
    p.add_argument("--frozen", choices=["auto", "none", "paper"], default="auto",
                   help="frozen programs before the program (auto: paper's for Hanoi)")
    p.add_argument("--extended", action="store_true",
                   help="also allow the appendix instructions the original did not register")
    p.set_defaults(func=cmd_forth)
