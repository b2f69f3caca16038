"""Shared base of the five agent types: a Mesa agent that is a view onto one array row.

The model owns each family's state as numpy arrays (``sim.state``); an agent object knows
its family, its row ``index`` and its graph ``node``, and reads/writes its state through
properties. Family-wide rules are class methods that act on all rows at once (vectorised),
and ``decide()`` on one agent runs the very same function on that agent's row.
"""

from __future__ import annotations

import mesa

__all__ = ["ArrayAgent", "state_property"]


def state_property(field: str, doc: str = ""):
    """A property reading/writing ``model.state[family].<field>[index]``."""

    def get(self):
        return getattr(self.model.state[self.family], field)[self.index]

    def set_(self, value):
        getattr(self.model.state[self.family], field)[self.index] = value

    return property(get, set_, doc=doc)


class ArrayAgent(mesa.Agent):
    """A Mesa agent placed on a node of the district graph, its state in model arrays."""

    family: str = ""
    kind: str = ""

    def __init__(self, model, index: int, node: int):
        super().__init__(model)
        self.index = index
        self.node = node

    def __repr__(self) -> str:
        return f"{type(self).__name__}(index={self.index}, node={self.node})"
