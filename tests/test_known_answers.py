"""Known-answer tests of the submodels, run *through the model's own code paths*.

Each test builds a :class:`sim.RegionModel` configured so that one submodel is isolated, steps
it, and compares what the model did with a published closed form computed independently here:

* Granovetter (1978): thresholds ~ N(25, σ), N = 100 — the equilibrium jumps from ≈6 to 100
  near σ ≈ 12.2 (the theory notes, validation anchor 2);
* Diekmann's volunteer's dilemma: P(nobody acts) = [c/(b + fρ/n)]^{n/(n−1)};
* Holmström–Milgrom multitask optimum, interior and both corners.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

import sim
from sim.config import DETERMINISTIC

#: Deterministic setting (every spread and noise 0) and no spin-up: the state at build time.
DET = {k.replace(".", "__"): v for k, v in DETERMINISTIC.items()} | {"spin_up": 0}

# --------------------------------------------------------------------------- Granovetter

GRANOVETTER = dict(
    population__n_streets=1, population__communities_per_street=1,
    population__residents_per_community=100, population__units_per_street=0,
    population__two_new_per_street=0, items__rate_per_resident=0.0,
    residents__civic_weight=0.0, residents__cost_weight=0.0, residents__reward_weight=0.0,
    residents__peer_weight=1.0, residents__neighbour_weight=0.0,
    residents__threshold_assignment="quantile", residents__threshold_mean=0.25,
)


def model_equilibrium(sigma: float, steps: int = 50) -> int:
    """Participants at rest when the model's residents follow Granovetter's rule."""
    m = sim.RegionModel(rng=0, residents__threshold_sd=sigma / 100, **GRANOVETTER, **DET)
    history = []
    for _ in range(steps):
        m.step()
        history.append(int(m.state["residents"].participating.sum()))
    assert history[-1] == history[-2], "not at rest"
    return history[-1]


def discrete_map_equilibrium(sigma: float, n: int = 100) -> int:
    """Iterate x <- #{i : 25 + σ z_i <= x} with z_i the normal quantiles (i + ½)/n."""
    z = norm.ppf((np.arange(n) + 0.5) / n)
    x = 0
    for _ in range(1000):
        nxt = int(np.sum(25 + sigma * z <= x))
        if nxt == x:
            return x
        x = nxt
    raise AssertionError("no rest point")


def mean_field_jump() -> float:
    """σ where x <- N Φ((x − 25)/σ), from x = 0, jumps to ≈N (Granovetter's 12.2)."""
    def rest(sigma):
        x = 0.0
        for _ in range(20000):
            x = 100 * norm.cdf((x - 25) / sigma)
        return x
    lo, hi = 11.0, 14.0
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if rest(mid) > 90 else (mid, hi)
    return hi


def bisect_jump(equilibrium, lo=11.0, hi=14.0, iters=10) -> float:
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if equilibrium(mid) >= 90 else (mid, hi)
    return hi


def test_granovetter_step_follows_the_threshold_rule_exactly():
    # Each model step is one application of the threshold map.
    for sigma in (8.0, 12.0, 12.6, 16.0):
        assert model_equilibrium(sigma) == discrete_map_equilibrium(sigma)


def test_granovetter_jump_near_sigma_12_2():
    jump = bisect_jump(model_equilibrium, lo=11.5, hi=13.5, iters=6)
    assert abs(mean_field_jump() - 12.22) < 0.02  # the published value, continuous map
    # 100 agents make the map integer-valued: the jump moves up by about a third of a unit.
    assert 12.0 < jump < 12.7, jump
    below, above = model_equilibrium(jump - 0.1), model_equilibrium(jump + 0.1)
    assert 3 <= below <= 8, below    # Granovetter: "about 6" below the jump
    assert above == 100


# --------------------------------------------------------------------------- volunteer's dilemma

def vd_model(n: int, b: float, c: float, f: float, rho: float, rng: int = 0):
    """A street whose every item goes to the conference and to n co-responsible units."""
    return sim.RegionModel(
        rng=rng, population__n_streets=1, population__communities_per_street=2,
        population__residents_per_community=100, population__units_per_street=6,
        population__two_new_per_street=0, population__share_units_higher_rank=0.0,
        items__rate_per_resident=0.1, items__share_specialised=1.0, items__difficulty_sigma=0.0,
        items__n_coresponsible=n, items__max_assign_attempts=20, items__max_age=520,
        empowerment__conference_period=1, empowerment__street_authority=rho,
        empowerment__conference_binding=0.0, empowerment__responsibility_list=0.0,
        empowerment__leading_group=0.0, market__outsourcing=0.0,
        buck_passing__benefit=b, buck_passing__cost=c, buck_passing__blame=f,
        submodels__unit_participation="always", submodels__motivation="static", **DET)


@pytest.mark.parametrize("n,b,c,f,rho", [(2, 1.0, 0.9, 2.0, 0.3), (3, 1.0, 0.9, 2.0, 0.3),
                                         (4, 1.0, 0.6, 2.0, 0.9), (3, 1.0, 0.95, 0.0, 0.0)])
def test_volunteers_dilemma_nobody_acts_matches_closed_form(n, b, c, f, rho):
    m = vd_model(n, b, c, f, rho)
    for _ in range(60):
        m.step()
    trials, nobody = m.assignment_stats["decisions"], m.assignment_stats["nobody"]
    expected = (c / (b + f * rho / n)) ** (n / (n - 1))
    assert trials > 500
    se = math.sqrt(expected * (1 - expected) / trials)
    assert abs(nobody / trials - expected) < 4 * se + 1e-9, (nobody / trials, expected, trials)


