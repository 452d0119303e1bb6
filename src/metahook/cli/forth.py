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

The time limit ``--max-steps`` defaults to 10^8 time steps (a second or two); the search's own
limits are far larger, so raise it for long runs (Hanoi n needs about 31·2^n steps). The machine
runs in slices of ``SLICE`` instructions, and Ctrl-C is honoured between slices: the state
reached is printed with the stop ``interrupted`` and the exit status is 130. Slicing does not
change results: a slice ends only where the uninterrupted run would go on.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from metahook.harness.errors import RunInterrupted, UsageError

DEFAULT_MAX_STEPS = 10**8
SLICE = 1 << 22  # instructions per slice: a few hundredths of a second compiled


def _count(text: str) -> int:
    """An integer >= 1 for argparse, also written as ``1e8``."""
    try:
        value = float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer such as 100000000 or 1e8, "
                                         f"got {text!r}") from None
    if isinstance(value, float):
        if not value.is_integer():
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}")
        value = int(value)
    return value


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
    from metahook.search.direct import PAPER_FROZEN, STOP_BUDGET, ProgramRunner, run_slice

    try:
        program = assemble(args.program)
    except UnknownToken as e:
        raise UsageError(str(e)) from None
    goal, n, kind = _task(args.task)
    if args.max_steps < 1:
        raise UsageError(f"--max-steps must be >= 1, got {args.max_steps}")
    if args.trace_limit < 1:
        raise UsageError(f"--trace-limit must be >= 1, got {args.trace_limit}")
    frozen_mode = args.frozen
    if frozen_mode == "auto":
        frozen_mode = "paper" if goal == GOAL_HANOI else "none"
    frozen = [assemble(p) for p in PAPER_FROZEN] if frozen_mode == "paper" else []
    runner = ProgramRunner(program, goal, n, args.max_steps, extended=args.extended,
                           frozen=frozen)
    interrupted = False
    try:
        if args.trace:
            res = runner.run(trace=True, trace_limit=args.trace_limit)
        else:
            code = STOP_BUDGET
            while code == STOP_BUDGET:  # Python checks for Ctrl-C between slices
                code = int(run_slice(runner.st.M, runner.st.F, SLICE))
            res = runner.result(code)
    except KeyboardInterrupt:
        interrupted = True
        res = runner.result(STOP_BUDGET)
        res.stop = "interrupted"
    out: dict[str, Any] = {"program": args.program, "start": runner.start,
                           "frozen": frozen_mode, **res.to_json()}
    if interrupted:
        print(json.dumps(out))
        raise RunInterrupted(f"interrupted after {res.steps} time steps ({res.insts} "
                             "instructions); the state reached is printed")
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
    p.add_argument("--trace-limit", type=int, default=10_000,
                   help="at most this many records (default 10000)")
    p.add_argument("--max-steps", type=_count, default=DEFAULT_MAX_STEPS, metavar="K",
                   help="time limit in time steps (default 1e8, a second or two; Hanoi n needs "
                   "about 31*2^n)")
    p.add_argument("--frozen", choices=["auto", "none", "paper"], default="auto",
                   help="frozen programs before the program (auto: paper's for Hanoi)")
    p.add_argument("--extended", action="store_true",
                   help="also allow the appendix instructions the original did not register")
    p.set_defaults(func=cmd_forth)
