"""The results ledger and the claims test: every tagged figure of README.md and docs/ equals the
committed run it names, and a figure typed in by hand fails."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from metahook.harness.claims import check, check_files, find_claims, parse_number
from metahook.harness.ledger import Entry, add, load, lookup, size_bytes

ROOT = Path(__file__).resolve().parent.parent
LEDGER = ROOT / "results"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _entry(metrics: dict[str, object], key: str = "exp/full") -> dict[str, Entry]:
    exp, label = key.split("/")
    return {key: Entry(exp, label, Path("."), {"metrics": metrics, "status": "ok"})}


@pytest.mark.parametrize(("text", "value", "tol"), [
    ("3,224", 3224.0, 0.5),
    ("52.3", 52.3, 0.05),
    ("−34", -34.0, 0.5),
    ("2.40·10^9", 2.40e9, 0.005e9),
    ("9.46·10¹⁰", 9.46e10, 0.005e10),
    ("3.07e-8", 3.07e-8, 0.005e-8),
    ("0.00304", 0.00304, 0.000005),
])
def test_parse_number(text: str, value: float, tol: float) -> None:
    v, t = parse_number(text)
    assert v == pytest.approx(value)
    assert t == pytest.approx(tol)


def test_tagged_figures_are_checked_to_their_printed_precision() -> None:
    text = ("mean **3,224**<!--ledger:exp/full:m_mean--> evaluations, error "
            "5.2<!--ledger:exp/full:err*100--> %, cycles 2.40·10^9<!--ledger:exp/full:cyc-->\n")
    claims, problems = find_claims(text)
    assert problems == []
    assert [c.printed for c in claims] == ["3,224", "5.2", "2.40·10^9"]
    good = _entry({"m_mean": 3224.3, "err": 0.0521, "cyc": 2.4031e9})
    assert check(claims, good) == []
    for bad in ({"m_mean": 3225.0, "err": 0.0521, "cyc": 2.4031e9},   # rounds to 3,225
                {"m_mean": 3224.3, "err": 0.0526, "cyc": 2.4031e9},   # 5.3 %
                {"m_mean": 3224.3, "err": 0.0521, "cyc": 2.406e9}):   # 2.41e9
        assert len(check(claims, _entry(bad))) == 1


def test_a_figure_typed_by_hand_fails() -> None:
    # a tag naming a run or metric the ledger lacks
    claims, _ = find_claims("x 12<!--ledger:exp/full:nope--> and 7<!--ledger:other/full:a-->")
    problems = check(claims, _entry({"a": 7}))
    assert len(problems) == 2
    # an untagged number in a ledger table
    table = ("<!-- ledger-table: exp/full -->\n"
             "| method | paper | ours | solved |\n|---|---|---|---|\n"
             "| CoSyNE | 954 | 723<!--L:mean--> | 47<!--L:solved-->/50 |\n"
             "| ESP | 3,800 | 9,254 | 50<!--L:esp_solved-->/50 |\n")
    claims, problems = find_claims(table, "t.md")
    assert len(claims) == 3
    assert problems == ["t.md:5: '9,254' in a ledger table (exp/full) has no ledger tag"]
    assert check(claims, _entry({"mean": 723.4, "solved": 47, "esp_solved": 50})) == []


def test_lookup_paths() -> None:
    m = {"lives": [{"speedup": 68.7}, {"speedup": 48.8}], "xs": [1, 2, 3, 6]}
    assert lookup(m, "lives.1.speedup") == 48.8
    assert lookup(m, "xs~mean") == 3
    assert lookup(m, "xs~max*10") == 60
    assert lookup(m, "xs.-1/2") == 3
    with pytest.raises(KeyError):
        lookup(m, "lives.2.speedup")
    with pytest.raises(KeyError):
        lookup(m, "xs~bogus")


def test_add_copies_a_finished_run_and_thins_long_metrics(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "plots").mkdir(parents=True)
    (run / "plots" / "a.png").write_bytes(b"png")
    (run / "result.json").write_text(json.dumps({"experiment": "toy", "status": "ok",
                                                 "metrics": {"x": 1}}))
    (run / "config.json").write_text("{}")
    (run / "metrics.jsonl").write_text("".join(f'{{"step": {i}}}\n' for i in range(5000)))
    target = add(run, tmp_path / "results", "full", command="metahook run toy --scale full")
    lines = (target / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2000
    assert lines[0] == '{"step": 0}' and lines[-1] == '{"step": 4999}'
    assert (target / "plots" / "a.png").is_file()
    assert "thinned" in (target / "command.txt").read_text()
    assert load(tmp_path / "results")["toy/full"].metrics == {"x": 1}


# --- the real ledger and the real docs -------------------------------------------------------

def test_ledger_runs_are_complete_and_small() -> None:
    entries = load(LEDGER)
    assert entries, "results/ holds no run"
    for key, ent in entries.items():
        assert ent.result["status"] == "ok", key
        assert ent.command.startswith("metahook run " + ent.experiment), key
        assert (ent.folder / "config.json").is_file(), key
        assert ent.plots, f"{key} has no plot"
    assert size_bytes(LEDGER) < 20e6


def test_every_tagged_figure_in_the_docs_equals_the_ledger() -> None:
    claims, problems = check_files(DOCS, load(LEDGER), ROOT)
    assert problems == []
    assert len(claims) >= 100
    assert {c.run for c in claims} == set(load(LEDGER)), "a ledger run no doc quotes"


@pytest.mark.parametrize("doc", [d.name for d in DOCS])
def test_changing_one_tagged_figure_by_hand_fails(doc: str) -> None:
    path = next(d for d in DOCS if d.name == doc)
    text = path.read_text()
    claims, _ = find_claims(text, doc)
    if not claims:
        pytest.skip(f"{doc} quotes no ledger figure")
    ledger = load(LEDGER)
    for claim in (claims[0], claims[-1]):
        lines = text.splitlines()
        line = lines[claim.line - 1]
        # bump the last digit of the printed figure (the one right before its tag)
        at = re.search(re.escape(claim.printed) + r"(?:\*\*|\*)?\s*<!--", line)
        assert at is not None
        i = at.start() + len(claim.printed)
        j = max(k for k in range(i) if line[k].isdigit())
        lines[claim.line - 1] = line[:j] + str((int(line[j]) + 5) % 10) + line[j + 1:]
        mutated, _ = find_claims("\n".join(lines), doc)
        assert check(mutated, ledger), f"{doc}:{claim.line}: a changed figure passed"


def test_untagged_numbers_in_ledger_tables_are_caught() -> None:
    for path in DOCS:
        text = path.read_text()
        for m in re.finditer(r"<!--L:[^>]*-->", text):
            mutated = text[:m.start()] + text[m.end():]
            _, problems = find_claims(mutated, path.name)
            assert problems, f"{path.name}: removing a table tag went unnoticed"
            break
