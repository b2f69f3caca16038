"""Items (事项/诉求) and their hand-off history, stored as numpy columns.

An item is raised by a resident, lives in one *stage* at a time (community queue, street
queue, joint-conference queue, with assignees, with a provider) and ends *closed* (办结) or
*expired*. A closed item is *solved* (解决) or not: closing is what the paperwork records,
solving is what the resident gets. An item closed unsolved may come back as a repeat
complaint (重复诉求), a new item whose ``repeat_of`` names the old one. Every move between holders is a hand-off event recorded with who, when and why
(:class:`EventLog`). Items are columns of numpy arrays (struct of arrays) so that each phase of
a step is a vectorised operation over the open items, however many there are.

Memory stays bounded: :meth:`ItemStore.compact` moves closed items out of the live arrays,
into an in-memory table, a Parquet stream on disk, or nowhere (``items.record``). The
counters that the metrics need are kept separately and never compacted.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pandas as pd

__all__ = ["EventLog", "ItemStore", "Reason", "RecordSink", "RepeatQueue", "Stage", "Status"]


class Status:
    """Item status codes."""

    OPEN = 0
    CLOSED = 1
    EXPIRED = 2
    NAMES = ("open", "closed", "expired")


class Stage:
    """Where an open item is."""

    COMMUNITY = 0   # in a community's queue
    STREET = 1      # in a street's queue
    CONFERENCE = 2  # waiting for the joint conference
    ASSIGNED = 3    # taken on by a unit or organisation
    PROVIDER = 4    # outsourced to a professional provider
    CLOSED = 5
    NAMES = ("community", "street", "conference", "assigned", "provider", "closed")


class Reason:
    """Why an event happened (hand-offs and other item events)."""

    RAISED = 0       # resident -> community
    ESCALATE = 1     # community -> street
    TO_CONFERENCE = 2  # street -> joint conference
    ASSIGN_LIST = 3  # street -> owner named by the responsibility list
    ASSIGN_NEGOTIATED = 4  # conference -> co-responsible assignee(s)
    OUTSOURCE = 5    # street -> provider
    FLOW_BACK = 6    # assignees shirk -> street (责任回流)
    PUSH_DOWN = 7    # street -> community (结果回流)
    CLOSE = 8        # closed (办结) by the holder after working it (solved or not)
    DELAY = 9        # holder kept it without resolving this step
    EXPIRE = 10      # closed, too old
    NO_ASSIGNEE = 11  # conference -> street: the conference has no member to assign to
    PAPER_CLOSE = 12  # closed on paper with form hours (formal reply, 以文办结), overdue item
    REPEAT = 13       # resident -> community: an item closed unsolved is raised again
    NAMES = ("raised", "escalate", "to_conference", "assign_list", "assign_negotiated",
             "outsource", "flow_back", "push_down", "close", "delay", "expire", "no_assignee",
             "paper_close", "repeat")
    HANDOFFS = frozenset({ESCALATE, TO_CONFERENCE, ASSIGN_LIST, ASSIGN_NEGOTIATED, OUTSOURCE,
                          FLOW_BACK, PUSH_DOWN, NO_ASSIGNEE})


class RecordSink:
    """Where closed rows go: kept in memory, streamed to Parquet, or dropped."""

    def __init__(self, mode: str, path: str = ""):
        self.mode = mode
        self._chunks: list[pd.DataFrame] = []
        self._writer = None
        self.path = path
        self.n_rows = 0

    def write(self, frame: pd.DataFrame) -> None:
        self.n_rows += len(frame)
        if self.mode == "none" or frame.empty:
            return
        if self.mode == "memory":
            self._chunks.append(frame)
            return
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._writer is None:
            if not self.path:
                fd, self.path = tempfile.mkstemp(suffix=".parquet", prefix="rpbsim-items-")
                os.close(fd)
            self._writer = pq.ParquetWriter(self.path, table.schema)
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def frame(self, columns) -> pd.DataFrame | None:
        """All rows written so far (None when nothing is kept)."""
        if self.mode == "none":
            return None
        if self.mode == "stream":
            self.close()
            if not self.path or not os.path.exists(self.path):
                return pd.DataFrame(columns=columns)
            return pd.read_parquet(self.path)
        if not self._chunks:
            return pd.DataFrame(columns=columns)
        return pd.concat(self._chunks, ignore_index=True)


_ITEM_COLUMNS = {
    "item_id": np.int64,
    "origin": np.int64,       # resident index
    "community": np.int32,
    "street": np.int32,
    "domain": np.int16,
    "difficulty": np.float64,
    "specialised": np.bool_,
    "created": np.int32,
    "closed": np.int32,        # -1 while open
    "status": np.int8,
    "solved": np.bool_,        # closed and actually solved (解决)
    "repeat_of": np.int64,     # item_id this item repeats (−1: a new matter)
    "responded": np.int32,     # step of the first action on it (−1: none yet)
    "acted": np.bool_,         # acted on (internal: spin-up steps ≤ 0 make −1 a real step)
    "needed": np.float64,      # hours a real solution needs at the current holder
    "substance_done": np.float64,  # substantive hours spent on it at the current holder
    "stage": np.int8,
    "holder": np.int64,        # node id of the current holder
    "handoffs": np.int16,
    "return_flows": np.int16,
    "assigned": np.bool_,      # ever assigned to a unit or organisation
    "attempts": np.int16,      # assignments tried
    "work_left": np.float64,   # hours still needed at the current holder
    "outsource_draw": np.float64,  # fixed uniform draw: outsourced when < market.outsourcing
}


class ItemStore:
    """Live items as numpy columns, with stable ``item_id`` s and bounded memory."""

    COLUMNS = tuple(_ITEM_COLUMNS)

    def __init__(self, sink: RecordSink, capacity: int = 1024):
        self.sink = sink
        self.n = 0
        self.next_id = 0
        self.cols = {k: np.zeros(capacity, t) for k, t in _ITEM_COLUMNS.items()}
        self.n_created = 0
        self.n_closed = 0
        self.n_solved = 0
        self.n_expired = 0

    def __getattr__(self, name):
        cols = self.__dict__.get("cols")
        if cols is not None and name in cols:
            return cols[name][: self.n]
        raise AttributeError(name)

    @property
    def n_open(self) -> int:
        return self.n_created - self.n_closed - self.n_expired

    def _reserve(self, extra: int) -> None:
        need = self.n + extra
        cap = next(iter(self.cols.values())).size
        if need <= cap:
            return
        new_cap = max(need, 2 * cap)
        for k, a in self.cols.items():
            b = np.zeros(new_cap, a.dtype)
            b[: self.n] = a[: self.n]
            self.cols[k] = b

    def add(self, **columns) -> np.ndarray:
        """Append new items; returns their row positions. Unset columns take defaults."""
        m = len(columns["origin"])
        self._reserve(m)
        rows = np.arange(self.n, self.n + m)
        for k, a in self.cols.items():
            if k in columns:
                a[rows] = columns[k]
            else:
                a[rows] = 0
        self.cols["item_id"][rows] = np.arange(self.next_id, self.next_id + m)
        self.cols["closed"][rows] = -1
        if "repeat_of" not in columns:
            self.cols["repeat_of"][rows] = -1
        self.cols["responded"][rows] = -1
        self.n += m
        self.next_id += m
        self.n_created += m
        return rows

    def close(self, rows: np.ndarray, status: int, step: int, solved=None) -> None:
        """End open items at ``rows``: closed (``solved`` a bool array) or expired."""
        c = self.cols
        c["status"][rows] = status
        c["stage"][rows] = Stage.CLOSED
        c["closed"][rows] = step
        if status == Status.CLOSED:
            self.n_closed += rows.size
            c["solved"][rows] = solved
            self.n_solved += int(np.count_nonzero(solved))
        else:
            self.n_expired += rows.size

    def open_rows(self, stage: int | None = None) -> np.ndarray:
        st = self.cols["stage"][: self.n]
        if stage is None:
            return np.flatnonzero(st != Stage.CLOSED)
        return np.flatnonzero(st == stage)

    def compact(self) -> None:
        """Move closed items out of the live arrays into the sink."""
        closed = self.cols["stage"][: self.n] == Stage.CLOSED
        if not closed.any():
            return
        self.sink.write(self.frame(np.flatnonzero(closed)))
        keep = np.flatnonzero(~closed)
        for k, a in self.cols.items():
            a[: keep.size] = a[keep]
        self.n = keep.size

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Rows as a tidy table (status and stage as names)."""
        if rows is None:
            rows = np.arange(self.n)
        df = pd.DataFrame({k: self.cols[k][rows] for k in self.COLUMNS
                           if k not in ("work_left", "outsource_draw", "needed", "substance_done",
                                         "acted")})
        df["status"] = pd.Categorical.from_codes(df["status"].astype(np.int8), Status.NAMES)
        df["stage"] = pd.Categorical.from_codes(df["stage"].astype(np.int8), Stage.NAMES)
        return df

    def table(self) -> pd.DataFrame | None:
        """All items so far, closed and open, ordered by ``item_id``."""
        kept = self.sink.frame(self.COLUMNS)
        if kept is None:
            return None
        df = pd.concat([kept, self.frame()], ignore_index=True) if len(kept) else self.frame()
        return df.sort_values("item_id", ignore_index=True)


