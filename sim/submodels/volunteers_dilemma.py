"""Buck-passing among co-responsible assignees as Diekmann's volunteer's dilemma [diekmann1985].

Each of n co-responsible assignees can act (pay c, the item is resolved: everyone gets b) or
wait. If nobody acts every assignee bears its share of the blame, f·ρ/n, where f is the blame
sanction, ρ the authority of whoever assigned the item over that assignee, and 1/n the
diffusion of blame among many hands [weaver1986]. Waiting pays b if another acts and −fρ/n if
none does. The symmetric mixed equilibrium is

    p* = 1 − [c / (b + fρ/n)]^{1/(n−1)},     P(nobody acts) = [c / (b + fρ/n)]^{n/(n−1)},

which rises with n and falls with ρ (倪星、王锐 2018). A responsibility list makes n = 1:
the owner acts iff b + fρ > c.
"""

from __future__ import annotations

import numpy as np

__all__ = ["VARIANTS", "p_act", "p_nobody_acts"]

VARIANTS = ("volunteers_dilemma", "no_blame_diffusion", "authority_blind")

#: Probability each assignee acts in the null (authority-blind) variant.
NULL_P_ACT = 0.3


def p_act(benefit, cost, blame, authority, n, variant: str = "volunteers_dilemma"):
    """Probability that one assignee acts on an item.

    Args:
        benefit: b ≥ 0, utility to the assignee of the item being resolved.
        cost: c ≥ 0, cost of acting (scales with the item's difficulty).
        blame: f ≥ 0, sanction when nobody acts.
        authority: ρ ∈ [0, 1], authority of the assigner over the assignee.
        n: number of co-responsible assignees (≥ 1).
        variant: ``volunteers_dilemma`` (blame diffuses as 1/n), ``no_blame_diffusion``
            (each bears the whole blame fρ), or ``authority_blind`` (fixed probability, blind to
            authority and n: the ablation of this mechanism).
    Returns:
        Array of probabilities in [0, 1].
    """
    b, c, f, rho = (np.asarray(x, float) for x in (benefit, cost, blame, authority))
    n = np.asarray(n, float)
    b, c, f, rho, n = np.broadcast_arrays(b, c, f, rho, n)
    if variant == "authority_blind":
        return np.full(b.shape, NULL_P_ACT)
    share = 1.0 if variant == "no_blame_diffusion" else np.maximum(n, 1.0)
    payoff = b + f * rho / share
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(payoff > 0, c / np.where(payoff > 0, payoff, 1.0), np.inf)
        single = (payoff > c).astype(float)
        mixed = np.where(ratio < 1.0,
                         1.0 - np.power(np.minimum(ratio, 1.0), 1.0 / np.maximum(n - 1.0, 1.0)),
                         0.0)
    return np.where(n <= 1.0, single, mixed)


def p_nobody_acts(benefit, cost, blame, authority, n):
    """Closed form P(no assignee acts) = [c/(b + fρ/n)]^{n/(n−1)} (n ≥ 2), capped at 1."""
    payoff = benefit + blame * authority / n
    if n <= 1:
        return 0.0 if payoff > cost else 1.0
    ratio = min(cost / payoff, 1.0) if payoff > 0 else 1.0
    return ratio ** (n / (n - 1))
