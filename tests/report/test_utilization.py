"""The report's busy share counts a slot busy once while jobs overlap on it (CPU jobs share one slot)."""

from __future__ import annotations

import re

import pytest

from trex.report import utilization
from trex.report.utilization import _covered, utilization_section


def test_overlapping_intervals_are_covered_once() -> None:
    assert _covered([(0, 10), (5, 15), (20, 25)]) == 20
    assert _covered([(0, 10), (2, 3)]) == 10 and _covered([]) == 0


def test_two_cpu_jobs_at_once_keep_the_slot_busy_at_most_all_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = [{"gpu": None, "start": 0.0, "end": 100.0}, {"gpu": None, "start": 10.0, "end": 100.0}]
    monkeypatch.setattr(utilization, "job_spans", lambda store: spans)
    monkeypatch.setattr(utilization, "in_flight", lambda store: [])
    page = utilization_section(store=None)
    assert re.search(r"1 slot\(s\) used, busy 100% of the time", page), page  # the sum of the spans was 190%
    spans[1].update(start=100.0, end=150.0)  # one after the other, with no gap: still all the time
    assert "busy 100%" in utilization_section(store=None)
    spans[1].update(start=200.0, end=250.0)  # idle from 100 s to 200 s: busy 150 s of 250
    assert "busy 60%" in utilization_section(store=None)
