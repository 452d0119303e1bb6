"""Bad input to run, resume, reproduce and forth: exit 2, one line on stderr, nothing touched.

Each case checks the exit status, that stderr is exactly one line naming the problem (and the
valid choices), and that the folder involved is byte for byte what it was before (or was never
created).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import cli_inproc
from metahook.harness.errors import UsageError
from metahook.harness.runner import run_experiment

TOY = ["toy-counter", "--quiet"]


def _snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path under ``root`` with its bytes (None for a folder); {} if it does not exist."""
    if not root.exists():
        return {}
    if root.is_file():
        return {".": root.read_bytes()}
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def _exit_2_one_line(result: tuple[int, str, str], *fragments: str) -> str:
    code, out, err = result
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


# ------------------------------------------------------------------ metahook run: fresh runs
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--seed", "-1"], ["bad seed -1", "0..4294967295"]),
        (["--seed", str(2**32)], ["bad seed 4294967296", "0..4294967295"]),
        (["--checkpoint-every", "-5"], ["bad checkpoint interval -5", ">= 0"]),
        (["--checkpoint-every", "nan"], ["bad checkpoint interval nan", "finite"]),
        (["--checkpoint-every", "inf"], ["bad checkpoint interval inf", "finite"]),
        (["--set", "sleep_s=nan"], ["bad value 'nan' for sleep_s", "expected finite float"]),
        (["--set", "sleep_s=inf"], ["bad value 'inf' for sleep_s", "expected finite float"]),
        (["--set", "sleep_s=-inf"], ["bad value '-inf' for sleep_s", "expected finite float"]),
        (["--set", "sleep_s=1e400"], ["bad value '1e400' for sleep_s"]),
        (["--set", "sleep_s=-1"], ["sleep_s must be >= 0"]),
        (["--set", "steps=inf"], ["bad value 'inf' for steps", "expected int"]),
    ],
)
def test_bad_run_options(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                         fragments: list[str]) -> None:
    out = tmp_path / "out"
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(out), *args), *fragments)
    assert not out.exists()


def test_out_under_a_file_or_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "afile"
    afile.write_text("keep me\n")
    before = _snapshot(tmp_path)
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(afile / "sub" / "run")),
                     "cannot create --out", "is a file, not a folder")
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(afile)),
                     "is a file, not a folder")
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(afile), "--resume"),
                     "is a file, not a run folder")
    _exit_2_one_line(cli_inproc(capsys, "reproduce", "--only", "toy-counter", "--out",
                                str(afile / "runs")), "cannot create --out", "is a file")
    assert _snapshot(tmp_path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into a read-only folder")
def test_out_in_a_read_only_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(locked / "run")),
                         "cannot create --out", "not writable")
        _exit_2_one_line(cli_inproc(capsys, "reproduce", "--only", "toy-counter", "--out",
                                    str(locked / "runs")), "cannot create --out")
        assert not any(locked.iterdir())
    finally:
        locked.chmod(0o700)


# ------------------------------------------------------------------ metahook run --resume
def _killed_run(out: Path) -> None:
    """A toy-counter run stopped (as if killed) after 8 of 20 steps, with a checkpoint."""

    def stop(done: float, total: float, description: str) -> None:
        if done >= 8:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment("toy-counter", out=out, seed=5, overrides=["steps=20", "plot=false"],
                       checkpoint_every_s=0.0, progress_sink=stop)
    assert (out / "checkpoint" / "latest.json").is_file()


def _edit_config(out: Path, edit: Any) -> None:
    path = out / "config.json"
    saved = json.loads(path.read_text())
    edit(saved)
    path.write_text(json.dumps(saved))  # json writes NaN and Infinity as Python does


def _set(key: str, value: Any) -> Any:
    return lambda saved: saved["config"].__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "fragments"),
    [
        (_set("steps", "20"), ["bad config.json", "bad value \"20\" for steps", "expected int"]),
        (_set("steps", 2.5), ["bad value 2.5 for steps", "expected int"]),
        (_set("steps", True), ["bad value true for steps", "expected int"]),
        (_set("plot", 1), ["bad value 1 for plot", "expected bool"]),
        (_set("steps", -4), ["invalid config of toy-counter", "steps must be >= 1"]),
        (_set("sleep_s", -0.5), ["sleep_s must be >= 0"]),
        (_set("sleep_s", float("nan")), ["bad value NaN for sleep_s", "finite float"]),
        (_set("sleep_s", float("inf")), ["bad value Infinity for sleep_s", "finite float"]),
        (_set("zzz", 1), ["unknown keys ['zzz']", "valid: plot, sleep_s, steps"]),
        (lambda saved: saved["config"].pop("steps"), ["lacks keys ['steps']"]),
        (lambda saved: saved.__setitem__("config", [1, 2]), ["not a JSON object"]),
        (lambda saved: saved.__setitem__("seed", -1), ["bad seed -1", "0..4294967295"]),
        (lambda saved: saved.__setitem__("seed", 1.5), ["bad seed 1.5"]),
        (lambda saved: saved.__setitem__("scale", "huge"), ["unknown scale 'huge'",
                                                            "valid: full, quick"]),
        (lambda saved: saved.pop("seed"), ["corrupt config.json", "seed"]),
        (lambda saved: saved.__setitem__("experiment", "pole-single"),
         ["holds a run of 'pole-single', not 'toy-counter'"]),
    ],
)
def test_resume_checks_config_json_like_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, fragments: list[str]
) -> None:
    out = tmp_path / "run"
    _killed_run(out)
    _edit_config(out, edit)
    before = _snapshot(out)
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(out), "--resume"), *fragments)
    assert _snapshot(out) == before


