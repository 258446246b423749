"""The spool: segments seal on time and size, dead writers' segments are recovered."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.ingest.record import dumps, loads
from app.ingest.spool import SpoolWriter, ready_segments, spool_depth


def _records(root: Path) -> list[dict]:
    return [loads(line) for seg in ready_segments(root) for line in seg.read_records()]


def test_segment_seals_after_its_time_and_keeps_order(tmp_path):
    writer = SpoolWriter(tmp_path, fsync_ms=50, segment_ms=100).open()
    for i in range(5):
        writer.append(dumps({"i": i}))
    assert ready_segments(tmp_path) == []  # still open, writer alive
    deadline = time.monotonic() + 5
    while not ready_segments(tmp_path) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [r["i"] for r in _records(tmp_path)] == [0, 1, 2, 3, 4]
    writer.close()


def test_segment_rotates_on_size(tmp_path):
    writer = SpoolWriter(tmp_path, fsync_ms=1000, segment_ms=60_000, segment_bytes=4096).open()
    for i in range(300):
        writer.append(dumps({"i": i, "pad": "x" * 40}))
    writer.close()
    segments = ready_segments(tmp_path)
    assert len(segments) > 3
    assert [r["i"] for r in _records(tmp_path)] == list(range(300))


def test_close_seals_everything_and_depth_counts_it(tmp_path):
    writer = SpoolWriter(tmp_path, fsync_ms=200, segment_ms=60_000).open()
    writer.append(dumps({"a": 1}) + dumps({"a": 2}))
    assert spool_depth(tmp_path)[1] > 0
    writer.close()
    assert len(_records(tmp_path)) == 2
    for seg in ready_segments(tmp_path):
        seg.done()
    assert spool_depth(tmp_path) == (0, 0)


def test_fsync_zero_waits_for_a_group_commit(tmp_path):
    writer = SpoolWriter(tmp_path, fsync_ms=0, segment_ms=60_000).open()

    async def burst() -> None:
        marks = [writer.append(dumps({"i": i})) for i in range(50)]
        await asyncio.gather(*(writer.wait_durable(m) for m in marks))

    asyncio.run(burst())
    assert writer.durable_upto == writer.appended
    writer.close()


_KILLED_WRITER = """
import os, sys
from pathlib import Path
from app.ingest.spool import SpoolWriter
from app.ingest.record import dumps
w = SpoolWriter(Path(sys.argv[1]), fsync_ms=60000, segment_ms=60000).open()
for i in range(100):
    w.append(dumps({"i": i}))
os.write(w._fd, b'{"torn": ')  # a write cut off mid-record
print("written", flush=True)
os.kill(os.getpid(), 9)
"""


def test_records_of_a_killed_writer_are_recovered_and_torn_tail_ignored(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert "written" in result.stdout
    assert result.returncode == -9
    # The writer never sealed anything; its lock died with it, so the reader seals.
    assert [r["i"] for r in _records(tmp_path)] == list(range(100))


def test_a_live_writer_is_never_sealed_by_the_reader(tmp_path):
    writer = SpoolWriter(tmp_path, fsync_ms=60_000, segment_ms=60_000).open()
    writer.append(dumps({"i": 1}))
    assert ready_segments(tmp_path) == []
    writer.append(dumps({"i": 2}))
    writer.close()
    assert [r["i"] for r in _records(tmp_path)] == [1, 2]


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.dictionaries(st.text(max_size=8), st.text(max_size=30), max_size=4), max_size=40)
)
def test_whatever_is_appended_reads_back_identically(tmp_path_factory, records):
    root = tmp_path_factory.mktemp("spool")
    writer = SpoolWriter(root, fsync_ms=1000, segment_ms=60_000, segment_bytes=512).open()
    for record in records:
        writer.append(dumps(record))
    writer.close()
    assert _records(root) == records
