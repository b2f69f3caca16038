"""RegionModel: the district as a Mesa model. It builds, then steps through named phases.

The model wires and sequences; agents decide (``sim.agents``); institutions route and judge
(``sim.institutions``); decision rules are pure functions (``sim.submodels``).

One step is one week:

1. ``apply_interventions``  — policy changes scheduled for this step take effect
2. ``push_down_tasks``      — administrative tasks arrive (campaign pulses) and are served first
3. ``allocate_effort``      — streets and communities split free hours between form and substance
4. ``decide_participation`` — residents, units, organisations decide (on last week's participation)
5. ``raise_items``          — residents raise items; communities triage
6. ``work_community_queue`` — communities work their queue with staff and volunteer hours
7. ``handle_street_queue``  — the street outsources, assigns by list, refers, works, pushes down
8. ``hold_conference``      — the joint conference assigns; assignees act or pass the buck
9. ``work_assigned_items``  — assignees and providers resolve or delay
10. ``expire_items``        — items past ``items.max_age`` expire
11. ``update_residents``    — responsiveness, satisfaction, trust
12. ``evaluate``            — evaluation scores (every ``evaluation.period`` steps)
13. ``update_motivation``   — organisations', units' and staff motivation
14. ``collect``             — metrics (also at t = 0)
"""

from __future__ import annotations

import warnings

import mesa
import numpy as np

from . import metrics
from .agents import (
    CommunityCommittee,
    Resident,
    ResidentUnit,
    StreetCommittee,
    TwoNewOrganization,
)
from .agents.community import update_staff_motivation_all
from .compose import model_config, with_values
from .config import ConfigError
from .institutions.admin import push_down_tasks
from .institutions.conference import hold_conference, work_assigned_items
from .institutions.evaluation import allocate_effort, update_scores
from .institutions.intake import raise_items, work_community_queue
from .institutions.street import handle_street_queue, work_provider_items
from .items import EventLog, ItemStore, Reason, RecordSink, Stage, Status
from .ledger import ClosureHistory, StepLedger
from .network import build_world, sync_policy_layers
from .state import init_state

__all__ = ["RegionModel"]

#: Closed items are moved out of the live arrays every this many steps.
COMPACT_EVERY = 8