def test_resume_refuses_config_json_that_is_no_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    _killed_run(out)
    (out / "config.json").write_text('{"experiment": "toy-counter", "scale": ')
    before = _snapshot(out)
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(out), "--resume"),
                     "corrupt config.json")
    assert _snapshot(out) == before


def test_resume_refuses_a_finished_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    run_experiment("toy-counter", out=out, overrides=["steps=5", "plot=false"])
    before = _snapshot(out)
    _exit_2_one_line(cli_inproc(capsys, "run", *TOY, "--out", str(out), "--resume"),
                     "has finished")
    assert _snapshot(out) == before


def test_library_calls_get_the_same_checks(tmp_path: Path) -> None:
    out = tmp_path / "x"
    with pytest.raises(UsageError, match="bad seed"):
        run_experiment("toy-counter", out=out, seed=-1)
    with pytest.raises(UsageError, match="bad checkpoint interval"):
        run_experiment("toy-counter", out=out, checkpoint_every_s=-5)
    from metahook.harness.reproduce import reproduce

    with pytest.raises(UsageError, match="bad --workers 0"):
        reproduce(out, only=["toy-counter"], workers=0, live=False)
    with pytest.raises(UsageError, match="bad seed"):
        reproduce(out, only=["toy-counter"], seed=-1, live=False)
    assert not out.exists()


# ------------------------------------------------------------------ metahook reproduce
@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["--workers", "0"], ["bad --workers 0", ">= 1"]),
        (["--workers", "-3"], ["bad --workers -3", ">= 1"]),
        (["--seed", "-1"], ["bad seed -1", "0..4294967295"]),
        (["--scale", "huge"], ["invalid choice: 'huge'", "quick"]),
        (["--only", "nope"], ["unknown experiment 'nope'", "toy-counter"]),
    ],
)
def test_bad_reproduce_options(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               args: list[str], fragments: list[str]) -> None:
    out = tmp_path / "runs"
    base = ["reproduce", "--quiet", "--out", str(out)]
    if "--only" not in args:
        base += ["--only", "toy-counter"]
    _exit_2_one_line(cli_inproc(capsys, *base, *args), *fragments)
    assert not out.exists()


@pytest.mark.parametrize(("args", "fragment"), [
    (["--seed", "1"], "holds a finished run at scale 'quick', seed 0"),
    (["--scale", "full"], "holds a finished run at scale 'quick', seed 0"),
    (["--seed", "1", "--resume"], "replaces only runs of the same scale and seed"),
])
def test_reproduce_never_replaces_a_run_of_another_scale_or_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    out = tmp_path / "runs"
    run_experiment("toy-counter", out=out / "toy-counter", overrides=["steps=5", "plot=false"])
    before = _snapshot(out)
    line = _exit_2_one_line(cli_inproc(capsys, "reproduce", "--quiet", "--only", "toy-counter",
                                       "--out", str(out), *args), fragment)
    assert "another --out" in line
    assert _snapshot(out) == before


def test_reproduce_never_deletes_a_folder_that_is_no_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    (out / "toy-counter").mkdir(parents=True)
    (out / "toy-counter" / "notes.txt").write_text("mine\n")
    (out / "oops-hanoi").write_text("a file\n")
    before = _snapshot(out)
    _exit_2_one_line(cli_inproc(capsys, "reproduce", "--quiet", "--only", "toy-counter",
                                "--out", str(out)), "holds files but no run", "another --out")
    _exit_2_one_line(cli_inproc(capsys, "reproduce", "--quiet", "--only", "oops-hanoi",
                                "--out", str(out)), "is a file, not a run folder")
    other = tmp_path / "other"
    run_experiment("toy-counter", out=other / "oops-hanoi", overrides=["steps=5", "plot=false"])
    before_other = _snapshot(other)
    _exit_2_one_line(cli_inproc(capsys, "reproduce", "--quiet", "--only", "oops-hanoi",
                                "--out", str(other)), "holds a run of 'toy-counter'")
    assert _snapshot(out) == before and _snapshot(other) == before_other


# ------------------------------------------------------------------ metahook forth
@pytest.mark.parametrize(("args", "fragment"), [
    (["--max-steps", "0"], "--max-steps must be >= 1"),
    (["--max-steps", "many"], "argument --max-steps"),
    (["--max-steps", "1.5"], "expected an integer"),
    (["--trace-limit", "0"], "--trace-limit must be >= 1"),
])
def test_bad_forth_options(capsys: pytest.CaptureFixture[str], args: list[str],
                           fragment: str) -> None:
    code, out, err = cli_inproc(capsys, "forth", "c1 c2", *args)
    _exit_2_one_line((code, out, err), fragment)
    assert out == ""
