"""RegionModel: the district as a Mesa model. It builds, spins up, then steps through named phases.

The model wires and sequences; agents decide (``sim.agents``); institutions route and judge
(``sim.institutions``); decision rules are pure functions (``sim.submodels``).

Before week 1 the model runs ``spin_up`` weeks (steps −W+1 … 0) with the same rules, so that
week 1 starts at the statistical steady state; those weeks are left out of every output
unless ``metrics.record_spin_up`` is set. One step is one week:

1. ``apply_interventions``  — policy changes scheduled for this step take effect
2. ``push_down_tasks``      — administrative tasks arrive (campaign pulses) and are served first
3. ``cadre_duties``         — street cadre hours taken by co-governance and contact levers
4. ``allocate_effort``      — streets and communities split free hours between form and substance
5. ``decide_participation`` — residents, units, organisations decide (on last week's participation)
6. ``raise_items``          — residents raise items (and repeat complaints); communities triage
7. ``work_community_queue`` — communities work their queue with staff and volunteer hours
8. ``handle_street_queue``  — the street outsources, assigns by list, refers, works, pushes down
9. ``hold_conference``      — the joint conference assigns; assignees act or pass the buck
10. ``work_assigned_items`` — assignees and providers close items (solved or not) or delay
11. ``paper_close``         — overdue items closed on paper with form hours (以文办结)
12. ``expire_items``        — items past ``items.max_age`` expire
13. ``update_residents``    — responsiveness, satisfaction, trust (residents count solutions)
14. ``evaluate``            — form output; evaluation scores every ``evaluation.period`` steps
15. ``update_motivation``   — organisations', units' motivation; staff morale, turnover, experience
16. ``settle_budget``       — remedies billed and paid pro rata within each street's budget
17. ``collect``             — metrics (also at t = 0)
"""

from __future__ import annotations

import gc
import warnings

import mesa
import numpy as np
import pandas as pd

