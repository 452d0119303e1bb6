"""Associative-retrieval tasks for fast weights (Ba et al. 2016; Zoology's MQAR, Arora et al. 2024).

**Associative retrieval** (J. Ba, G. Hinton, V. Mnih, J. Leibo, C. Ionescu, "Using fast weights to
attend to the recent past", NIPS 2016, sec. 4.1).  A sequence lists ``K`` key-value pairs -- keys
are distinct lower-case letters, values are digits -- then the separator ``??`` and one query key
taken from the listed ones; the answer is that key's digit::

    c9k8j3f1??c  ->  9          (K = 4, length 2K + 3 = 11)

Vocabulary: 37 tokens, ``a``..``z`` = 0..25, ``0``..``9`` = 26..35, ``?`` = 36.  Targets are the
digits 0..9.  Keys are drawn without replacement, values with replacement, the query uniformly
among the keys.  Data sets are generated offline from a seeded generator (the paper used 100,000
training, 10,000 validation and 20,000 test sequences).

**MQAR** (multi-query associative recall, Arora et al., "Zoology", ICLR 2024), scaled down: ``P``
key-value pairs over disjoint key and value vocabularies, then ``Q`` queries of listed keys; at
each query position the target is the key's value, elsewhere the target is ``-100`` (ignored by
``torch.nn.functional.cross_entropy``).  Tokens: keys ``0..n_keys-1``, values
``n_keys..n_keys+n_values-1``.
"""

from __future__ import annotations

import numpy as np

N_LETTERS = 26
N_DIGITS = 10
QUESTION = N_LETTERS + N_DIGITS  # token of '?'
VOCAB = QUESTION + 1  # 37
IGNORE = -100


def seq_len(n_pairs: int) -> int:
    return 2 * n_pairs + 3


def make_retrieval(n: int, n_pairs: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` sequences with ``n_pairs`` pairs: tokens ``(n, 2K+3)`` int64, targets ``(n,)`` 0..9."""
    if not 1 <= n_pairs <= N_LETTERS:
        raise ValueError(f"n_pairs must be in 1..{N_LETTERS}, got {n_pairs}")
    keys = np.argsort(rng.random((n, N_LETTERS)), axis=1)[:, :n_pairs]
    values = rng.integers(0, N_DIGITS, size=(n, n_pairs))
    which = rng.integers(0, n_pairs, size=n)
    tokens = np.empty((n, seq_len(n_pairs)), dtype=np.int64)
    tokens[:, 0 : 2 * n_pairs : 2] = keys
    tokens[:, 1 : 2 * n_pairs : 2] = N_LETTERS + values
    tokens[:, 2 * n_pairs] = QUESTION
    tokens[:, 2 * n_pairs + 1] = QUESTION
    rows = np.arange(n)
    tokens[:, -1] = keys[rows, which]
    return tokens, values[rows, which].astype(np.int64)


def encode(text: str) -> np.ndarray:
    """``"c9k8??c"`` -> token ids."""
    out = []
    for ch in text:
        if "a" <= ch <= "z":
            out.append(ord(ch) - ord("a"))
        elif "0" <= ch <= "9":
            out.append(N_LETTERS + int(ch))
        elif ch == "?":
            out.append(QUESTION)
        else:
            raise ValueError(f"character {ch!r} is not in the vocabulary (a-z, 0-9, ?)")
    return np.array(out, dtype=np.int64)


def decode(tokens: np.ndarray) -> str:
    """Token ids -> ``"c9k8??c"``."""
    chars = []
    for t in np.asarray(tokens).tolist():
        if t < N_LETTERS:
            chars.append(chr(ord("a") + t))
        elif t < QUESTION:
            chars.append(str(t - N_LETTERS))
        else:
            chars.append("?")
    return "".join(chars)


def retrieve(tokens: np.ndarray) -> int:
    """The answer of one sequence, computed by lookup (the task's oracle)."""
    toks = np.asarray(tokens)
    pairs = dict(zip(toks[0:-3:2].tolist(), toks[1:-3:2].tolist(), strict=True))
    return int(pairs[int(toks[-1])] - N_LETTERS)


def make_mqar(
    n: int, n_pairs: int, n_queries: int, n_keys: int, n_values: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """MQAR sequences: tokens ``(n, 2P + Q)`` and targets ``(n, 2P + Q)`` (``IGNORE`` off-query).

    The target at a query is the value's index ``0..n_values-1``.
    """
    if n_pairs > n_keys:
        raise ValueError("n_pairs must not exceed n_keys (keys are distinct)")
    keys = np.argsort(rng.random((n, n_keys)), axis=1)[:, :n_pairs]
    values = rng.integers(0, n_values, size=(n, n_pairs))
    which = rng.integers(0, n_pairs, size=(n, n_queries))
    L = 2 * n_pairs + n_queries
    tokens = np.empty((n, L), dtype=np.int64)
    tokens[:, 0 : 2 * n_pairs : 2] = keys
    tokens[:, 1 : 2 * n_pairs : 2] = n_keys + values
    rows = np.arange(n)[:, None]
    tokens[:, 2 * n_pairs :] = keys[rows, which]
    targets = np.full((n, L), IGNORE, dtype=np.int64)
    targets[:, 2 * n_pairs :] = values[rows, which]
    return tokens, targets
