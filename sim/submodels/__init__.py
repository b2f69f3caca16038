"""Theory-grounded decision rules, each a pure, vectorised function.

One module per mechanism; each function states the source it follows (keys refer to
``docs/references.md``). The model calls these functions on arrays of agents; the agent
classes call the same functions on one agent, so there is a single code path.
"""

from .motivation import (
                            quit_probability,
                            update_staff_motivation,
                            update_two_new_motivation,
                            update_unit_motivation,
)
from .multitask import multitask_effort
from .participation import (
                            resident_motive,
                            resident_participation,
                            two_new_probability,
                            unit_participates,
)
from .solution import p_solved
from .volunteers_dilemma import p_act, p_nobody_acts

__all__ = [
                            "multitask_effort",
                            "p_act",
                            "p_nobody_acts",
                            "p_solved",
                            "quit_probability",
                            "resident_motive",
                            "resident_participation",
                            "two_new_probability",
                            "unit_participates",
                            "update_staff_motivation",
                            "update_two_new_motivation",
                            "update_unit_motivation",
]
