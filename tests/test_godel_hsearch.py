"""HSEARCH: numba paths against references, z3 proofs against exhaustive checks, Theorem 1."""

from __future__ import annotations

from functools import cache

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.search import hsearch as hs

ALL_WORDS = np.arange(hs.MASK + 1, dtype=np.int64)


@cache
def _spec_all() -> np.ndarray:
    out = np.empty_like(ALL_WORDS)
    hs.run_spec(ALL_WORDS, out, 1 << 62)
    return out


@st.composite
def programs(draw, max_len: int = 4) -> hs.Program:
    length = draw(st.integers(1, max_len))
    index = draw(st.integers(0, int(np.prod([hs.choices(i) for i in range(length)])) - 1))
    return hs.decode(length, index)


def _run(p: hs.Program, xs: np.ndarray, limit: int = 1 << 62) -> tuple[int, np.ndarray]:
    out = np.zeros_like(xs)
    s = hs.run_program(np.array(p.ops), np.array(p.a), np.array(p.b), hs.OP_COST, xs, out, limit)
    return s, out


@settings(max_examples=60, deadline=None)
@given(programs(), st.lists(st.integers(0, hs.MASK), min_size=1, max_size=20))
def test_interpreter_matches_the_reference(p, words) -> None:
    xs = np.array(words, dtype=np.int64)
    steps, out = _run(p, xs)
    assert steps == p.time(len(xs))
    assert [int(v) for v in out] == [hs.program_reference(p, w) for w in words]
    assert _run(p, xs, steps - 1)[0] == -1  # one step short: cut off
    assert _run(p, xs, steps)[0] == steps


def test_spec_matches_the_reference_on_every_word() -> None:
    assert [int(v) for v in _spec_all()[:4096]] == [hs.spec_word_reference(w)
                                                      for w in range(4096)]
    assert hs.spec_word_reference(0) == hs.MASK and hs.spec_word_reference(8) == 7


@settings(max_examples=30, deadline=None)
@given(programs(3))
def test_z3_proves_equivalence_exactly_when_all_words_agree(p) -> None:
    proved, used = hs.prove_equivalent(p)
    assert used > 0
    assert proved == bool(np.array_equal(_run(p, ALL_WORDS)[1], _spec_all()))


def test_known_programs() -> None:
    good = hs.Program((0, 3, 6), (0, 0, 1), (0, 0, 2))      # ~x & (x-1)
    wrong = hs.Program((3, 6), (0, 0), (0, 1))              # x & (x-1): clears the lowest bit
    assert hs.prove_equivalent(good)[0] and not hs.prove_equivalent(wrong)[0]
    assert hs.prove_equivalent(good)[1] == hs.prove_equivalent(good)[1]  # deterministic cost


def test_enumeration_matches_the_reference() -> None:
    tests = hs.test_words()
    want = np.array([hs.spec_word_reference(int(x)) for x in tests], dtype=np.int64)
    for length in (1, 2):
        idx, steps_at, total = hs._enumerate(length, tests, want, hs.OP_COST, hs.N_UNARY,
                                            hs.N_BINARY)
        assert list(idx) == hs.enumerate_reference(length, tests, want)
        assert np.all(np.diff(steps_at) >= 0) and (len(steps_at) == 0 or steps_at[-1] <= total)


@cache
def _trace() -> hs.ProofTrace:
    return hs.proof_search(3)


def test_proof_search_finds_only_correct_programs_shortest_first() -> None:
    trace = _trace()
    assert trace.found and all(len(f.program.ops) == 3 for f in trace.found)
    for f in trace.found:
        assert np.array_equal(_run(f.program, ALL_WORDS)[1], _spec_all())
    assert [f.a_steps for f in trace.found] == sorted(f.a_steps for f in trace.found)
    assert min(f.program.cost for f in trace.found) == 4


def test_theorem_1_and_the_share_of_c() -> None:
    trace = _trace()
    rng = np.random.default_rng(0)
    for k in (6, 12, 18, 21):
        xs = rng.integers(0, hs.MASK + 1, 1 << k).astype(np.int64)
        d = hs.hsearch(xs, trace, variant="doubling")
        r = hs.hsearch(xs, trace, variant="restart")
        assert d.output_ok and r.output_ok
        # Theorem 1: time <= 5 t_p(x) + d_p time_{t_p}(x) + c_p, c_p: when the best pair is ready
        assert d.total <= 5 * d.t_best + d.best_available + hs.BOUND_STEPS / 0.1
        # never worse than running p* itself with C's share
        assert r.total <= hs.spec_time(1 << k) / 0.8 + 1e-9
        if r.program != "p*" and r.best_available < r.total:
            assert abs(r.total - (r.best_available + r.t_best / 0.8)) < 1e-6
    # for large inputs the additive constant fades: total/t_best -> 1/0.8
    assert r.total / r.t_best < 1.25 * 1.1
    assert r.total < hs.spec_time(1 << 21) / 8
