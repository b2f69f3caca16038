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
import re
import tempfile
from pathlib import Path

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
    """Where closed rows go: kept in memory, streamed to Parquet, or dropped.

    Rows arrive as tables (:meth:`write`) or as numpy columns with the function that makes
    them a table (:meth:`write_columns`). In memory, columns stay columns until the rows are
    read (:meth:`frame`), when consecutive column chunks are joined and made one table: the
    same table as joining the chunks' tables, built once instead of at every compaction.

    Streamed (``mode="stream"``), ``path`` is a **folder** of Parquet parts: every batch of
    rows the sink is given (the items closed since the last compaction, a flush of the event
    log) becomes one file, ``part-000000.parquet``, ``part-000001.parquet``, … written under a
    hidden temporary name and renamed into place. Nothing stays open between writes, so the
    folder only ever holds whole, readable parts: a run killed at any moment (SIGKILL,
    Ctrl-C, an exception) loses only the rows not yet handed to the sink, and what is on disk
    reads as one table, in order, with ``pandas.read_parquet(path)`` or :meth:`read`. No
    writer metadata accumulates in memory however long the run. An empty ``path`` streams to
    a new temporary folder. The folder is made at the first write; parts left there by an
    earlier run (and a file of the same name, the single-file stream of older versions) are
    removed then; other files in it are left alone.
    """

    #: File name of part ``n`` of a stream folder.
    PART = "part-{:06d}.parquet"
    _PART_RE = re.compile(r"^part-(\d{6,})\.parquet$")
    _PART_TMP_RE = re.compile(r"^\.part-\d{6,}\.parquet\.tmp-\d+$")

    def __init__(self, mode: str, path: str = ""):
        self.mode = mode
        # tables, or (columns, to_frame) pairs of rows kept as numpy columns
        self._chunks: list = []
        self.path = path
        self.n_rows = 0
        self._next_part: int | None = None  # streaming: number of the next part (None: none yet)

    def write(self, frame: pd.DataFrame) -> None:
        self.n_rows += len(frame)
        if self.mode == "none" or frame.empty:
            return
        if self.mode == "memory":
            self._chunks.append(frame)
            return
        self._write_part(frame)

    def write_columns(self, columns: dict[str, np.ndarray], to_frame) -> None:
        """Write rows given as equal-length numpy ``columns``; ``to_frame(columns)`` is their
        table (called now when streaming, when the rows are read when kept in memory)."""
        n = len(next(iter(columns.values()))) if columns else 0
        if self.mode == "stream":
            self.write(to_frame(columns))
            return
        self.n_rows += n
        if self.mode == "memory" and n:
            self._chunks.append((columns, to_frame))

    def _start_stream(self) -> None:
        """Make the stream folder (a temporary one when ``path`` is empty) and clear it of
        an earlier run's parts."""
        if not self.path:
            self.path = tempfile.mkdtemp(suffix=".parquet", prefix="rpbsim-items-")
        folder = Path(self.path)
        if folder.is_file():  # an older version's single-file stream
            folder.unlink()
        folder.mkdir(parents=True, exist_ok=True)
        for f in folder.iterdir():
            if self._PART_RE.match(f.name) or self._PART_TMP_RE.match(f.name):
                f.unlink()
        self._next_part = 0

    def _write_part(self, frame: pd.DataFrame) -> None:
        """Write ``frame`` as the next part of the stream folder, atomically."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        from .io import write_atomic

        table = pa.Table.from_pandas(frame, preserve_index=False)
        if self._next_part is None:
            self._start_stream()
        part = Path(self.path) / self.PART.format(self._next_part)
        write_atomic(part, lambda tmp: pq.write_table(table, tmp))
        self._next_part += 1

    @classmethod
    def parts(cls, path: str | os.PathLike) -> list[Path]:
        """The whole parts of a stream folder, in the order they were written (hidden
        temporary files of a write that was cut short are not parts)."""
        folder = Path(path)
        if not folder.is_dir():
            return []
        found = [(int(m.group(1)), f) for f in folder.iterdir()
                 if (m := cls._PART_RE.match(f.name))]
        return [f for _, f in sorted(found)]

    @classmethod
    def read(cls, path: str | os.PathLike, columns=()) -> pd.DataFrame:
        """The rows of a stream folder (what :meth:`frame` gives after a run; after a run
        that was cut short, the rows of every part written), or of an older version's
        single stream file. An empty table with ``columns`` when there are no parts."""
        p = Path(path)
        if p.is_file():
            return pd.read_parquet(p)
        parts = cls.parts(p)
        if not parts:
            return pd.DataFrame(columns=list(columns))
        return pd.read_parquet(parts)

    def _join_column_chunks(self) -> None:
        """Replace each run of consecutive column chunks (same ``to_frame``) by one table."""
        out, i, chunks = [], 0, self._chunks
        while i < len(chunks):
            if isinstance(chunks[i], pd.DataFrame):
                out.append(chunks[i])
                i += 1
                continue
            j = i
            to_frame = chunks[i][1]
            while j < len(chunks) and isinstance(chunks[j], tuple) and chunks[j][1] is to_frame:
                j += 1
            run = [c[0] for c in chunks[i:j]]
            out.append(to_frame({k: np.concatenate([c[k] for c in run]) for k in run[0]}))
            i = j
        self._chunks = out

    def close(self) -> None:
        """Nothing to close: every part is a whole file once written (kept for callers)."""

    def frame(self, columns) -> pd.DataFrame | None:
        """All rows written so far (None when nothing is kept)."""
        if self.mode == "none":
            return None
        if self.mode == "stream":
            if self._next_part is None:  # nothing streamed by this sink (yet)
                return pd.DataFrame(columns=columns)
            return self.read(self.path, columns)
        if not self._chunks:
            return pd.DataFrame(columns=columns)
        self._join_column_chunks()
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
    """Live items as numpy columns, with stable ``item_id`` s and bounded memory.

    ``items.<column>`` (for every column of ``COLUMNS``) is a view of the live rows; a view
    read before items are added or compacted goes stale, so read it again after those.
    """

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
        self._refresh_views()

    def __getstate__(self) -> dict:
        # The column views are rebuilt on restore (a copied view would not share its column).
        return {k: v for k, v in self.__dict__.items() if k not in self.cols}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._refresh_views()

    def _refresh_views(self) -> None:
        """Make ``self.<column>`` (``items.stage``, ``items.holder``...) a view of the live rows
        of each column; called whenever the rows or the arrays change (add, compact). Plain
        attributes, because the phases read them hundreds of times a week."""
        n = self.n
        for k, a in self.cols.items():
            self.__dict__[k] = a[:n]

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
        new = slice(self.n, self.n + m)  # the rows appended (a slice: cheaper to fill)
        for k, a in self.cols.items():
            if k in columns:
                a[new] = columns[k]
            else:
                a[new] = 0
        self.cols["item_id"][new] = np.arange(self.next_id, self.next_id + m)
        self.cols["closed"][new] = -1
        if "repeat_of" not in columns:
            self.cols["repeat_of"][new] = -1
        self.cols["responded"][new] = -1
        rows = np.arange(self.n, self.n + m)
        self.n += m
        self.next_id += m
        self.n_created += m
        self._refresh_views()
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
        """Rows of the open items (in ``stage``, if given), in row order."""
        st = self.stage  # (the live rows' view)
        if stage is None:
            return (st != Stage.CLOSED).nonzero()[0]
        return (st == stage).nonzero()[0]

    def compact(self) -> None:
        """Move closed items out of the live arrays into the sink."""
        closed = self.cols["stage"][: self.n] == Stage.CLOSED
        if not closed.any():
            return
        if self.sink.mode == "none":  # nothing is kept: count the rows, skip the table
            self.sink.n_rows += int(np.count_nonzero(closed))
        else:
            self.sink.write_columns(self._record_columns(np.flatnonzero(closed)), _items_frame)
        keep = np.flatnonzero(~closed)
        for k, a in self.cols.items():
            a[: keep.size] = a[keep]
        self.n = keep.size
        self._refresh_views()

    def _record_columns(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        """The recorded columns (working columns left out) of items ``rows``, as copies."""
        return {k: self.cols[k][rows] for k in RECORD_COLUMNS}

    def frame(self, rows: np.ndarray | None = None) -> pd.DataFrame:
        """Rows as a tidy table (status and stage as names)."""
        if rows is None:
            rows = np.arange(self.n)
        return _items_frame(self._record_columns(rows))

    def table(self) -> pd.DataFrame | None:
        """All items so far, closed and open, ordered by ``item_id``."""
        kept = self.sink.frame(self.COLUMNS)
        if kept is None:
            return None
        df = pd.concat([kept, self.frame()], ignore_index=True) if len(kept) else self.frame()
        return df.sort_values("item_id", ignore_index=True)


#: Item columns kept in the record (the rest are working columns of the live items).
RECORD_COLUMNS = tuple(k for k in _ITEM_COLUMNS if k not in (
    "work_left", "outsource_draw", "needed", "substance_done", "acted"))


def _items_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """Item columns as a tidy table (status and stage as names)."""
    df = pd.DataFrame(columns)
    df["status"] = pd.Categorical.from_codes(df["status"].astype(np.int8), Status.NAMES)
    df["stage"] = pd.Categorical.from_codes(df["stage"].astype(np.int8), Stage.NAMES)
    return df


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
        """Record one event per item of ``item_id`` (from/to: a node id, or one per item).

        The arrays are kept as given until the next flush (not copied): pass arrays that
        nobody changes afterwards (the phases pass results of indexing, which are fresh).
        """
        # (an array's own size: np.size's wrapper costs more than the rest on small calls)
        m = item_id.size if isinstance(item_id, np.ndarray) else np.size(item_id)
        if m == 0:
            return
        self.counts[reason] += m
        if self.sink.mode == "none":
            return
        # Scalars stay scalars here; they are spread to one value per item when flushed.
        self._buf.append((np.asarray(item_id, np.int64), step, np.asarray(from_node, np.int64),
                          np.asarray(to_node, np.int64), reason, m))
        self._n_buf += m
        if self._n_buf >= self.flush_every:
            self.flush()

    def flush(self) -> None:
        if not self._buf:
            return
        buf, n = self._buf, self._n_buf
        sizes = np.array([e[5] for e in buf], np.int64)
        item_id = np.concatenate([e[0] for e in buf])
        step = np.repeat(np.array([e[1] for e in buf], np.int32), sizes)
        reason = np.repeat(np.array([e[4] for e in buf], np.int8), sizes)
        from_node = np.empty(n, np.int64)
        to_node = np.empty(n, np.int64)
        pos = 0
        for _, _, f, t, _, m in buf:  # a scalar fills its slice, an array is copied in
            from_node[pos: pos + m] = f
            to_node[pos: pos + m] = t
            pos += m
        df = pd.DataFrame(dict(zip(self.COLUMNS, (item_id, step, from_node, to_node, reason))))
        df["reason"] = pd.Categorical.from_codes(df["reason"], Reason.NAMES)
        self._buf, self._n_buf = [], 0
        self.sink.write(df)

    def table(self) -> pd.DataFrame | None:
        self.flush()
        return self.sink.frame(self.COLUMNS)


class RepeatQueue:
    """Items closed unsolved that their residents will raise again (重复诉求), by due step.

    Kept as one (6, n) int64 array (due step, then the whole-number fields, ``specialised``
    as 0/1) and the difficulties (n,), so that adding and popping touch two arrays, not seven.
    """

    FIELDS = ("item_id", "origin", "community", "difficulty", "specialised", "domain")
    #: Rows of the int64 array after the due step (every field but ``difficulty``).
    _INT_FIELDS = ("item_id", "origin", "community", "specialised", "domain")

    def __init__(self):
        self._ints = np.zeros((1 + len(self._INT_FIELDS), 0), np.int64)
        self._difficulty = np.zeros(0)

    def __len__(self) -> int:
        return int(self._difficulty.size)

    @property
    def due_step(self) -> np.ndarray:
        """(n,) step at which each queued repeat is raised."""
        return self._ints[0]

    def add(self, due_step: np.ndarray, **cols) -> None:
        """Queue repeats due at ``due_step`` (n,), with the item fields ``FIELDS`` (n,) each."""
        if due_step.size == 0:
            return
        block = np.empty((self._ints.shape[0], due_step.size), np.int64)
        block[0] = due_step
        for i, f in enumerate(self._INT_FIELDS, 1):
            block[i] = cols[f]
        self._ints = np.concatenate((self._ints, block), axis=1)
        self._difficulty = np.concatenate((self._difficulty, cols["difficulty"]))

    def due(self, step: int) -> dict | None:
        """Pop and return the repeats due at ``step`` (None if none), in the order queued:
        ``FIELDS`` → (k,) arrays (whole numbers as int64, ``specialised`` bool)."""
        ints = self._ints
        now = ints[0] <= step
        if not np.count_nonzero(now):
            return None
        take, keep = now.nonzero()[0], (~now).nonzero()[0]  # (positions: cheaper on 2-D)
        out = dict(zip(self._INT_FIELDS, ints[1:].take(take, axis=1)))
        out["specialised"] = out["specialised"] != 0
        out["difficulty"] = self._difficulty.take(take)
        self._ints = ints.take(keep, axis=1)
        self._difficulty = self._difficulty.take(keep)
        return out
