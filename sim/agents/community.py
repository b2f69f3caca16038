"""CommunityCommittee 社区"两委" — the base (基础) of regional Party building."""

from __future__ import annotations

import numpy as np

from ..institutions.admin import campaign_active
from ..numeric import binomial, clip
from ..submodels.motivation import quit_probability, update_staff_motivation
from .base import ArrayAgent, state_property

__all__ = ["CommunityCommittee", "update_staff_all"]


class CommunityCommittee(ArrayAgent):
    """A community's Party organisation and residents' committee.

    State (``model.state['communities']``): staff hours, administrative hours due/served,
    autonomy space (free hours), form/substance hours and efforts, volunteer hours, intrinsic
    motivation (morale), form output, evaluation score, responsiveness L as residents see it.
    """

    family = "communities"
    kind = "community"
    street = state_property("street", "index of its street")
    staff_hours = state_property("staff_hours", "working hours per week")
    admin_due = state_property("admin_due", "administrative hours waiting")
    admin_served = state_property("admin_served", "administrative hours served this week")
    free_hours = state_property("free_hours", "autonomy space: hours left after tasks")
    form_hours = state_property("form_hours", "hours on form this week")
    substance_hours = state_property("substance_hours", "hours on items this week")
    volunteer_hours = state_property("volunteer_hours", "residents' volunteer hours this week")
    intrinsic = state_property("intrinsic", "staff intrinsic motivation ι (utility)")
    score = state_property("score", "latest evaluation score in [0, 1]")
    responsiveness = state_property("responsiveness",
                                    "L: moving average of the worth of closed items, in [0, 1]")

    @property
    def autonomy_space(self) -> float:
        """Share of staff hours left after administrative tasks, in [0, 1]."""
        return float(self.free_hours / self.staff_hours)

    @property
    def form_share(self) -> float:
        """φ = t_F / (t_F + t_S) of this week's effort (0 when no effort)."""
        st = self.model.state[self.family]
        total = st.t_form[self.index] + st.t_substance[self.index]
        return float(st.t_form[self.index] / total) if total > 0 else 0.0


def update_staff_all(model, family: str) -> None:
    """Morale, turnover and experience of street or community staff (``staff.*``).

    Overload burns intrinsic motivation ι out; rest (weeks without campaigns, hours left free)
    lets it recover towards the target ι0·(1 + ½·recognition)·(1 + score_feedback·β·(score −
    mean score)); burned-out staff quit more often and are replaced by newcomers with the
    actor's ι0 and no experience; experience grows with time constant ``learning_weeks``.
    """
    cfg = model.config
    st = cfg.staff
    g = model.state[family]
    if cfg.submodels.motivation != "static":
        load = np.minimum(g.admin_served / g.staff_hours, 1.0)
        overload = clip((load - 0.25) / 0.75, 0.0, 1.0)
        rest = 0.0 if campaign_active(model.steps, cfg.admin) else 1.0 - load
        recognised, feedback, n_judged = model.lever_derived(
            "staff_target:" + family, ("incentives.recognition", "evaluation.promotion_link"),
            lambda recognition, promotion_link: _target_factors(model, family, recognition,
                                                                promotion_link))
        if n_judged is None:
            score = g.score
        else:  # a street is judged by its communities' scores
            comm = model.state["communities"]
            score = np.bincount(comm.street, weights=comm.score, minlength=g.street.size) / n_judged
        standing = score - score.sum() / score.size  # (the mean, as ndarray.mean computes it)
        target = g.intrinsic0 * recognised * np.maximum(1.0 + feedback * standing, 0.0)
        g.intrinsic = update_staff_motivation(g.intrinsic, target, overload, rest, st.burnout_rate,
                                              st.recovery_rate, g.intrinsic0)
        p_quit = quit_probability(g.intrinsic, g.intrinsic0, st.turnover_rate, st.burnout_turnover)
        leavers = binomial(model.rng, g.n_staff.astype(np.int64), p_quit)
        f = leavers / g.n_staff
        stay = 1.0 - f
        g.intrinsic = stay * g.intrinsic + f * g.intrinsic0
        g.experience = stay * g.experience
        g.leavers = leavers.astype(float)
    g.experience = g.experience + (1.0 - g.experience) / st.learning_weeks


def _target_factors(model, family: str, recognition, promotion_link):
    """By actor of ``family``, from its street's levers: 1 + ½·recognition and
    score_feedback·promotion_link; and, for streets, the (S,) number of communities whose
    scores a street's score averages (at least 1), else None."""
    g = model.state[family]
    n_judged = None
    if family != "communities":
        n_judged = np.maximum(np.bincount(model.state["communities"].street,
                                          minlength=g.street.size), 1)
    return (1.0 + 0.5 * recognition[g.street],
            model.config.staff.score_feedback * promotion_link[g.street], n_judged)
