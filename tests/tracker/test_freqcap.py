"""The frequency counter: one count across processes, per day, and a full table fails open."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from app.tracker.freqcap import FrequencyCounter


def test_caps_per_visitor_campaign_and_day(tmp_path):
    counter = FrequencyCounter(tmp_path / "fc.bin", slots=1024)
    assert [counter.take("v1", "c1", 100, 3) for _ in range(5)] == [True] * 3 + [False] * 2
    assert counter.take("v2", "c1", 100, 3)  # another visitor
    assert counter.take("v1", "c2", 100, 3)  # another campaign
    assert counter.take("v1", "c1", 101, 3)  # the next day starts again
    assert counter.count("v1", "c1", 101) == 1
    counter.close()
    reopened = FrequencyCounter(tmp_path / "fc.bin", slots=1024)  # counts survive a restart
    assert reopened.count("v1", "c2", 100) == 1
    assert not reopened.take("v1", "c1", 101, 1)


def _take_many(path: Path, n: int, out: multiprocessing.Queue) -> None:
    counter = FrequencyCounter(path, slots=1024)
    out.put(sum(counter.take("shared", "c1", 7, 1000) for _ in range(n)))


def test_processes_share_one_count(tmp_path):
    path = tmp_path / "fc.bin"
    FrequencyCounter(path, slots=1024).close()
    out: multiprocessing.Queue = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=_take_many, args=(path, 300, out)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    assert sum(out.get(timeout=5) for _ in procs) == 1000  # exactly the cap, no lost update
    assert FrequencyCounter(path, slots=1024).count("shared", "c1", 7) == 1000


def test_a_full_probe_run_allows_and_counts_the_overflow(tmp_path):
    counter = FrequencyCounter(tmp_path / "fc.bin", slots=8)
    allowed = [counter.take(f"v{n}", "c1", 1, 1) for n in range(20)]
    assert all(allowed)
    assert counter.overflows == 12
