"""The instruction table of the OOPS language: the single source of truth.

Schmidhuber, "Optimal Ordered Problem Solver", Machine Learning 54:211-254 (2004), Appendix A.
Token numbers are those of the original experiment program, which are also the search order:
66 primitives (1-66) in the order the program registered them, then the 7 user-declared
programs (67-73) whose code is prewired in frozen code ``q[1..76]``. The paper's appendix
instructions that the program did not register (``geq``, ``and``, ``or``, ``not``, ``base``,
``outopf``, ``popf``, ``find``, ...) follow from 74 on as an optional extension: executable on a
machine built with ``extended=True``, never part of the search set.

Names: the paper's name is canonical; the program's own name is an alias (``boostq`` = ``oldSQ``,
``xAD`` = ``x23``, ...). Every token costs one time step; ``extra`` states what it costs beyond
that. ``pops`` is the number of data-stack arguments (top first), -1 where it varies.

Glossary: ``ds``/``dp`` data stack and pointer, ``Ds``/``Dp`` auxiliary stack, ``b`` the current
frame's base (``cs[cp].base``), ``fns``/``fnp`` self-made functions, ``p[i]``/``sum`` the current
pattern's numerator of token i and denominator, ``old[k]`` the k-th frozen program (1-7 are the
declared ones), ``n_Q`` = 73.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metahook.machines.forth.layout import N_DECLARED, N_PRIMITIVES, NQ


@dataclass(frozen=True)
class Instruction:
    number: int
    name: str
    aliases: tuple[str, ...]
    group: str
    pops: int
    extra: str  # cost beyond the 1 step every token costs
    doc: str
    registered: bool = True  # in the original program's 73 tokens
    body: tuple[str, ...] = field(default=())  # declared programs: their frozen code
    decl_in: int = 0  # declared programs: inputs (-1: all above the caller's base)
    decl_out: int = 0  # declared programs: outputs (-1: return the whole stack)


def _p(number: int, name: str, aliases: tuple[str, ...], group: str, pops: int, doc: str,
       extra: str = "") -> Instruction:
    return Instruction(number, name, aliases, group, pops, extra, doc)


PRIMITIVES: tuple[Instruction, ...] = (
    _p(1, "1toD", ("onetoD",), "task", 0, "push 1 onto Ds (1^n2^n)"),
    _p(2, "2toD", ("twotoD",), "task", 0, "push 2 onto Ds (1^n2^n)"),
    _p(3, "mvdsk", (), "task", 0,
       "move the top disk from peg ds[b+1] to peg ds[b+3]; halts on an illegal move"),
    _p(4, "xAD", ("x23",), "task", 0,
       "swap the 2nd and 3rd cells from the top of ds (A<->D of a top block S A D n)"),
    _p(5, "xSA", ("x34",), "task", 0,
       "swap the 3rd and 4th cells from the top of ds (S<->A of a top block S A D n)"),
    _p(6, "bsf", (), "control", 1,
       "pop k; call the code at ds[b+k+1] (new frame sharing the caller's base, returning all)"),
    _p(7, "boostq", ("oldSQ",), "bias", 1,
       "pop k; add n_Q to p[i] and sum for every token i of frozen program old[k+7]",
       "size of that program"),
    _p(8, "add", (), "arithmetic", 2, "push x+y"),
    _p(9, "mul", (), "arithmetic", 2, "push x*y"),
    _p(10, "powr", (), "arithmetic", 2, "pop y, x; push x^y (1 if x<=1)"),
    _p(11, "sub", (), "arithmetic", 2, "pop y, x; push x-y"),
    _p(12, "div", ("divide",), "arithmetic", 2,
       "pop y, x; push x/y truncated toward zero; halts if y=0"),
    _p(13, "inc", (), "arithmetic", 1, "push x+1"),
    _p(14, "dec", (), "arithmetic", 1, "push x-1"),
    _p(15, "by2", (), "arithmetic", 1, "push 2x"),
    _p(16, "getq", (), "code", 1, "pop k; append a copy of frozen program old[k] to ds",
       "size of the program"),
    _p(17, "insq", (), "code", 2,
       "pop j, k; insert frozen program old[k] after ds[b+j], shifting the rest up",
       "cells shifted + size"),
    _p(18, "findb", (), "edit", 1,
       "pop x; scan upward from ds[b+1] for x; push its index (relative to the stack)",
       "1 per cell scanned"),
    _p(19, "incQ", ("incSQ",), "bias", 0, "p[top] += 1 and sum += 1 (top not popped)"),
    _p(20, "decQ", ("decSQ",), "bias", 0,
       "p[top] -= 1 and sum -= 1 (top not popped); halts if fewer than two tokens would keep "
       "nonzero probability"),
    _p(21, "pushpat", ("pupat",), "bias", 0,
       "push a copy of the current search pattern (the program's version always halts)"),
    _p(22, "setpat", (), "bias", 1, "pop k; make pattern k current (0 <= k <= patp)"),
    _p(23, "insn", (), "edit", 3,
       "pop j, n, i; insert n cells copied from ds[b+i..] after ds[b+j]",
       "cells shifted + n"),
    _p(24, "mvn", ("movstring",), "edit", 3,
       "pop j, n, i; copy n cells from ds[b+i..] to ds[b+j..]; raise dp to j+n-1", "n"),
    _p(25, "deln", (), "edit", 2, "pop n, m; delete the n cells after ds[b+m]",
       "cells shifted"),
    _p(26, "intpf", ("intopf",), "control", 0, "push the input count of function fnp"),
    _p(27, "def", (), "control", 2,
       "pop out, in; define function fnp+1 with start = the next address; does not call"),
    _p(28, "topf", (), "control", 0, "push fnp, the number of the newest self-made function"),
    _p(29, "dof", (), "control", 1,
       "pop f; call self-made function f (base below its inputs, or the caller's if in<0)"),
    _p(30, "oldq", ("oldf",), "control", 1,
       "pop k; call frozen program old[k] with 0 inputs and 0 outputs"),
    _p(31, "bsjmp", (), "control", 1, "pop k; jump to ds[b+k+1] (no new frame)"),
    _p(32, "ret", (), "control", 0,
       "return: move the top `out` cells down to ds[b+1..] (out>=0); pop the frame",
       "out, when cells are moved"),
    _p(33, "rt0", (), "control", 1, "pop x; ret if x <= 0"),
    _p(34, "neg", (), "arithmetic", 1, "push -x (1 if x = 0)"),
    _p(35, "eq", (), "boolean", 2, "push 1 if x = y else 0"),
    _p(36, "grt", (), "boolean", 2, "pop a, b; push 1 if a (the top) > b else 0"),
    _p(37, "clear", (), "stack", 0, "dp := 0"),
    _p(38, "del", (), "stack", 0, "dp -= 1"),
    _p(39, "up", (), "stack", 0, "duplicate the top of ds"),
    _p(40, "ex", (), "stack", 0, "swap the top two cells of ds"),
    _p(41, "jmp1", (), "control", 2,
       "pop c; if c > 0 pop a and jump to address a (else a stays on ds)"),
    _p(42, "outn", (), "stack", 1, "pop n; push ds[dp-n+1]"),
    _p(43, "inn", (), "stack", 1, "pop n; copy the top onto ds[dp-n+1]"),
    _p(44, "cpn", (), "edit", 1, "pop n; copy the top n cells onto the top", "n"),
    _p(45, "xmn", (), "stack", 2, "pop m, n; swap the m-th and n-th cells from the top"),
    _p(46, "outb", (), "stack", 1, "pop n; push ds[b+n]"),
    _p(47, "innb", ("inb",), "stack", 1, "pop n; copy the top onto ds[b+n]"),
    _p(48, "cpnb", (), "edit", 1, "pop n; copy ds[b+1..b+n] onto the top", "n"),
    _p(49, "xmnb", (), "stack", 2, "pop m, n; swap ds[b+m] and ds[b+n]"),
    _p(50, "ip2ds", (), "stack", 0, "push the instruction pointer"),
    _p(51, "pip", (), "control", 1, "pop a; continue at address a+1"),
    _p(52, "pushdp", ("dp2ds",), "stack", 0, "push dp+1 (dp after this push)"),
    _p(53, "setdp", ("popdp",), "stack", 1, "pop x; dp := x (0 <= x <= 200)"),
    _p(54, "toD", (), "stack", 1, "pop x; push it onto Ds"),
    _p(55, "fromD", (), "stack", 0, "push the top of Ds (Ds unchanged)"),
    _p(56, "delD", (), "stack", 0, "Dp -= 1"),
    _p(57, "tsk", (), "stack", 0, "push the task number (the instance size n)"),
    _p(58, "c0", (), "arithmetic", 0, "push 0"),
    _p(59, "c1", (), "arithmetic", 0, "push 1"),
    _p(60, "c2", (), "arithmetic", 0, "push 2"),
    _p(61, "c3", (), "arithmetic", 0, "push 3"),
    _p(62, "c4", (), "arithmetic", 0, "push 4"),
    _p(63, "c5", (), "arithmetic", 0, "push 5"),
    _p(64, "exec", (), "control", 1,
       "pop k; run token k at once (a declared token becomes a call)", "that of token k"),
    _p(65, "qot", (), "control", 0,
       "quote: until the next qot, tokens are pushed onto ds as numbers instead of run"),
    _p(66, "nop", (), "control", 0, "do nothing"),
)


def _d(number: int, name: str, aliases: tuple[str, ...], m: int, n: int, body: str,
       doc: str) -> Instruction:
    return Instruction(number, name, aliases, "declared", 0, "", doc, True, tuple(body.split()),
                       m, n)


DECLARED: tuple[Instruction, ...] = (
    _d(67, "fak", ("FAC",), 1, 1, "up c1 ex rt0 del up dec fak mul ret", "n! (recursive)"),
    _d(68, "fak2", ("FAC2",), 1, 1, "c1 c1 def up c1 ex rt0 del up dec topf dof mul ret",
       "n! through a self-made function"),
    _d(69, "c999", ("C999",), 0, 1, "c4 c5 powr c5 c5 mul sub ret", "push 4^5 - 25 = 999"),
    _d(70, "testexp", ("TESTEXP",), 2, 1, "c4 mul dec c3 c2 mul mul mul up mul ret",
       "pop y, x; push [6x(4y-1)]^2"),
    _d(71, "defnp", (), -1, -1, "c0 toD pushdp dec toD qot def up rt0 dec intpf cpn qot ret",
       "begin a recursive procedure on ds: save the input count on Ds, quote its head"),
    _d(72, "calltp", (), -1, -1, "qot topf dof intpf cpn qot ret",
       "quote a recursive call of the newest function on a copy of its inputs"),
    _d(73, "endnp", (), -1, -1, "qot ret qot fromD cpnb fromD up delD fromD ex bsf ret",
       "quote the return, copy the inputs and call the procedure built on ds"),
)


def _x(number: int, name: str, aliases: tuple[str, ...], group: str, pops: int, doc: str,
       extra: str = "") -> Instruction:
    return Instruction(number, name, aliases, group, pops, extra, doc, registered=False)


EXTENSION: tuple[Instruction, ...] = (
    _x(74, "geq", (), "boolean", 2, "pop a, b; push 1 if a (the top) >= b else 0"),
    _x(75, "and", (), "boolean", 2, "push 1 if x > 0 and y > 0 else 0"),
    _x(76, "or", (), "boolean", 2, "push 1 if x > 0 or y > 0 else 0"),
    _x(77, "not", (), "boolean", 1, "push 1 if x <= 0 else 0"),
    _x(78, "base", (), "stack", 0, "push the current frame's base b"),
    _x(79, "outopf", ("outpf",), "control", 0, "push the output count of function fnp"),
    _x(80, "popf", (), "control", 0, "fnp -= 1 (forget the newest self-made function)"),
    _x(81, "find", (), "edit", 1,
       "pop x; scan ds downward from the top for x; push its index (0 if absent)",
       "1 per cell scanned"),
    _x(82, "rt1", (), "control", 1, "pop x; ret if x > 0"),
    _x(83, "half", (), "arithmetic", 1, "push x/2 truncated toward zero"),
    _x(84, "rem", ("remnant",), "arithmetic", 2, "pop y, x; push x mod y (C's %); halts if y=0"),
    _x(85, "stf", (), "control", 1, "pop k; continue at ds[k+1]"),
    _x(86, "basef", (), "control", 0, "continue at ds[b+1]"),
    _x(87, "poppat", ("popat",), "bias", 0, "patp -= 1 and push its old value"),
)

INSTRUCTIONS: tuple[Instruction, ...] = PRIMITIVES + DECLARED + EXTENSION
N_EXTENDED = len(INSTRUCTIONS)

assert len(PRIMITIVES) == N_PRIMITIVES and len(DECLARED) == N_DECLARED
assert [i.number for i in INSTRUCTIONS] == list(range(1, N_EXTENDED + 1))
assert NQ == N_PRIMITIVES + N_DECLARED

BY_NUMBER: dict[int, Instruction] = {i.number: i for i in INSTRUCTIONS}
BY_NAME: dict[str, Instruction] = {}
for _ins in INSTRUCTIONS:
    for _nm in (_ins.name, *_ins.aliases):
        assert _nm not in BY_NAME, _nm
        BY_NAME[_nm] = _ins


def number(name: str) -> int:
    """Token number of ``name`` (canonical name or alias); KeyError if unknown."""
    return BY_NAME[name].number


def name(num: int) -> str:
    """Canonical name of token ``num``."""
    return BY_NUMBER[num].name


# Token numbers the interpreter switches on (kept in one place).
T_QOT = number("qot")
T_EXEC = number("exec")
FIRST_DECLARED = DECLARED[0].number
assert T_QOT == 65 and T_EXEC == 64 and FIRST_DECLARED == 67


def markdown_table() -> str:
    """The instruction table as Markdown (docs/oops.md embeds it; a test keeps them equal)."""
    rows = ["| no. | name | program's name | group | pops | extra cost | effect |",
            "|---|---|---|---|---|---|---|"]
    for i in INSTRUCTIONS:
        doc = i.doc
        if i.group == "declared":
            doc = f"{doc}; `decl({i.decl_in}, {i.decl_out})`: `{' '.join(i.body)}`"
        if not i.registered:
            doc = f"(extension) {doc}"
        pops = "var." if i.pops < 0 else str(i.pops)
        rows.append(f"| {i.number} | `{i.name}` | {', '.join(f'`{a}`' for a in i.aliases)} | "
                    f"{i.group} | {pops} | {i.extra or '-'} | {doc} |")
    return "\n".join(rows)
