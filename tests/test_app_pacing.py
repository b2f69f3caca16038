"""The play loop's pacer (:mod:`sim.app.pacing`): it waits for the page's frame reports,
never for a page that does not report, and never longer than its timeout."""

from __future__ import annotations

import threading
import time

from sim.app.pacing import FramePacer


def test_a_page_that_never_reported_is_not_waited_for():
    pacer = FramePacer()
    start = time.monotonic()
    assert pacer.wait_shown(5, timeout=5.0) is False
    assert time.monotonic() - start < 1.0
    assert pacer.shown_frame is None


def test_waits_until_the_frame_is_reported():
    pacer = FramePacer()
    pacer.shown(0)
    assert pacer.wait_shown(0, timeout=0.01) is True

    def report_later():
        time.sleep(0.3)
        pacer.shown(2)  # a later frame also releases a wait for frame 1

    reporter = threading.Thread(target=report_later)
    reporter.start()
    start = time.monotonic()
    assert pacer.wait_shown(1, timeout=10.0) is True
    waited = time.monotonic() - start
    reporter.join()
    assert 0.2 <= waited < 5.0, waited
    assert pacer.shown_frame == 2


def test_times_out_when_the_report_is_late():
    pacer = FramePacer()
    pacer.shown(3)
    start = time.monotonic()
    assert pacer.wait_shown(4, timeout=0.2) is False
    assert 0.15 <= time.monotonic() - start < 5.0


def test_reports_only_move_forward_and_bad_ones_are_ignored():
    pacer = FramePacer()
    pacer.shown("7")
    pacer.shown(5)           # an older frame arriving late does not move it back
    pacer.shown(None)        # malformed reports are ignored
    pacer.shown("not a frame")
    assert pacer.shown_frame == 7
