"""The reference data files: well formed, with provenance, and the one source of every figure."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from metahook import references
from metahook.harness.registry import STATUSES, Ref, all_experiments
from metahook.references import EXTRA_TABLES, load, original_run, refs, systems

ROOT = Path(__file__).resolve().parents[1]
# A path-like word: segments joined by "/" that start with a letter, or a file name with a common
# extension. A web address (its first segment a host name, a.b/...) is allowed.
_PATH = re.compile(r"(?<![\w~.:/-])([A-Za-z_][\w.~-]*(?:/[\w.~-]+)+"
                   r"|[\w-]+\.(?:md|py|c|h|toml|json|csv|txt|html|ipynb))(?![\w/])")
_HOST = re.compile(r"^[\w-]+(\.[\w-]+)+/")


def _entries() -> list[tuple[str, str, str, dict[str, Any]]]:
    return [(system, exp, key, entry) for system in systems()
            for exp, figures in load(system).items() if exp not in EXTRA_TABLES
            for key, entry in figures.items()]


def test_every_data_file_parses_and_ships_with_the_package() -> None:
    assert {"oops", "ssa", "godel", "neural", "evolution"} <= set(systems())
    for system in systems():
        data = load(system)
        assert data, system
        for exp, figures in data.items():
            assert isinstance(figures, dict) and figures, (system, exp)


def test_every_entry_has_value_unit_source_and_an_allowed_status() -> None:
    entries = _entries()
    assert len(entries) > 50
    for system, exp, key, entry in entries:
        where = f"{system}.toml [{exp}.{key}]"
        assert ("value" in entry) != ("program" in entry), where
        for field in ("unit", "source", "status"):
            assert isinstance(entry.get(field), str), f"{where}: {field}"
        assert entry["source"].strip(), where
        assert entry["status"] in STATUSES, where
        assert isinstance(refs(system, exp)[key], Ref)


def test_every_experiment_reads_its_reference_from_one_data_file() -> None:
    owners: dict[str, list[str]] = {}
    for system in systems():
        for exp in references.experiments(system):
            owners.setdefault(exp, []).append(system)
    for exp in all_experiments():
        assert len(owners.get(exp.name, [])) == 1, f"{exp.name}: data files {owners.get(exp.name)}"
        assert exp.reference == refs(owners[exp.name][0], exp.name), exp.name
        for key, ref in exp.reference.items():
            assert ref.status in STATUSES, f"{exp.name}.{key}"
            assert ref.to_json()["status"] == ref.status
    assert set(owners) == {e.name for e in all_experiments()}, "figures of no experiment"


def _sources() -> list[tuple[str, str]]:
    out = [(f"{s}.toml [{e}.{k}]", entry["source"]) for s, e, k, entry in _entries()]
    out.append(("oops.toml [original_run]", load("oops")["original_run"]["source"]))
    out += [(f"{e.name}.{k}", r.source) for e in all_experiments() for k, r in e.reference.items()]
    return out


def test_no_source_names_a_file_the_repository_does_not_hold() -> None:
    for where, source in _sources():
        assert "specs/" not in source, where
        for word in _PATH.findall(source):
            if _HOST.match(word):
                continue  # a web address
            assert (ROOT / word).exists(), f"{where}: cites {word!r}, not in the repository"


@pytest.mark.parametrize("source", ["the program (specs/oops.md §12)", "see oopscode.c",
                                    "docs/nowhere.md", "in our notes.md"])
def test_the_path_check_catches_dangling_paths(source: str) -> None:
    words = [w for w in _PATH.findall(source) if not _HOST.match(w)]
    assert words and not all((ROOT / w).exists() for w in words)


def test_the_path_check_lets_citations_and_web_addresses_through() -> None:
    for source in ("Hutter 2002, Theorem 1 (time ≤ 5·t_p(x) + d_p·time_{t_p}(x) + c_p)",
                   "1/0.8: C's 80% share", "(74/511)^3 for (c3 dec boostq)", "300,000 / 60",
                   "(people.idsia.ch/~juergen/metalearner.html, as quoted)", "E[U{0..9}] = 4.5",
                   "2009 Thm 4.1", "LTL97 sec. 4 / ML97 sec. 4.3"):
        assert all(_HOST.match(w) for w in _PATH.findall(source)), source


def test_the_original_run_is_complete_and_consistent() -> None:
    run = original_run()
    assert list(run) == [("1n2n", n) for n in range(1, 31)] + [("hanoi", 1), ("hanoi", 2)]
    rows = list(run.values())
    for a, b in itertools.pairwise(rows):
        assert a.totalt < b.totalt and a.topt <= b.topt and a.topSp <= b.topSp, (a, b)
        if a.prefs is not None and b.prefs is not None:
            assert a.prefs < b.prefs and a.insts is not None and b.insts is not None
            assert a.insts < b.insts
    assert all(r.prefs is not None for r in rows[:-1])  # only Hanoi n = 2's are rounded
    assert all(r.program for r in rows)
    assert load("oops")["original_run"]["status"] == "program"


def test_figures_taken_from_the_original_run_are_its_counters() -> None:
    run = original_run()
    ref = refs("oops", "oops-1n2n")
    assert ref["n6_program"].value == run[("1n2n", 6)].totalt
    assert ref["n6_program"].status == "program"
    hanoi = refs("oops", "oops-hanoi")["hanoi1_program"]
    assert hanoi.value == run[("hanoi", 1)].totalt - run[("1n2n", 30)].totalt


def test_bad_entries_are_refused() -> None:
    with pytest.raises(ValueError, match="status"):
        Ref(1, "u", "a paper", status="checked")
    with pytest.raises(ValueError, match="compare"):
        Ref(1, "u", "a paper", compare="==", status="verified")
    with pytest.raises(TypeError):
        Ref(1, "u", "a paper")  # type: ignore[call-arg]  # the status is required
    with pytest.raises(ValueError, match="unknown keys"):
        references._ref("x", "e", "k", {"value": 1, "unit": "", "source": "s",
                                         "status": "verified", "vlaue": 2})
    with pytest.raises(ValueError, match="exactly one"):
        references._ref("x", "e", "k", {"unit": "", "source": "s", "status": "verified"})
    with pytest.raises(ValueError, match="did not solve"):
        references.run_totalt("hanoi:3")
    with pytest.raises(ValueError, match="no reference file"):
        refs("nowhere", "e")
    with pytest.raises(ValueError, match="no figures"):
        refs("oops", "original_run")
