"""The OOPS language: a FORTH-like, self-modifying stack machine (Schmidhuber 2004, App. A).

- :mod:`.instructions`: the instruction table (the single source of truth: number, name and
  aliases, arguments, cost, doc);
- :mod:`.layout`: code space and task tapes;
- :mod:`.vm`: the numba interpreter (one token at a time, with the undo stack);
- :mod:`.reference`: an independent pure-Python interpreter of the same semantics;
- :mod:`.asm`: assembler and disassembler.
"""

from metahook.machines.forth.asm import UnknownToken, assemble, disassemble
from metahook.machines.forth.instructions import BY_NAME, BY_NUMBER, INSTRUCTIONS

__all__ = ["BY_NAME", "BY_NUMBER", "INSTRUCTIONS", "UnknownToken", "assemble", "disassemble"]