def test_volunteers_dilemma_single_owner_acts_iff_b_plus_f_rho_exceeds_c():
    acts = vd_model(1, b=0.5, c=0.9, f=2.0, rho=0.3)   # 0.5 + 0.6 > 0.9: always acts
    waits = vd_model(1, b=0.5, c=0.9, f=0.5, rho=0.3)  # 0.5 + 0.15 < 0.9: never acts
    for m in (acts, waits):
        for _ in range(20):
            m.step()
    assert acts.assignment_stats["decisions"] > 50 and acts.assignment_stats["nobody"] == 0
    assert waits.assignment_stats["nobody"] == waits.assignment_stats["decisions"] > 50


def test_nobody_acts_rises_with_n_and_falls_with_authority():
    from sim.submodels.volunteers_dilemma import p_nobody_acts

    assert p_nobody_acts(1.0, 0.9, 2.0, 0.3, 2) < p_nobody_acts(1.0, 0.9, 2.0, 0.3, 5)
    assert p_nobody_acts(1.0, 0.9, 2.0, 0.9, 3) < p_nobody_acts(1.0, 0.9, 2.0, 0.1, 3)


# --------------------------------------------------------------------------- multitask

def closed_form(alpha_f, alpha_s, delta):
    """Holmström–Milgrom optimum, written out independently of sim.submodels.multitask."""
    if alpha_s - delta * alpha_f <= 0:
        return max(alpha_f, 0.0), 0.0
    if alpha_f - delta * alpha_s <= 0:
        return 0.0, max(alpha_s, 0.0)
    d = 1 - delta ** 2
    return (alpha_f - delta * alpha_s) / d, (alpha_s - delta * alpha_f) / d


@pytest.mark.parametrize("beta,w,kappa,iota,delta,case", [
    (0.6, 0.4, 0.2, 0.2, 0.5, "interior"),
    (1.0, 0.0, 0.0, 0.2, 0.5, "form corner"),      # the theory notes: α_F=1, α_S=0.2, δ=0.5 → t_F=1
    (0.3, 0.9, 1.0, 0.8, 0.6, "substance corner"),
    (0.5, 0.5, 0.5, 0.1, 0.0, "no substitution"),
])
def test_multitask_efforts_in_the_model_equal_the_optimum(beta, w, kappa, iota, delta, case):
    m = sim.RegionModel(rng=1, population="classroom", evaluation__promotion_link=beta,
                        evaluation__substance_weight=w, evaluation__observability=kappa,
                        evaluation__gameable_share=0.0, evaluation__effort_substitution=delta,
                        staff__intrinsic_motivation=iota, submodels__motivation="static", **DET)
    m.step()
    # The score weighs reported figures by λ_F = (1 − w)(1 − κ) + w·g (here g = 0).
    lam = (1 - w) * (1 - kappa)
    alpha_f, alpha_s = beta * lam, beta * (1 - lam) + iota
    tf, ts = closed_form(alpha_f, alpha_s, delta)
    for group in ("communities", "streets"):
        st = m.state[group]
        np.testing.assert_allclose(st.t_form, tf, atol=1e-12)
        np.testing.assert_allclose(st.t_substance, ts, atol=1e-12)
    if case == "form corner":
        assert tf == pytest.approx(1.0) and ts == 0.0
        # The wrong answer, clipping the interior formula, would give 1.2.
        assert (alpha_f - delta * alpha_s) / (1 - delta ** 2) == pytest.approx(1.2)
    if case == "substance corner":
        assert tf == 0.0 and ts == pytest.approx(alpha_s)


def test_multitask_form_share_goes_to_one_as_substitution_rises_with_low_substance_weight():
    from sim.submodels.multitask import multitask_effort

    shares = []
    for delta in (0.0, 0.5, 0.8, 0.95):
        tf, ts = multitask_effort(0.3 * 0.9, 0.3 * 0.1 * 0.5 + 0.2, delta)
        shares.append(float(tf / (tf + ts)))
    assert shares == sorted(shares) and shares[-1] == 1.0


# --------------------------------------------------------------------------- the score as an estimator

@pytest.mark.parametrize("w", [0.0, 0.5, 1.0])
def test_full_observability_and_nothing_gameable_give_a_zero_evaluation_gap(w):
    """With κ = 1 and g = 0 the score equals true performance P for any substance weight."""
    m = sim.RegionModel(rng=3, population="classroom", spin_up=26, evaluation__period=4,
                        evaluation__substance_weight=w, evaluation__observability=1.0,
                        evaluation__gameable_share=0.0)
    gaps = []
    for _ in range(24):
        m.step()
        c = m.state["communities"]
        known = ~np.isnan(c.true_performance)
        assert known.any()
        gaps.append(np.abs(c.score - c.true_performance)[known].max())
    assert max(gaps) < 1e-12


def test_partial_observability_lets_the_score_overstate():
    from sim.institutions.evaluation import evaluation_score, reported_weight

    assert reported_weight(0.2, 0.3, 0.4) == pytest.approx(0.8 * 0.7 + 0.2 * 0.4)
    # Reported figures above true performance pull the score up by λ_F of the difference.
    assert evaluation_score(0.5, 0.9, 0.2, 0.3, 0.4) == pytest.approx(0.5 + 0.64 * 0.4)
    assert evaluation_score(0.5, 0.9, 1.0, 0.3, 0.0) == pytest.approx(0.5)
