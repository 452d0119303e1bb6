"""The Gödel machine's proof calculus: the kernel accepts only what follows, whatever z3 says."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metahook.rsi.godel import isa
from metahook.rsi.godel.axioms import AxiomSystem
from metahook.rsi.godel.isa import Costs
from metahook.rsi.godel.kernel import Kernel, KernelError, Theorem, check_farkas
from metahook.rsi.godel.logic import Lin, LinCon, StateEq, target_goal
from metahook.rsi.godel.prover import entails, find_certificate

ATOMS = ("x", "y", "z")

coef = st.integers(-3, 3)
con = st.builds(
    lambda cs, op, rhs: LinCon.make(dict(zip(ATOMS, cs, strict=True)), op, rhs),
    st.tuples(coef, coef, coef), st.sampled_from(["<=", "<", "=", ">=", ">"]),
    st.integers(-4, 4),
)
goal = st.builds(
    lambda cs, op, rhs: LinCon.make(dict(zip(ATOMS, cs, strict=True)), op, rhs),
    st.tuples(coef, coef, coef), st.sampled_from(["<=", "<", ">=", ">"]), st.integers(-4, 4),
)


def _kernel() -> tuple[Kernel, AxiomSystem]:
    ax = AxiomSystem((Fraction(1, 10), Fraction(9, 10)), 10_000, Costs())
    return Kernel(ax.get_axiom, ax.instantiate), ax


def test_theorems_come_only_from_the_kernel() -> None:
    with pytest.raises(TypeError):
        Theorem(frozenset(), Lin(()))


@settings(max_examples=60, deadline=None)
@given(st.lists(con, min_size=1, max_size=4), goal)
def test_z3_certificates_exist_exactly_when_the_goal_follows(premises, g) -> None:
    cert = find_certificate(premises, g)
    assert (cert is not None) == entails(premises, g)
    if cert is not None:
        assert check_farkas(premises, g, cert)


@settings(max_examples=80, deadline=None)
@given(st.lists(con, min_size=1, max_size=4), goal,
       st.lists(st.integers(-2, 3), min_size=4, max_size=4))
def test_kernel_check_is_sound_for_any_multipliers(premises, g, lam) -> None:
    """Whatever multipliers anyone offers: if the kernel accepts, the goal really follows."""
    cert = [Fraction(v) for v in lam[: len(premises)]]
    if check_farkas(premises, g, cert):
        assert entails(premises, g)


def test_kernel_rejects_tampered_certificates() -> None:
    prem = [LinCon.make({"U1@5": 1, "mu[1]": -30}, ">=", 0),
            LinCon.make({"U0@5": 1, "mu[0]": -5, "mu*": -20}, "<=", 0),
            LinCon.make({"mu[0]": 1}, "=", Fraction(1, 10)),
            LinCon.make({"mu[1]": 1}, "=", Fraction(9, 10)),
            LinCon.make({"mu*": 1}, "=", Fraction(9, 10))]
    g = target_goal(5)
    cert = find_certificate(prem, g)
    assert cert is not None and check_farkas(prem, g, cert)
    for i in range(len(cert)):
        bad = list(cert)
        bad[i] += 1
        assert not check_farkas(prem, g, bad)
    assert not check_farkas(prem, g, [Fraction(1)] * len(prem))
    # the same premises with a weaker lower bound on U1 entail nothing
    weak = [LinCon.make({"U1@5": 1, "mu[1]": -20}, ">=", 0), *prem[1:]]
    assert find_certificate(weak, g) is None and not entails(weak, g)


def test_rules_refuse_what_does_not_follow() -> None:
    k, _ax = _kernel()
    fact = k.state_fact([StateEq("policy", 100, (0,)), StateEq("sigma", 100, (50,))])
    schema = k.get_axiom(isa.UTIL_CONT + isa.N_AXIOM_KINDS * 200)
    with pytest.raises(KernelError):
        k.mp(fact, schema)  # the schema speaks of t=200, the fact of t=100
    with pytest.raises(KernelError):
        k.frame(fact, 50)  # frames only move forward in time
    moved = k.frame(fact, 200)
    assert {str(h) for h in moved.hyps} == {"quiet(policy, 100, 200)", "quiet(sigma, 100, 200)"}
    bound = k.mp(moved, schema)
    assert "in-check(200)" in {str(h) for h in bound.hyps}
    env = k.get_axiom(isa.ENV)
    with pytest.raises(KernelError):
        k.conj(env, fact)
    with pytest.raises(KernelError):
        k.lin(fact, env, target_goal(200), [])
    with pytest.raises(KernelError):
        k.get_axiom(isa.ENV + isa.N_AXIOM_KINDS * 7)  # no such axiom
    with pytest.raises(KernelError):
        k.conj(fact, fact)  # a component twice


def test_z3_theory_is_satisfied_by_the_true_values() -> None:
    import z3

    from metahook.rsi.godel.isa import Software

    ax = AxiomSystem((Fraction(1, 10), Fraction(9, 10)), 50_000, Costs())
    t1 = 10_000
    theory = ax.z3_theory(t1, Software((0,), 50, (0,)), (isa.SETPOL, 1, isa.SETSIG, 0))
    s = z3.Solver()
    s.add(*theory)
    # the true utilities: switching now pulls arm 1 from t1 + 600 on; continuing pulls arm 0
    exact_u1 = Fraction(9, 10) * ((50_000 - t1 - 600) // 10)
    s.add(z3.Real(f"U1@{t1}") == z3.Q(exact_u1.numerator, exact_u1.denominator))
    s.add(z3.Real(f"U0@{t1}") == 400)  # about what continuing with arm 0 collects
    assert s.check() == z3.sat  # the axioms are consistent with the true values
    s2 = z3.Solver()
    s2.add(*theory)
    s2.add(z3.Real(f"U1@{t1}") - z3.Real(f"U0@{t1}") <= 0)
    assert s2.check() == z3.unsat  # and they entail the target theorem
