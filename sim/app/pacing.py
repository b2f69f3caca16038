"""Paces the play loop by what the page has shown, so a slow browser never falls behind.

Without it the server steps the model on its own clock: on a loaded laptop (or a projector
PC) the browser can fall many weeks behind, and a teacher who presses pause at week 30 on
the screen stops the model at week 80. With it, each play tick waits until the page reports
that it has received the previous frame (:class:`FramePacer`), so the model is at most one
frame ahead of the screen.

The page reports frames through a hidden Vue component (``frame_ack.vue``, wrapped by
:func:`sim.app.page.FrameAck`). A front end that never reports (one that cannot run the
component) is not waited for: until a first report arrives, :meth:`FramePacer.wait_shown`
returns at once, and a report that is late by more than its ``timeout`` lets play go on.
"""

from __future__ import annotations

import threading

__all__ = ["SHOWN_TIMEOUT", "FramePacer"]

#: Seconds a play tick waits at most for the page to report the previous frame.
SHOWN_TIMEOUT = 10.0


class FramePacer:
    """The newest frame number the page reported, and a wait for a given frame.

    Frame numbers are the page's render counter (``version`` in :func:`sim.app.page.Page`);
    they only grow. Thread-safe: reports arrive on the kernel's message thread, waits happen
    on the play-loop thread.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shown: int | None = None

    @property
    def shown_frame(self) -> int | None:
        """The newest frame the page reported (``None`` before the first report)."""
        with self._cond:
            return self._shown

    def shown(self, frame) -> None:
        """Record that the page has shown ``frame`` (called from the browser)."""
        try:
            frame = int(frame)
        except (TypeError, ValueError):
            return  # a malformed report is ignored, never raised into the kernel
        with self._cond:
            if self._shown is None or frame > self._shown:
                self._shown = frame
                self._cond.notify_all()

    def wait_shown(self, frame: int, timeout: float = SHOWN_TIMEOUT) -> bool:
        """Wait until the page has shown ``frame`` (or a later one), at most ``timeout`` s.

        Returns True when it has, False on timeout or when the page has never reported a
        frame (then it does not wait at all).
        """
        with self._cond:
            if self._shown is None:
                return False
            return self._cond.wait_for(lambda: self._shown >= frame, timeout=timeout)
