"""docs/architecture.md's worked example, followed as written.

The page's module is written to a file and imported (it registers ``walk-hitting``), the page's
commands are run through the ``metahook`` command line, and what the page says they produce is
checked: the files, the quick run's mean, the smoke criterion, and that a run interrupted and
resumed (and one with another ``chunk``) ends with the same metrics.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metahook.cli import main
from metahook.harness import registry
from metahook.harness.runner import run_experiment

DOC = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


def _block_after(marker: str, text: str) -> str:
    m = re.search(re.escape(marker) + r"\s*```\w*\n(.*?)```", text, re.S)
    assert m is not None, f"no code block after {marker!r} in {DOC.name}"
    return m.group(1)


@pytest.fixture
def example(tmp_path: Path) -> Iterator[tuple[str, list[list[str]]]]:
    text = DOC.read_text(encoding="utf-8")
    source = _block_after("<!-- example-module: walk_hitting.py -->", text)
    commands = [shlex.split(line) for line in
                _block_after("<!-- example-commands -->", text).splitlines() if line.strip()]
    path = tmp_path / "walk_hitting.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("walk_hitting_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield text, commands
    finally:
        registry._REGISTRY.pop("walk-hitting", None)
        sys.modules.pop(spec.name, None)


def _metrics(out: Path) -> dict:
    """The run's metrics, its wall-clock time aside."""
    m = json.loads((out / "result.json").read_text())["metrics"]
    return {k: v for k, v in m.items() if k != "wall_s"}


def test_the_worked_example_runs_as_written(example: tuple[str, list[list[str]]],
                                            tmp_path: Path) -> None:
    text, commands = example
    assert len(commands) == 2 and all(c[0] == "metahook" for c in commands)
    outs = []
    for argv in commands:
        out = tmp_path / argv[argv.index("--out") + 1]
        argv[argv.index("--out") + 1] = str(out)
        assert main([*argv[1:], "--quiet"]) == 0
        outs.append(out)
    first, second = outs
    for name in ("result.json", "metrics.jsonl", "config.json", "plots/hitting_times.png"):
        assert (first / name).exists(), name
    m = _metrics(first)
    stated = re.search(r"\(mean ([\d.]+) moves over (\d+) walks, beside L² = (\d+)\)", text)
    assert stated is not None, "the page no longer states the quick run's mean"
    assert f"{m['mean_moves']:.1f}" == stated.group(1)
    assert m["walks"] == int(stated.group(2)) and m["l_squared"] == int(stated.group(3))
    ok, _ = registry.get_experiment("walk-hitting").smoke(m)  # type: ignore[misc]
    assert ok
    assert _metrics(second) == m  # chunk only moves where checkpoints may fall


def test_the_worked_example_resumes_as_the_page_says(example: tuple[str, list[list[str]]],
                                                     tmp_path: Path) -> None:
    whole = run_experiment("walk-hitting", out=tmp_path / "whole", scale="quick", seed=0,
                           overrides=["walks=30", "chunk=7"])

    def ctrl_c(done: float, total: float, desc: str) -> None:
        if done >= 12:
            raise KeyboardInterrupt

    cut = tmp_path / "cut"
    with pytest.raises(KeyboardInterrupt):
        run_experiment("walk-hitting", out=cut, scale="quick", seed=0,
                       overrides=["walks=30", "chunk=7"], checkpoint_every_s=0.0,
                       progress_sink=ctrl_c)
    assert main(["run", "walk-hitting", "--out", str(cut), "--resume", "--quiet"]) == 0
    assert _metrics(cut) == {k: v for k, v in whole["metrics"].items() if k != "wall_s"}
