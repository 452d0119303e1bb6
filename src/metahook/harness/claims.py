"""Claims: the figures README.md and docs/ attribute to us, each tied to a run of the ledger.

A figure is tagged in the Markdown by an HTML comment right after the number (invisible when the
page is rendered)::

    needs **3,224**<!--ledger:pole-double-nv/full:cosyne_all_mean_evaluations--> evaluations
    test error 5.2<!--ledger:fwp-assoc-retrieval/full:fast_weights_R20_test_error*100--> %

Inside a table introduced by ``<!-- ledger-table: EXPERIMENT/LABEL -->`` the short form
``<!--L:PATH-->`` names that run. In such a table every number of every cell outside the exempt
columns must carry a tag, so a figure typed in by hand cannot hide there: by default the first
column and every column whose heading mentions the paper are exempt; ``exempt=1,5`` names the
exempt columns (counted from 1) instead.

:func:`check` parses every tag, resolves its path in the ledger
(:func:`metahook.harness.ledger.lookup`) and compares the number as printed with the ledger's
value rounded to the printed precision: ``3,224`` holds for 3,223.5..3,224.5, ``2.40·10⁹`` for
2.395..2.405·10⁹.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from metahook.harness.ledger import Entry, lookup

_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
NUMBER = (r"(?P<sign>[−+-])?(?P<int>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d+))?"
          r"(?:\s?[·×]\s?10(?:\^\{?(?P<exp1>[−-]?\d+)\}?|(?P<exp2>⁻?[⁰¹²³⁴⁵⁶⁷⁸⁹]+))"
          r"|[eE](?P<exp3>[−+-]?\d+))?")
_NUMBER_AT_END = re.compile(r"(?<![\w.^/])" + NUMBER + r"(?:\*\*|\*)?\s*\Z")
_TAG = re.compile(r"<!--\s*(?:ledger:\s*(?P<run>[\w.-]+/[\w.-]+):|L:)\s*(?P<path>[^\s>]+)\s*-->")
_TABLE = re.compile(r"<!--\s*ledger-table:\s*(?P<run>[\w.-]+/[\w.-]+)(?:\s+exempt=(?P<ex>[\d,]+))?"
                    r"\s*-->")
_BLANK = re.compile(r"<!--.*?-->|`[^`]*`")
_NUMBER_IN_CELL = re.compile(r"(?<![\w.^/])" + NUMBER)


@dataclass(frozen=True)
class Claim:
    """One tagged figure: where it is, what it prints, which run and path it names."""

    file: str
    line: int
    printed: str
    value: float
    tolerance: float
    run: str
    path: str

    def where(self) -> str:
        return f"{self.file}:{self.line}"


def parse_number(text: str) -> tuple[float, float]:
    """The value of a printed number and half a unit of its last printed digit."""
    m = re.fullmatch(NUMBER, text.strip())
    if m is None:
        raise ValueError(f"not a number: {text!r}")
    mantissa = float(m["int"].replace(",", "") + ("." + m["frac"] if m["frac"] else ""))
    if m["sign"] in ("−", "-"):
        mantissa = -mantissa
    exp_text = m["exp1"] or (m["exp2"] or "").translate(_SUPER) or m["exp3"] or "0"
    exponent = int(exp_text.replace("−", "-"))
    decimals = len(m["frac"] or "")
    return mantissa * 10.0**exponent, 0.5 * 10.0 ** (exponent - decimals)


def _cells(row: str) -> list[str]:
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    return [c.strip() for c in inner.split("|")]


def _table_problems(path: str, lines: list[str], start: int, run: str,
                    exempt: set[int] | None) -> list[str]:
    """Numbers without a tag in the table that begins at ``lines[start]``."""
    problems = []
    header = _cells(lines[start])
    if exempt is None:
        exempt = {1} | {i + 1 for i, h in enumerate(header) if re.search(r"paper|publish", h, re.I)}
    i = start + 2
    while i < len(lines) and lines[i].lstrip().startswith("|"):
        for col, cell in enumerate(_cells(lines[i]), start=1):
            if col in exempt:
                continue
            # numbers inside the tags themselves (``als@0.01_steps``) are not figures,
            # nor are numbers in code spans (`(x−1) & ~x`)
            blanked = _BLANK.sub(lambda t: t.group(0)[0] + "~" * (len(t.group(0)) - 1), cell)
            for m in _NUMBER_IN_CELL.finditer(blanked):
                after = cell[m.end():]
                if not re.match(r"(?:\*\*|\*)?\s*<!--\s*(?:L:|ledger:)", after):
                    problems.append(f"{path}:{i + 1}: {m.group(0)!r} in a ledger table "
                                    f"({run}) has no ledger tag")
        i += 1
    return problems


def find_claims(text: str, path: str = "<text>") -> tuple[list[Claim], list[str]]:
    """Every tagged figure of a Markdown text, and the problems found while parsing it."""
    claims: list[Claim] = []
    problems: list[str] = []
    lines = text.splitlines()
    table_run: str | None = None
    for n, line in enumerate(lines):
        t = _TABLE.search(line)
        if t:
            table_run = t["run"]
            start = n + 1
            while start < len(lines) and not lines[start].strip():
                start += 1
            if start >= len(lines) or not lines[start].lstrip().startswith("|"):
                problems.append(f"{path}:{n + 1}: ledger-table marker not followed by a table")
            else:
                ex = {int(x) for x in t["ex"].split(",") if x} if t["ex"] else None
                problems += _table_problems(path, lines, start, table_run, ex)
            continue
        if table_run and line.strip() and not line.lstrip().startswith("|"):
            table_run = None
        code = re.sub(r"`[^`]*`", lambda t: "~" * len(t.group(0)), line)  # examples in code spans
        for m in _TAG.finditer(code):
            run = m["run"] or table_run
            if run is None:
                problems.append(f"{path}:{n + 1}: short tag <!--L:...--> outside a ledger table")
                continue
            before = _NUMBER_AT_END.search(line[:m.start()])
            if before is None:
                problems.append(f"{path}:{n + 1}: ledger tag {m.group(0)!r} follows no number")
                continue
            printed = before.group(0).rstrip("* ").strip()
            value, tol = parse_number(printed)
            claims.append(Claim(path, n + 1, printed, value, tol, run, m["path"]))
    return claims, problems


def check(claims: list[Claim], ledger: dict[str, Entry]) -> list[str]:
    """One line per claim that the ledger does not back."""
    problems = []
    for c in claims:
        entry = ledger.get(c.run)
        if entry is None:
            problems.append(f"{c.where()}: {c.printed} names run {c.run!r}, not in the ledger")
            continue
        try:
            ours = lookup(entry.metrics, c.path)
        except KeyError as exc:
            problems.append(f"{c.where()}: {c.printed}: {exc.args[0]}")
            continue
        if isinstance(ours, bool) or not isinstance(ours, (int, float)):
            problems.append(f"{c.where()}: {c.printed}: {c.run}:{c.path} is {ours!r}, "
                            "not a number")
            continue
        if abs(ours - c.value) > c.tolerance * (1 + 1e-9) + 1e-12:
            problems.append(f"{c.where()}: printed {c.printed}, the ledger's {c.run}:{c.path} "
                            f"is {ours!r}")
    return problems


def check_files(files: list[Path], ledger: dict[str, Entry],
                root: Path | None = None) -> tuple[list[Claim], list[str]]:
    """Every claim of ``files`` and every problem with them (parsing and against the ledger)."""
    claims: list[Claim] = []
    problems: list[str] = []
    for f in files:
        name = str(f.relative_to(root)) if root else str(f)
        found, bad = find_claims(f.read_text(), name)
        claims += found
        problems += bad
    return claims, problems + check(claims, ledger)