from . import metrics
from .agents import (
    CommunityCommittee,
    Resident,
    ResidentUnit,
    StreetCommittee,
    TwoNewOrganization,
)
from .agents.community import update_staff_all
from .compose import model_config, with_values
from .config import ConfigError
from .institutions.admin import cadre_duties, push_down_tasks
from .institutions.budget import CATEGORIES, FUNDED_LEVERS, settle_budget
from .institutions.conference import hold_conference, work_assigned_items
from .institutions.evaluation import allocate_effort, update_form_output, update_scores
from .institutions.intake import paper_close, raise_items, work_community_queue
from .institutions.street import handle_street_queue, work_provider_items
from .items import EventLog, ItemStore, Reason, RecordSink, RepeatQueue, Stage, Status
from .ledger import ClosureHistory, StepLedger
from .levers import StreetLevers
from .network import build_world, sync_policy_layers, within_street_quantile
from .state import init_state
from .submodels.solution import p_solved

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
        if cfg.street_levers or any(iv.get("streets") is not None for iv in cfg.interventions):
            S = self.layout.n_streets
            for i, sl in enumerate(list(cfg.street_levers) + list(cfg.interventions)):
                sel = sl.get("streets")
                if sel is not None and not hasattr(sel, "items") and sel and max(sel) >= S:
                    raise ConfigError("streets", list(sel), f"street indices in [0, {S - 1}]")
        self.levers = StreetLevers(cfg, self.layout.n_streets, self.world.street_order)
        self.funding = np.ones(self.layout.n_streets)
        self.bills = {k: np.zeros(self.layout.n_streets) for k in CATEGORIES}
        self.spent_by_category = {k: np.zeros(self.layout.n_streets) for k in CATEGORIES}
        self.unit_street = self.world.unit_street
        self.two_new_street = self.world.two_new_street
        self._contact_q = within_street_quantile(self.world.contact_order, self.two_new_street)
        self._exchange_q = within_street_quantile(self.world.exchange_order, self.unit_street)
        self._share_masks: dict[str, tuple] = {}
        self._lever_derived: dict[str, tuple] = {}
        self.state = init_state(cfg, self.world, self.rng)
        self.degree = np.asarray(self.world.ties.sum(axis=1)).ravel().astype(np.float32)
        counts = np.bincount(self.world.resident_community, minlength=self.layout.n_communities)
        self.community_first_resident = np.concatenate(([0], np.cumsum(counts)[:-1]))
        #: (C,) residents of each community when residents are stored community by community
        #: and no community is empty (as built), else None; lets per-community values be
        #: spread to residents with ``np.repeat`` (:meth:`sim.agents.Resident.per_resident`).
        grouped = bool(np.all(np.diff(self.world.resident_community) >= 0)) and bool(counts.all())
        self.residents_by_community = counts if grouped else None
        #: Every resident has at least one tie (neighbour shares need no zero guard).
        self.everyone_has_ties = bool(np.all(self.degree > 0))
        self._create_agents()
        self._agent_lists: dict[str, list] = {}
        self._sync_layers()

        sink_items = RecordSink(cfg.items.record, cfg.items.stream_path)
        events_path = cfg.items.stream_path.replace(".parquet", "") + ".handoffs.parquet" \
            if cfg.items.stream_path else ""
        self.items = ItemStore(sink_items)
        self.events = EventLog(RecordSink(cfg.items.record, events_path))
        self.repeats = RepeatQueue()
        C = self.layout.n_communities
        self.ledger = StepLedger(C, self.layout.n_residents)
        self.history = ClosureHistory(cfg.steps, first_step=1 - cfg.spin_up)
        self.period = {k: np.zeros(C) for k in ("closed", "solved", "expired")}
        self.street_log = metrics.StreetLog(self.layout.n_streets)
        #: (C, S) int64, 1 where a community lies in a street (street counts from community ones)
        self._community_in_street = np.zeros((C, self.layout.n_streets), np.int64)
        self._community_in_street[np.arange(C), self.state["communities"].street] = 1
        self.assignment_stats = {"decisions": 0, "nobody": 0}
        self._solved_by_pool = np.zeros(self.state["pool"].node.size)
        self._ended: list[tuple[np.ndarray, np.ndarray]] = []
        self._satisfaction_cache = (None, None)
        self._pending = list(cfg.interventions)
        self._scheduled_by_api: list[dict] = []  # interventions added by schedule_intervention
        late = [iv["step"] for iv in self._pending if iv["step"] > cfg.steps]
        if late:
            warnings.warn(f"interventions at steps {late} lie past the run's last step "
                          f"({cfg.steps}) and will not take effect", RuntimeWarning, stacklevel=2)
        self.datacollector = mesa.DataCollector(model_reporters=metrics.model_reporters())
        self._collected_steps: list[int] = []
        self.running = True
        self.spin_up()

    @property
    def graph(self):
        """The district graph (networkx); see :attr:`sim.network.World.graph`."""
        return self.world.graph

    def __repr__(self) -> str:
        """Short: scenario, seed, week, agents by kind, open items (:mod:`sim.readable`)."""
        from .readable import model_repr

        return model_repr(self)

    def _repr_html_(self) -> str:
        from .readable import model_repr_html

        return model_repr_html(self)

    # ------------------------------------------------------------------ build
    def _create_agents(self) -> None:
        """Create the Mesa agents, kind by kind (their ids and order follow the node layout).

        Python's cyclic garbage collector is paused meanwhile: thousands of new agent objects
        otherwise trigger a full collection of the whole interpreter heap (tens of ms at the
        default size, more than creating the agents). Nothing is freed late because of it:
        the agents all live as long as the model. The collector's previous state is restored.
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._create_agents_of_each_kind()
        finally:
            if collecting:
                gc.enable()

    def _create_agents_of_each_kind(self) -> None:
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

    def spin_up(self) -> None:
        """Run ``spin_up`` weeks (steps −W+1 … 0) before week 1; then collect week 0."""
        W = self.config.spin_up
        record = self.config.metrics.record_spin_up
        sinks = (self.events.sink, self.items.sink)
        modes = [k.mode for k in sinks]
        if not record:  # spin-up items and events are not kept; open items carry over
            for k in sinks:
                k.mode = "none"
        for s in range(1 - W, 1):
            self.steps = s
            self._week(collect=record and s < 0)
        self.steps = 0
        if not record:
            self.items.compact()
            self.events.counts[:] = 0
            for k, mode in zip(sinks, modes):
                k.mode = mode
                k.n_rows = 0
        st = self.state["two_new"]
        st.weeks_in[:] = 0.0
        st.weeks_seen[:] = 0.0
        self.items_open_at_start = self.items.n_open
        self.counts_at_start = (self.items.n_created, self.items.n_closed, self.items.n_solved,
                                self.items.n_expired)
        self._collect()

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
    @property
    def funding(self) -> np.ndarray:
        """(S,) share of each street's bill its budget paid last week (1 = all)."""
        return self._funding

    @funding.setter
    def funding(self, value) -> None:
        was_fully_funded = getattr(self, "_fully_funded", False)
        self._funding = value
        self._fully_funded = not np.count_nonzero(value != 1.0)  # (np.all, fewer calls)
        if not (was_fully_funded and self._fully_funded):  # funded lever values may change
            self._funding_version = getattr(self, "_funding_version", 0) + 1

    def lever(self, name: str, funded: bool = True) -> np.ndarray:
        """(S,) value of a lever in each street (street-level settings included). Levers a
        budget pays for act at last week's funded share unless ``funded`` is False.

        The returned array may be shared: do not change it in place.
        """
        v = self.levers.get(name)
        # (× a share of 1 everywhere would change no value, so it is skipped)
        if funded and not self._fully_funded and name in FUNDED_LEVERS:
            v = v * self.funding
        return v

    def lever_derived(self, key: str, names: tuple[str, ...], compute, funded: bool = True):
        """``compute(*levers)`` of the levers ``names`` (as :meth:`lever` gives them), kept
        from call to call until the config, a lever or a funding share changes (the config
        object, the levers' version and the funding version are compared). ``compute`` may
        also read the config and the model's structure (fixed once built), nothing that
        changes from week to week. The value is shared: do not change it in place."""
        config, version = self.config, (self.levers.version, self._funding_version)
        hit = self._lever_derived.get(key)
        if hit is not None and hit[0] is config and hit[1] == version and hit[2] == names:
            return hit[3]
        value = compute(*(self.lever(n, funded) for n in names))
        self._lever_derived[key] = (config, version, names, value)
        return value

    def bill(self, category: str, amounts) -> None:
        """Add (S,) hour-equivalents to this week's bill of a budget category."""
        self.bills[category] = self.bills[category] + amounts

    def unit_in_exchange(self) -> np.ndarray:
        """(U,) bool: unit in two-way cadre exchange (its street's ``cadre_exchange`` share).
        Shared between calls while the lever is unchanged: do not change it in place."""
        return self._share_mask("incentives.cadre_exchange", self._exchange_q, self.unit_street)

    def two_new_in_contact(self) -> np.ndarray:
        """(K,) bool: organisation with a committee member as fixed contact (shared: do not
        change it in place)."""
        return self._share_mask("incentives.fixed_contact", self._contact_q, self.two_new_street)

    def _share_mask(self, name: str, quantile: np.ndarray, street: np.ndarray) -> np.ndarray:
        """Members whose within-street quantile is below their street's lever ``name``; kept
        until the lever's values change (``lever`` returns the same array until then)."""
        share = self.lever(name)
        cached = self._share_masks.get(name)
        if cached is not None and cached[0] is share:
            return cached[1]
        mask = quantile < share[street]
        self._share_masks[name] = (share, mask)
        return mask

    def _sync_layers(self) -> None:
        sync_policy_layers(self.world, self.two_new_in_contact(), self.unit_in_exchange())

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

    def mark_responded(self, rows: np.ndarray) -> None:
        """Record the first action on items ``rows`` (for ``response_rate``)."""
        it = self.items
        acted = it.acted
        rows = rows[~acted[rows]]
        if rows.size == 0:
            return
        acted[rows] = True
        step = self.steps
        it.responded[rows] = step
        # acted on in time: created at steps since … step; counted by creation step
        d = self.config.items.response_deadline
        created = it.created[rows]
        since = step - d
        recent = created[created >= since]
        if recent.size:
            self.history.add_counts("responded_by_created", since,
                                    np.bincount(recent - since, minlength=d + 1))

    def close(self, rows: np.ndarray, holder, depth, capacity_ratio, quality, reason: int, *,
              assignees: bool = True) -> None:
        """Close (办结) items ``rows`` held by ``holder``; each is solved (解决) with
        :func:`sim.submodels.solution.p_solved` (depth, capacity ratio, quality).

        ``assignees=False`` tells that no holder is a unit or organisation (a community or a
        street closes), so there are no solutions to credit to the assignee pool.
        """
        if rows.size == 0:
            return
        it = self.items
        self.mark_responded(rows)
        solved = self.rng.random(rows.size) < p_solved(depth, capacity_ratio, quality)
        self.events.record(it.item_id[rows], self.steps, holder, holder, reason)
        if assignees:
            pool_idx = np.asarray(holder) - self.layout.unit0
            credited = pool_idx[(pool_idx >= 0) & (pool_idx < self._solved_by_pool.size) & solved]
            if credited.size:
                np.add.at(self._solved_by_pool, credited, 1.0)
        self._ended.append((rows, solved))
        it.close(rows, Status.CLOSED, self.steps, solved)

    #: (9, 5) 0/1 matrix from an ended item's state to what it counts as. The state is
    #: 3 × (closed + solved) + (assigned + returned): closed 0/1 and solved 0/1 (solved
    #: only if closed), assigned 0/1 and returned 0/1 (returned only if assigned). Columns:
    #: closed, solved, expired, assigned, returned (:attr:`sim.metrics.StreetLog.KINDS`).
    _ENDING_KINDS = np.array([[cs >= 1, cs == 2, cs == 0, ar >= 1, ar == 2]
                              for cs in range(3) for ar in range(3)], np.int64)

    def _ending_counts(self, comm, closed, solved, assigned, returned) -> np.ndarray:
        """(C, 5) whole counts of the ended items of each community (``comm``, item's
        community): closed, solved, expired, assigned, returned. One ``bincount`` of each
        item's (community, state) code, then a matrix product of whole numbers (exact)."""
        i8 = np.int8
        code = comm * 9
        code += (closed.view(i8) + solved.view(i8)) * 3
        code += assigned.view(i8) + returned.view(i8)
        C = self.layout.n_communities
        return np.bincount(code, minlength=9 * C).reshape(C, 9) @ self._ENDING_KINDS

    def _book_endings(self) -> None:
        """Book-keeping of every item that ended this step (closed or expired), in one pass."""
        if not self._ended:
            return
        it, step = self.items, self.steps
        if len(self._ended) == 1:
            rows, solved = self._ended[0]
        else:
            rows = np.concatenate([r for r, _ in self._ended])
            solved = np.concatenate([s for _, s in self._ended])
        self._ended = []
        closed = it.status[rows] == Status.CLOSED
        assigned = it.assigned[rows]
        returned = assigned & (it.return_flows[rows] > 0)
        age = step - it.created[rows]
        comm = it.community[rows]
        kinds = self._ending_counts(comm, closed, solved, assigned, returned)
        n_closed = np.count_nonzero(closed)
        n_solved = np.count_nonzero(solved)
        self.history.add(step, closed=n_closed, solved=n_solved, expired=rows.size - n_closed,
                         assigned=np.count_nonzero(assigned),
                         assigned_returned=np.count_nonzero(returned),
                         handoffs=float(it.handoffs[rows].sum()),
                         closure_time=float(age[closed].sum()))
        by_closed, by_solved, by_expired = kinds[:, 0], kinds[:, 1], kinds[:, 2]
        led = self.ledger
        led.closed_by_community += by_closed
        led.solved_by_community += by_solved
        led.expired_by_community += by_expired
        self.period["closed"] += by_closed
        self.period["solved"] += by_solved
        self.period["expired"] += by_expired
        # an item's street is its community's street (sim.institutions.intake.add_items)
        self.street_log.add_counts(kinds.T @ self._community_in_street)
        # What a solution is worth to its resident decays with the wait; a sham closure and an
        # expired item are worth nothing.
        value = np.where(solved, np.exp(-age / self.config.residents.patience), 0.0)
        C = self.layout.n_communities
        led.outcome_by_community += np.bincount(comm, weights=value, minlength=C)
        origin = it.origin[rows]  # a copy (indexing by rows)
        led.outcome_owners.append(origin)
        led.outcome_values.append(value)
        if n_closed > n_solved:  # closed unsolved (sham closures); solved ones are closed
            unsolved = closed ^ solved
            sham = rows[unsolved]
            ic = self.config.items
            again = self.rng.random(sham.size) < ic.repeat_probability
            r = sham[again]
            delay = self.rng.geometric(1.0 / ic.repeat_delay, r.size)
            self.repeats.add(step + delay, item_id=it.item_id[r], origin=it.origin[r],
                             community=it.community[r], difficulty=it.difficulty[r],
                             specialised=it.specialised[r], domain=it.domain[r])
            led.sham_owners.append(origin[unsolved])

    # ------------------------------------------------------------------ phases
    def apply_interventions(self) -> None:
        due = [iv for iv in self._pending if iv["step"] == self.steps]
        if not due:
            return
        self._pending = [iv for iv in self._pending if iv["step"] != self.steps]
        cfg = self.config
        for iv in due:
            if iv.get("streets") is None:
                cfg = with_values(cfg, iv["set"])
        self.config = cfg
        self.levers.set_config(cfg)
        for iv in due:
            self.levers.apply(iv["set"], iv.get("streets"))
        self.history.grow(cfg.steps)
        self._sync_layers()

    @property
    def pending_interventions(self) -> tuple[dict, ...]:
        """Interventions not yet applied (copies), in the order they will be applied."""
        return tuple({**iv, "set": dict(iv["set"])} for iv in self._pending)

    def schedule_intervention(self, values, *, step: int | None = None, streets=None) -> dict:
        """Schedule lever changes mid-run, as the config's ``interventions`` do.

        Args:
            values: dotted field → value (``{"admin.burden": 0.3}``), checked like an
                intervention in the config (range, type, fields drawn at build refused).
            step: the step at whose start the values apply (default: the next step); it must
                come after the current step.
            streets: None (district-wide) or a street selector (a list of street indices or
                ``{"share": x}``) for per-street fields, as in the config.

        Returns the normalised intervention. A later call for the same step and streets is
        merged into it (its values win), which is what applying both in order would do.
        Interventions of a step apply after those the config lists for that step.

        Raises:
            ConfigError: naming the field, the value and what is allowed; also when a
                district-wide change would break a cross-field rule of the current config.
        """
        from .compose import _flatten
        from .config import to_dict, validate_interventions

        step = self.steps + 1 if step is None else step
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step <= self.steps:
            raise ConfigError("step", step, f"an integer after the current step ({self.steps})")
        entry = {"step": int(step), "set": dict(values)}
        if streets is not None:
            entry["streets"] = streets
        (entry,) = validate_interventions([entry], base=_flatten(to_dict(self.config)),
                                          rules_over_time=False)
        for iv in self._scheduled_by_api:
            if (iv["step"] == entry["step"] and iv.get("streets") == entry.get("streets")
                    and any(p is iv for p in self._pending)):
                merged = {**iv["set"], **entry["set"]}
                if streets is None:
                    with_values(self.config, merged)  # raises if a cross-field rule breaks
                iv["set"] = merged
                return {**iv, "set": dict(merged)}
        if streets is None:
            with_values(self.config, entry["set"])
        self._pending.append(entry)
        self._scheduled_by_api.append(entry)
        return {**entry, "set": dict(entry["set"])}

    def decide_participation(self) -> None:
        Resident.decide_all(self)
        ResidentUnit.decide_all(self)
        TwoNewOrganization.decide_all(self)

    def expire_items(self) -> None:
        """Expire open items created ``items.max_age`` or more steps ago (in row order)."""
        it = self.items
        old = ((it.stage != Stage.CLOSED)
               & (it.created <= self.steps - self.config.items.max_age)).nonzero()[0]
        if old.size:
            holder = it.holder[old]
            self.events.record(it.item_id[old], self.steps, holder, holder, Reason.EXPIRE)
            self._ended.append((old, np.zeros(old.size, bool)))
            it.close(old, Status.EXPIRED, self.steps)

    def update_motivation(self) -> None:
        U = self.layout.n_units
        ResidentUnit.update_motivation_all(self, self._solved_by_pool[:U])
        TwoNewOrganization.update_motivation_all(self, self._solved_by_pool[U:])
        update_staff_all(self, "communities")
        update_staff_all(self, "streets")

    def step(self) -> None:
        """One week, as the explicit sequence of phases listed in the module docstring."""
        self._week(collect=True)
        if self.steps >= self.config.steps:
            self.running = False

    def _week(self, collect: bool) -> None:
        self.apply_interventions()
        self.ledger.reset()
        self._solved_by_pool[:] = 0.0
        push_down_tasks(self)
        cadre_duties(self)
        allocate_effort(self)
        self.decide_participation()
        raise_items(self)
        work_community_queue(self)
        handle_street_queue(self)
        hold_conference(self)
        work_assigned_items(self)
        work_provider_items(self)
        paper_close(self, "communities")
        paper_close(self, "streets")
        self.expire_items()
        self._book_endings()
        Resident.update_all(self)
        self._satisfaction_cache = (None, None)
        update_form_output(self)
        update_scores(self)
        self.update_motivation()
        settle_budget(self)
        d = self.config.items.response_deadline
        due_step = self.steps - d
        self.history.add(self.steps, resources=self.ledger.resources,
                         budget_spent=self.ledger.budget_spent,
                         response_due=self.history.get("created", due_step),
                         response_met=self.history.get("responded_by_created", due_step))
        self.street_log.close_week(self.config.metrics.window)
        if self.steps % COMPACT_EVERY == 0:
            self.items.compact()
            if self.events.sink.mode == "stream":  # hand-offs reach disk as often as items
                self.events.flush()
        self.check_conservation()
        if collect:
            self._collect()

    def _collect(self) -> None:
        self._collected_steps.append(self.steps)
        self.datacollector.collect(self)
        self.street_log.collect(self)

    def check_conservation(self) -> None:
        """Items created = closed + expired + open (raises if book-keeping ever breaks)."""
        it = self.items
        live_open = int(np.count_nonzero(it.stage != Stage.CLOSED))
        if live_open != it.n_open or it.n_created != it.n_closed + it.n_expired + live_open:
            raise AssertionError(
                f"item conservation broken at step {self.steps}: created {it.n_created}, "
                f"closed {it.n_closed}, expired {it.n_expired}, open {live_open}")

    # ------------------------------------------------------------------ outputs
    def timeseries(self) -> pd.DataFrame:
        """Per-step metrics, indexed by step (0..T; spin-up steps ≤ 0 too when recorded).
        Rates are NaN where their denominator (``<rate>_n``) is 0, and at step 0."""
        df = self.datacollector.get_model_vars_dataframe()
        df.index = pd.Index(self._collected_steps, name="step")
        first = df.index == 0
        for name in metrics.RATE_METRICS:
            df.loc[first, name] = np.nan
        return df

    def item_counts(self) -> dict[str, int]:
        """Items over weeks 1..T: created, closed, solved, expired; open at the start and end
        (open at start + created = closed + expired + open at end)."""
        it = self.items
        c0, cl0, so0, ex0 = self.counts_at_start
        return {"items_open_at_start": self.items_open_at_start,
                "items_created": it.n_created - c0, "items_closed": it.n_closed - cl0,
                "items_solved": it.n_solved - so0, "items_expired": it.n_expired - ex0,
                "items_open": it.n_open}

    def summary(self) -> dict[str, float]:
        """The per-run summary over weeks 1..T (see :func:`sim.metrics.summarise`)."""
        return metrics.summarise(self)

    def streets_table(self) -> pd.DataFrame:
        """One row per street: its structure and the levers in force (and ``pilot``)."""
        df = self.world.streets.copy()
        df["pilot"] = self.levers.pilot_mask()
        for name in sorted(self.levers.settings) or []:
            df[name] = self.levers.get(name)
        df["n_neighbours"] = self.world.street_adjacency.sum(axis=1).astype(int)
        return df

    def by_street(self) -> pd.DataFrame:
        """Street × step table of the headline metrics (weeks 0..T)."""
        df = self.street_log.frame()
        df["pilot"] = self.levers.pilot_mask()[df["street"].to_numpy()]
        return df