class EventLog:
    """Append-only record of item events: (item_id, step, from_node, to_node, reason)."""

    COLUMNS = ("item_id", "step", "from_node", "to_node", "reason")

    def __init__(self, sink: RecordSink, flush_every: int = 200_000):
        self.sink = sink
        self._buf: list[tuple[np.ndarray, ...]] = []
        self._n_buf = 0
        self.flush_every = flush_every
        self.counts = np.zeros(len(Reason.NAMES), np.int64)

    def record(self, item_id: np.ndarray, step: int, from_node, to_node, reason: int) -> None:
        m = np.size(item_id)
        if m == 0:
            return
        self.counts[reason] += m
        if self.sink.mode == "none":
            return
        self._buf.append((np.asarray(item_id, np.int64), np.full(m, step, np.int32),
                          np.broadcast_to(np.asarray(from_node, np.int64), (m,)).copy(),
                          np.broadcast_to(np.asarray(to_node, np.int64), (m,)).copy(),
                          np.full(m, reason, np.int8)))
        self._n_buf += m
        if self._n_buf >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        cols = [np.concatenate(parts) for parts in zip(*self._buf)]
        df = pd.DataFrame(dict(zip(self.COLUMNS, cols)))
        df["reason"] = pd.Categorical.from_codes(df["reason"], Reason.NAMES)
        self._buf, self._n_buf = [], 0
        self.sink.write(df)

    def table(self) -> pd.DataFrame | None:
        self.flush()
        return self.sink.frame(self.COLUMNS)


class RepeatQueue:
    """Items closed unsolved that their residents will raise again (重复诉求), by due step."""

    FIELDS = ("item_id", "origin", "community", "difficulty", "specialised", "domain")

    def __init__(self):
        self.due_step = np.zeros(0, np.int64)
        self.cols = {f: np.zeros(0) for f in self.FIELDS}

    def __len__(self) -> int:
        return int(self.due_step.size)

    def add(self, due_step: np.ndarray, **cols) -> None:
        if due_step.size == 0:
            return
        self.due_step = np.concatenate([self.due_step, due_step])
        for f in self.FIELDS:
            self.cols[f] = np.concatenate([self.cols[f], cols[f]]) if self.cols[f].size else cols[f].copy()

    def due(self, step: int) -> dict | None:
        """Pop and return the repeats due at ``step`` (None if none)."""
        now = self.due_step <= step
        if not now.any():
            return None
        out = {f: a[now] for f, a in self.cols.items()}
        keep = ~now
        self.due_step = self.due_step[keep]
        self.cols = {f: a[keep] for f, a in self.cols.items()}
        return out
