"""Assembler and disassembler of the OOPS language: text <-> token numbers.

``assemble("c3 dec boostq (defnp c4 calltp c3 c5 calltp endnp)")`` gives the token numbers of
the published Hanoi solver; parentheses only group (the paper writes prefix and suffix that way)
and are ignored. Canonical names are the paper's (:mod:`.instructions`); the original program's
names are accepted as aliases. An unknown name raises :class:`UnknownToken` listing the nearest
valid names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from metahook.machines.forth.instructions import BY_NAME, BY_NUMBER


class UnknownToken(ValueError):
    def __init__(self, word: str, suggestions: list[str]) -> None:
        self.word = word
        self.suggestions = suggestions
        hint = ", ".join(suggestions) if suggestions else "see docs/oops.md for the table"
        super().__init__(f"unknown token {word!r}; nearest valid names: {hint}")


def nearest(word: str, k: int = 5) -> list[str]:
    names = list(BY_NAME)
    lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(word.lower(), list(lower), n=k, cutoff=0.4)
    return [lower[c] for c in close]


def assemble(text: str) -> list[int]:
    """Token numbers of a program text (names separated by white space)."""
    out = []
    for word in text.replace("(", " ").replace(")", " ").split():
        ins = BY_NAME.get(word)
        if ins is None:
            raise UnknownToken(word, nearest(word))
        out.append(ins.number)
    return out


def disassemble(tokens: Iterable[int]) -> str:
    """Program text of token numbers (a number without a token is written ``#k``)."""
    words = []
    for t in tokens:
        ins = BY_NUMBER.get(int(t))
        words.append(ins.name if ins is not None else f"#{int(t)}")
    return " ".join(words)