class RegionModel(mesa.Model):
    """A district of streets, communities, resident units, two-new organisations, residents.

    Args:
        rng: seed (int) of the model's one ``numpy.random.Generator``; None uses
            ``config.seed``. (Never ``seed=``: Mesa's ``batch_run`` passes ``rng``.)
        config: None (defaults), a scenario name or YAML path, a nested dict, or an
            :class:`sim.config.RPBConfig`.
        **params: flat schema fields with ``.`` written ``__`` (``admin__burden=0.6``), and
            ``population="classroom"`` for a preset.

    Raises:
        sim.ConfigError: before anything is built, if a value is out of range.
    """

    def __init__(self, *, rng=None, config=None, **params):
        seed = None
        if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
            seed = int(rng)
        elif rng is not None and not isinstance(rng, np.random.Generator):
            raise ConfigError("rng", rng, "an integer seed, a numpy Generator, or None")
        cfg = model_config(config, params, seed=seed)
        super().__init__(rng=rng if isinstance(rng, np.random.Generator) else cfg.seed)
        self.config = cfg
        self.initial_config = cfg  # ``config`` changes with interventions; this does not
        self.world = build_world(cfg, self.rng)
        self.layout = self.world.layout
        self.state = init_state(cfg, self.world, self.rng)
        self.degree = np.asarray(self.world.ties.sum(axis=1)).ravel().astype(np.float32)
        counts = np.bincount(self.world.resident_community, minlength=self.layout.n_communities)
        self.community_first_resident = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self._create_agents()
        self._agent_lists: dict[str, list] = {}

        sink_items = RecordSink(cfg.items.record, cfg.items.stream_path)
        events_path = cfg.items.stream_path.replace(".parquet", "") + ".handoffs.parquet" \
            if cfg.items.stream_path else ""
        self.items = ItemStore(sink_items)
        self.events = EventLog(RecordSink(cfg.items.record, events_path))
        self.ledger = StepLedger(self.layout.n_communities, self.layout.n_residents)
        self.closures = ClosureHistory(cfg.steps)
        self.assignment_stats = {"decisions": 0, "nobody": 0}
        self._resolved_by_pool = np.zeros(self.state["pool"].node.size)
        self._satisfaction_cache = (-1, None)
        self._pending = list(cfg.interventions)
        late = [iv["step"] for iv in self._pending if iv["step"] > cfg.steps]
        if late:
            warnings.warn(f"interventions at steps {late} lie past the run's last step "
                          f"({cfg.steps}) and will not take effect", RuntimeWarning, stacklevel=2)
        self.datacollector = mesa.DataCollector(model_reporters=metrics.model_reporters())
        self.datacollector.collect(self)

    @property
    def graph(self):
        """The district graph (networkx); see :attr:`sim.network.World.graph`."""
        return self.world.graph

    # ------------------------------------------------------------------ build
    def _create_agents(self) -> None:
        L = self.layout
        self.streets = StreetCommittee.create_agents(
            self, L.n_streets, list(range(L.n_streets)), list(range(L.street0, L.street0 + L.n_streets)))
        self.communities = CommunityCommittee.create_agents(
            self, L.n_communities, list(range(L.n_communities)),
            list(range(L.community0, L.community0 + L.n_communities)))
        self.units = ResidentUnit.create_agents(
            self, L.n_units, list(range(L.n_units)), list(range(L.unit0, L.unit0 + L.n_units)))
        self.two_new_orgs = TwoNewOrganization.create_agents(
            self, L.n_two_new, list(range(L.n_two_new)),
            list(range(L.two_new0, L.two_new0 + L.n_two_new)))
        self.residents = Resident.create_agents(
            self, L.n_residents, list(range(L.n_residents)),
            list(range(L.resident0, L.resident0 + L.n_residents)))

    def agent_at(self, node: int):
        """The agent placed on a graph node (None for the district and conference nodes)."""
        kind = self.layout.kind_of(node)
        table = {"street": (self.streets, self.layout.street0),
                 "community": (self.communities, self.layout.community0),
                 "unit": (self.units, self.layout.unit0),
                 "two_new": (self.two_new_orgs, self.layout.two_new0),
                 "resident": (self.residents, self.layout.resident0)}
        if kind not in table:
            return None
        agents, start = table[kind]
        if kind not in self._agent_lists:
            self._agent_lists[kind] = list(agents)
        return self._agent_lists[kind][node - start]

    # ------------------------------------------------------------------ helpers used by phases
    def unit_in_exchange(self) -> np.ndarray:
        """(U,) bool: unit in two-way cadre exchange (``incentives.cadre_exchange`` share)."""
        n = int(round(self.config.incentives.cadre_exchange * self.layout.n_units))
        return self.world.exchange_order < n

    def two_new_in_contact(self) -> np.ndarray:
        """(K,) bool: organisation with a committee member as fixed contact."""
        n = int(round(self.config.incentives.fixed_contact * self.layout.n_two_new))
        return self.world.contact_order < n

    def assignee_participating(self) -> np.ndarray:
        """(P,) bool over the assignee pool (units then organisations)."""
        return np.concatenate([self.state["units"].participating,
                               self.state["two_new"].participating])

    def assignee_motivation(self) -> np.ndarray:
        """(P,) motivation term added to an assignee's benefit of resolution (≥ 0)."""
        return np.concatenate([self.state["units"].motivation,
                               np.maximum(self.state["two_new"].motivation, 0.0)])

    def satisfaction_by_community(self) -> np.ndarray:
        """Mean satisfaction of each community's residents (cached within a step)."""
        if self._satisfaction_cache[0] != self.steps:
            st = self.state["residents"]
            C = self.layout.n_communities
            self._satisfaction_cache = (self.steps, np.bincount(
                st.community, weights=st.satisfaction, minlength=C)
                / self.state["communities"].n_residents)
        return self._satisfaction_cache[1]

    def resolve(self, rows: np.ndarray, holder: np.ndarray) -> None:
        """Close items ``rows`` as resolved by ``holder`` nodes this step."""
        if rows.size == 0:
            return
        self.events.record(self.items.item_id[rows], self.steps, holder, holder, Reason.RESOLVE)
        pool_idx = np.asarray(holder) - self.layout.unit0
        in_pool = (pool_idx >= 0) & (pool_idx < self._resolved_by_pool.size)
        np.add.at(self._resolved_by_pool, pool_idx[in_pool], 1.0)
        self._close(rows, Status.RESOLVED)

    def _close(self, rows: np.ndarray, status: int) -> None:
        it, step = self.items, self.steps
        assigned = it.assigned[rows]
        returned = assigned & (it.return_flows[rows] > 0)
        resolved = status == Status.RESOLVED
        self.closures.add(step, closed=rows.size, resolved=rows.size if resolved else 0,
                          expired=0 if resolved else rows.size, assigned=int(assigned.sum()),
                          assigned_returned=int(returned.sum()),
                          handoffs=float(it.handoffs[rows].sum()),
                          resolution_time=float((step - it.created[rows]).sum()) if resolved else 0.0)
        C = self.layout.n_communities
        by_comm = np.bincount(it.community[rows], minlength=C)
        if resolved:
            # What a resolution is worth to its resident decays with the wait.
            value = np.exp(-(step - it.created[rows]) / self.config.residents.patience)
            self.ledger.resolved_by_community += by_comm
        else:
            value = np.zeros(rows.size)
            self.ledger.expired_by_community += by_comm
        self.ledger.outcome_by_community += np.bincount(it.community[rows], weights=value,
                                                        minlength=C)
        self.ledger.outcome_owners.append(it.origin[rows].copy())
        self.ledger.outcome_values.append(value)
        it.close(rows, status, step)

    # ------------------------------------------------------------------ phases
    def apply_interventions(self) -> None:
        due = [iv for iv in self._pending if iv["step"] == self.steps]
        if not due:
            return
        self._pending = [iv for iv in self._pending if iv["step"] != self.steps]
        cfg = self.config
        for iv in due:
            cfg = with_values(cfg, iv["set"])
        self.config = cfg
        self.closures.grow(cfg.steps)
        sync_policy_layers(self.world, cfg)

    def decide_participation(self) -> None:
        Resident.decide_all(self)
        ResidentUnit.decide_all(self)
        TwoNewOrganization.decide_all(self)

    def expire_items(self) -> None:
        it = self.items
        rows = it.open_rows()
        old = rows[self.steps - it.created[rows] >= self.config.items.max_age]
        if old.size:
            self.events.record(it.item_id[old], self.steps, it.holder[old], it.holder[old],
                               Reason.EXPIRE)
            self._close(old, Status.EXPIRED)

    def update_motivation(self) -> None:
        U = self.layout.n_units
        ResidentUnit.update_motivation_all(self, self._resolved_by_pool[:U])
        TwoNewOrganization.update_motivation_all(self, self._resolved_by_pool[U:])
        update_staff_motivation_all(self, "communities")
        update_staff_motivation_all(self, "streets")

    def step(self) -> None:
        """One week, as the explicit sequence of phases listed in the module docstring."""
        self.apply_interventions()
        self.ledger.reset()
        self._resolved_by_pool[:] = 0.0
        self.ledger.resources += push_down_tasks(self)
        allocate_effort(self)
        self.decide_participation()
        raise_items(self)
        work_community_queue(self)
        handle_street_queue(self)
        hold_conference(self)
        work_assigned_items(self)
        work_provider_items(self)
        self.expire_items()
        Resident.update_all(self)
        self._satisfaction_cache = (-1, None)
        update_scores(self, self.satisfaction_by_community())
        self.update_motivation()
        self.closures.add(self.steps, resources=self.ledger.resources)
        if self.steps % COMPACT_EVERY == 0:
            self.items.compact()
        self.check_conservation()
        self.datacollector.collect(self)

    def check_conservation(self) -> None:
        """Items created = resolved + open + expired (raises if book-keeping ever breaks)."""
        it = self.items
        live_open = int((it.stage != Stage.CLOSED).sum())
        if live_open != it.n_open or it.n_created != it.n_resolved + it.n_expired + live_open:
            raise AssertionError(
                f"item conservation broken at step {self.steps}: created {it.n_created}, "
                f"resolved {it.n_resolved}, expired {it.n_expired}, open {live_open}")

    # ------------------------------------------------------------------ outputs
    def timeseries(self):
        """Per-step metrics, indexed by step 0..T."""
        df = self.datacollector.get_model_vars_dataframe()
        df.index.name = "step"
        return df

    def item_counts(self) -> dict[str, int]:
        it = self.items
        return {"items_created": it.n_created, "items_resolved": it.n_resolved,
                "items_expired": it.n_expired, "items_open": it.n_open}
