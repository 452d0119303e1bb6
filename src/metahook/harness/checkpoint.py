"""Atomic checkpoints: JSON plus ``.npz``, never pickle.

A state is a nested structure of dicts, lists, JSON scalars, numpy arrays and torch tensors.
:func:`save` splits it into ``ckpt-<n>.json`` (the structure, with placeholders) and
``ckpt-<n>.npz`` (the arrays), each written to a temporary file, fsynced and renamed; only then is
``latest.json`` (name, sequence number, sha256 of both files) replaced, again by rename. A reader
therefore sees either the previous checkpoint or the new one, never half of one, and
:func:`load` detects a corrupt or truncated file by its hash.

Numpy random generators are saved through :func:`rng_state` / :func:`set_rng_state`.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from metahook.harness.errors import UsageError

LATEST = "latest.json"
_ARRAY = "__ndarray__"
_TENSOR = "__tensor__"
_TUPLE = "__tuple__"


def _umask() -> int:
    """The process's umask, read once at import (setting it to read it is not thread-safe)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same folder, fsync, rename).

    The file gets the permissions an ordinary ``open(path, "w")`` would give (0666 less the
    umask), not the temp file's private 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def _flatten(obj: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if isinstance(obj, np.ndarray):
        key = f"a{len(arrays)}"
        arrays[key] = obj
        return {_ARRAY: key}
    if type(obj).__module__.startswith("torch") and hasattr(obj, "detach"):
        key = f"a{len(arrays)}"
        arrays[key] = obj.detach().cpu().numpy()
        return {_TENSOR: key, "dtype": str(obj.dtype).removeprefix("torch.")}
    if isinstance(obj, dict):
        out = {}
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"checkpoint keys must be str, got {k!r} at {path}")
            out[k] = _flatten(v, arrays, f"{path}.{k}")
        return out
    if isinstance(obj, tuple):
        return {_TUPLE: [_flatten(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]}
    if isinstance(obj, list):
        return [_flatten(v, arrays, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, np.generic):
        return obj.item()
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint {type(obj).__name__} at {path}")


def _unflatten(obj: Any, arrays: Any) -> Any:
    if isinstance(obj, dict):
        if _ARRAY in obj:
            return np.array(arrays[obj[_ARRAY]])
        if _TENSOR in obj:
            import torch

            return torch.from_numpy(np.array(arrays[obj[_TENSOR]]))
        if _TUPLE in obj:
            return tuple(_unflatten(v, arrays) for v in obj[_TUPLE])
        return {k: _unflatten(v, arrays) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_unflatten(v, arrays) for v in obj]
    return obj


def save(folder: Path, state: dict[str, Any], seq: int) -> None:
    """Write checkpoint number ``seq`` of ``state`` into ``folder`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    structure = _flatten(state, arrays, "state")
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # type: ignore[arg-type]
    npz_bytes = buf.getvalue()
    json_bytes = (json.dumps(structure, sort_keys=True) + "\n").encode()
    stem = f"ckpt-{seq:06d}"
    atomic_write_bytes(folder / f"{stem}.npz", npz_bytes)
    atomic_write_bytes(folder / f"{stem}.json", json_bytes)
    atomic_write_json(
        folder / LATEST,
        {
            "stem": stem,
            "seq": seq,
            "sha256_json": hashlib.sha256(json_bytes).hexdigest(),
            "sha256_npz": hashlib.sha256(npz_bytes).hexdigest(),
        },
    )
    for old in folder.glob("ckpt-*"):
        if not old.name.startswith(stem):
            old.unlink(missing_ok=True)


def exists(folder: Path) -> bool:
    return (folder / LATEST).is_file()


def load(folder: Path) -> tuple[dict[str, Any], int]:
    """Load the latest checkpoint in ``folder``: ``(state, seq)``.

    A missing, truncated or corrupt checkpoint is a :class:`UsageError` naming the file.
    """
    latest = folder / LATEST
    if not latest.is_file():
        raise UsageError(f"no checkpoint in {folder}; run without --resume to start afresh")
    try:
        meta = json.loads(latest.read_text())
        stem = meta["stem"]
        json_bytes = (folder / f"{stem}.json").read_bytes()
        npz_bytes = (folder / f"{stem}.npz").read_bytes()
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"corrupt checkpoint in {folder}: {exc}") from None
    if hashlib.sha256(json_bytes).hexdigest() != meta.get("sha256_json") or (
        hashlib.sha256(npz_bytes).hexdigest() != meta.get("sha256_npz")
    ):
        raise UsageError(f"corrupt checkpoint in {folder}: {stem} does not match its sha256")
    try:
        structure = json.loads(json_bytes)
        with np.load(io.BytesIO(npz_bytes), allow_pickle=False) as arrays:
            state = _unflatten(structure, arrays)
    except (ValueError, OSError, KeyError) as exc:
        raise UsageError(f"corrupt checkpoint in {folder}: {exc}") from None
    return state, int(meta["seq"])


def rng_state(rng: np.random.Generator) -> dict[str, Any]:
    """The state of a numpy Generator as JSON-ready data (big ints are fine in JSON)."""
    return dict(rng.bit_generator.state)


def set_rng_state(rng: np.random.Generator, state: dict[str, Any]) -> None:
    rng.bit_generator.state = state
