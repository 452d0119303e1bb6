"""The interpreter's token constants are the instruction table's numbers, name for name."""

from __future__ import annotations

import ast
from pathlib import Path

from metahook.machines.forth import tokens
from metahook.machines.forth.instructions import INSTRUCTIONS

VM = Path(tokens.__file__).with_name("vm.py")


def test_every_token_constant_is_its_instructions_number() -> None:
    consts = {k: v for k, v in vars(tokens).items() if k.startswith("T_")}
    assert consts == {f"T_{i.name.upper()}": i.number for i in INSTRUCTIONS}


def test_the_dispatch_compares_tokens_with_names_not_literals() -> None:
    """No ``tok == 26`` left in vm.py: every comparison of ``tok`` names its token."""
    literal = []
    for node in ast.walk(ast.parse(VM.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare) and any(
            isinstance(side, ast.Name) and side.id == "tok"
            for side in (node.left, *node.comparators)
        ):
            literal += [node.lineno for side in (node.left, *node.comparators)
                        if isinstance(side, ast.Constant)]
    assert not literal, f"vm.py compares tok with a number on lines {literal}"
