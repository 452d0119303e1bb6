"""Memory layout of the OOPS machine: one code space ``q`` and one tape per task.

Addresses follow the original experiment program (Schmidhuber 2004, the C program behind the
paper's figures). Code ``q`` lives at positive addresses ``1..AMAX``; each task's tape lives at the
non-positive addresses ``AMIN..0``. The instruction pointer may point anywhere in ``AMIN..qp``, so
code written onto a tape (e.g. onto the data stack ``ds``) can be executed.

Tape regions, bottom up (each region's first cell holds its pointer)::

    AMIN (ACP)          call stack cs: pointer cp, then frames of 3 cells [ip, base, out]
    ADP                 data stack ds: pointer dp, then ds[1..MAXDP]
    ADDP                auxiliary stack Ds: pointer Dp, then Ds[1..MAXDP]
    AFNP                function table fns: pointer fnp, then 3 cells per function
                        (inputs, outputs, start address)
    AVP .. AENDVECS     unused vector area
    ATASK               task number (the instance size n)
    APATP, ACURP        pattern pointer patp, current pattern curp
    ACURP+1 ..          MAXPAT+1 search patterns of (sum, max, p[1..NSQ])
    AQUOTEFLAG          quote flag
    AENV                Hanoi pegs: 3 x (top pointer + 30 disk cells)
    AWORK .. 0          work area

All tapes are stored in one flat ``int64`` array of ``(n_tapes + 1) * ROW`` cells: address ``a``
of task ``r``'s tape is element ``r * ROW - a`` (row 0 is never a task). That is exactly the C
program's ``tape[task][-a]`` layout, including what a scan that runs past address 0 reads (the
previous task's tape). The number of tapes is a parameter of the machine (up to ``MAX_TAPES``;
:mod:`metahook.machines.forth.vm`); the original's 30 (``MAXTASK``) is the default.
A scan only ever runs down to lower-numbered tapes, so tapes above a run's highest task never
change its counters. Nothing inside a tape depends on the number of tapes: a Hanoi peg has 30
disk cells (``DSIZE = 31``) whatever it is, so Hanoi poses at most 30 tasks.

Glossary: ``q`` code, ``qp`` top of code, ``a_frozen`` end of frozen code, ``ds``/``dp`` data stack
and pointer, ``Ds``/``Dp`` auxiliary stack, ``cs``/``cp`` call stack, ``fns``/``fnp`` self-made
functions, ``p``/``sum`` token numerators and their shared denominator, ``n_Q`` token count.
"""

from __future__ import annotations

MAXTASK = 30  # the original's number of task tapes (the default)
AMAX = 10_000  # code addresses 1..AMAX
AMIN = -3_000  # tape addresses AMIN..0
TAPESIZE = -AMIN
ROW = TAPESIZE + 1  # cells per tape
NROWS = MAXTASK + 1  # rows of the default tapes (row 0 unused)
# The most task tapes one machine can have. The memory map reserves room for them at fixed offsets
# (so the compiled interpreter's offsets stay constants); the room is zero-filled address space that
# costs no memory until a tape is used (see vm).
MAX_TAPES = 4095
MAXQ = 1_000
MAXFN = 100  # self-made functions per tape
MAXPAT = 10  # search patterns 0..MAXPAT
MAXV = 100
MAXDATA = 800
MAXCP = 300  # call stack cells: frames of 3, at most 99 nested calls
MAXDP = 200  # data stack and auxiliary stack capacity
STACKSIZE = 6_000_000  # undo stack entries
MAXINT = 1_000_000_000  # tape values must stay within [MININT, MAXINT] when pushed
MININT = -1_000_000_000
MAXLOLO = 1_000_000_000_000_000_000

N_PRIMITIVES = 66  # primitives registered by the original program
N_DECLARED = 7  # user-declared programs prewired in frozen code
NQ = N_PRIMITIVES + N_DECLARED  # 73 tokens: the search set (n_Q)
NSQ = NQ  # tokens with search probabilities (pattern width)

HANOI_MAXDISKS = 30  # disk cells per Hanoi peg: the original's peg encoding
DSIZE = HANOI_MAXDISKS + 1  # cells per Hanoi peg (top pointer + disks)
ENVSIZE = 3 * DSIZE

ACP = AMIN
AENDCALLS = ACP + MAXCP
ADP = AENDCALLS + 1
AENDSTACK = ADP + MAXDP
ADDP = AENDSTACK + 1  # Ds pointer ("aDp" in the program)
AENDDS = ADDP + MAXDP
AFNP = AENDDS + 1
AENDFNS = AFNP + 3 * MAXFN
AVP = AENDFNS + 1
AENDVS = AVP + 2 * MAXV
AENDVECS = AENDVS + MAXDATA
ATASK = AENDVECS + 1
APATP = ATASK + 1
ACURP = APATP + 1
AENDPATS = ACURP + (MAXPAT + 1) * (NSQ + 2)
AQUOTEFLAG = AENDPATS + 1
AENV = AQUOTEFLAG + 1
AWORK = AENV + ENVSIZE
AENDWORK = 0

assert AWORK <= AENDWORK, "tape layout overflows address 0"


def idx(task: int, address: int) -> int:
    """Flat index of ``address`` on ``task``'s tape."""
    return task * ROW - address


def peg_address(tower: int) -> int:
    """Address of peg ``tower``'s top pointer (1, 2, 3); disk k of the peg is at +k."""
    return AENV + (tower - 1) * DSIZE
