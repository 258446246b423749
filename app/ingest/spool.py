"""The durable spool: append-only segment files between the HTTP edge and the loader.

Layout under the spool root::

    <writer_id>/.lock              flock'ed by the writing process while it lives
    <writer_id>/000000000007.open  the segment being appended to
    <writer_id>/000000000006.seg   sealed: fsync'ed, immutable, ready to load

Each tracker process writes only its own directory, so several workers never contend, and
one loader owns the store. A segment is deleted only after ClickHouse acknowledged its rows.
When a writer dies, the loader finds its lock free and seals its open segment, so every
record whose write() returned is loaded, even after SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

OPEN_SUFFIX = ".open"
SEALED_SUFFIX = ".seg"
LOCK_NAME = ".lock"


class SpoolError(Exception):
    """The spool could not be written (disk full, permissions)."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolWriter:
    """Appends records for one process; fsyncs on a timer or, with fsync_ms=0, before answering.

    `append` does the write() at once (so a killed process loses nothing it acknowledged);
    durability against power loss comes from the flusher thread's fsync, which with
    fsync_ms=0 is a group commit awaited by every request through `wait_durable`.
    """

    def __init__(
        self,
        root: Path,
        *,
        fsync_ms: int = 200,
        segment_ms: int = 1000,
        segment_bytes: int = 16 * 1024 * 1024,
        writer_id: str | None = None,
    ) -> None:
        self.root = root
        self.fsync_ms = fsync_ms
        self.segment_ms = segment_ms
        self.segment_bytes = segment_bytes
        self.writer_id = writer_id or f"w{os.getpid()}-{os.urandom(3).hex()}"
        self.dir = root / self.writer_id
        self._lock = threading.Lock()
        self._kick = threading.Event()
        self._stop = False
        self._fd = -1
        self._seq = 0
        self._segment_size = 0
        self._segment_opened = 0.0
        self._to_seal: list[tuple[int, int]] = []  # (fd, seq)
        self.appended = 0  # bytes appended over the writer's life
        self.durable_upto = 0  # bytes known to be fsync'ed
        self.errors = 0
        # Group commit: requests waiting for durability share the future of the next fsync.
        self._round: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock_fd = -1

    # -- life cycle -------------------------------------------------------------------------
    def open(self) -> SpoolWriter:
        self.root.mkdir(parents=True, exist_ok=True)
        # Build the directory under a hidden name and lock it before it becomes visible, so
        # the loader never mistakes a starting writer for a dead one.
        staging = self.root / f".{self.writer_id}.init"
        staging.mkdir()
        self._lock_fd = os.open(staging / LOCK_NAME, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(staging, self.dir)
        fsync_dir(self.root)
        self._new_segment()
        self._thread = threading.Thread(target=self._flusher, name="spool-flusher", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Seal the current segment and stop; the directory is left for the loader."""
        with self._lock:
            self._stop = True
            if self._fd >= 0:
                self._to_seal.append((self._fd, self._seq))
                self._fd = -1
        self._kick.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._flush_once()
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # -- the hot path -----------------------------------------------------------------------
    def append(self, data: bytes) -> int:
        """Write `data` (one or more newline-terminated records); returns its durability mark."""
        with self._lock:
            if self._fd < 0:
                raise SpoolError("spool is closed")
            try:
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
            except OSError as exc:
                self.errors += 1
                raise SpoolError(str(exc)) from exc
            size = len(data)
            self._segment_size += size
            self.appended += size
            mark = self.appended
            if self._segment_size >= self.segment_bytes:
                self._rotate_locked()
        return mark

    async def wait_durable(self, mark: int) -> None:
        """Return once everything up to `mark` is fsync'ed (group commit across requests).

        Every request waiting at once shares one future: the next flush round takes it
        together with the append position it fsyncs up to, so a request that joined a round
        had appended before that round's position was taken.
        """
        if self.durable_upto >= mark:
            return
        with self._lock:
            future = self._round
            new_round = future is None
            if new_round:
                self._loop = asyncio.get_running_loop()
                future = self._round = self._loop.create_future()
        if new_round:
            self._kick.set()
        await future  # type: ignore[misc]
        if self.durable_upto < mark:  # defensive: never answer before the data is synced
            await self.wait_durable(mark)

    # -- segments ---------------------------------------------------------------------------
    def _segment_path(self, seq: int, suffix: str) -> Path:
        return self.dir / f"{seq:012d}{suffix}"

    def _new_segment(self) -> None:
        self._seq += 1
        path = self._segment_path(self._seq, OPEN_SUFFIX)
        self._fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._segment_size = 0
        self._segment_opened = time.monotonic()

    def _rotate_locked(self) -> None:
        if self._segment_size == 0:
            self._segment_opened = time.monotonic()
            return
        self._to_seal.append((self._fd, self._seq))
        self._new_segment()
        self._kick.set()

    def _flusher(self) -> None:
        interval_s = self.segment_ms / 1000
        if self.fsync_ms > 0:
            interval_s = min(interval_s, self.fsync_ms / 1000)
        while not self._stop:
            self._kick.wait(interval_s)
            self._kick.clear()
            if self._stop:
                break
            try:
                self._flush_once()
            except OSError:
                self.errors += 1
                time.sleep(0.05)

    def _flush_once(self) -> None:
        with self._lock:
            if (
                self._fd >= 0
                and self._segment_size
                and time.monotonic() - self._segment_opened >= self.segment_ms / 1000
            ):
                self._rotate_locked()
            to_seal, self._to_seal = self._to_seal, []
            current = self._fd
            mark = self.appended
            round_future, self._round = self._round, None
            loop = self._loop
        for fd, seq in to_seal:
            os.fsync(fd)
            os.close(fd)
            os.rename(self._segment_path(seq, OPEN_SUFFIX), self._segment_path(seq, SEALED_SUFFIX))
        if current >= 0 and mark > self.durable_upto:
            with contextlib.suppress(OSError):  # closed by a concurrent rotation: sealed above
                os.fsync(current)
        if to_seal:
            fsync_dir(self.dir)
        self.durable_upto = max(self.durable_upto, mark)
        if round_future is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(_resolve, round_future)

    # -- observability ----------------------------------------------------------------------
    @property
    def pending_bytes(self) -> int:
        return self.appended - self.durable_upto


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(frozen=True, order=True)
class Segment:
    writer_id: str
    seq: int
    path: Path

    @classmethod
    def at(cls, path: Path) -> Segment:
        """The sealed segment file at `path` (`<root>/<writer_id>/<seq>.seg`)."""
        return cls(path.parent.name, int(path.stem), path)

    @property
    def name(self) -> str:
        return f"{self.writer_id}/{self.seq}"

    def read_records(self) -> Iterator[bytes]:
        """Complete lines only: a torn final line was never acknowledged to anyone."""
        data = self.path.read_bytes()
        end = data.rfind(b"\n")
        if end < 0:
            return
        if end < len(data) - 1:
            data = data[: end + 1]  # a sealed segment ends with its newline: no copy then
        yield from data.splitlines()

    def done(self) -> None:
        self.path.unlink(missing_ok=True)


def _writer_alive(writer_dir: Path) -> bool:
    try:
        fd = os.open(writer_dir / LOCK_NAME, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # closing drops our flock if we took it
    return False


def ready_segments(root: Path) -> list[Segment]:
    """Sealed segments in load order; seals the open segments of writers that died."""
    if not root.is_dir():
        return []
    found: list[Segment] = []
    for writer_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if writer_dir.name.startswith("."):
            continue
        if not _writer_alive(writer_dir):
            _seal_orphans(writer_dir)
        for path in writer_dir.glob(f"*{SEALED_SUFFIX}"):
            found.append(Segment(writer_dir.name, int(path.stem), path))
    found.sort(key=lambda s: (s.path.stat().st_mtime_ns, s.writer_id, s.seq))
    return found


def _seal_orphans(writer_dir: Path) -> None:
    opened = sorted(writer_dir.glob(f"*{OPEN_SUFFIX}"))
    for path in opened:
        if path.stat().st_size == 0:
            path.unlink()
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(path, path.with_suffix(SEALED_SUFFIX))
    if opened:
        fsync_dir(writer_dir)
    if not any(writer_dir.glob(f"*{SEALED_SUFFIX}")):
        with contextlib.suppress(OSError):
            (writer_dir / LOCK_NAME).unlink()
            writer_dir.rmdir()


def spool_depth(root: Path) -> tuple[int, int]:
    """(segments, bytes) waiting in the spool, open segments included."""
    segments = size = 0
    if not root.is_dir():
        return 0, 0
    for writer_dir in root.iterdir():
        if not writer_dir.is_dir():
            continue
        for path in writer_dir.iterdir():
            if path.suffix in (OPEN_SUFFIX, SEALED_SUFFIX):
                with contextlib.suppress(FileNotFoundError):
                    size += path.stat().st_size
                    segments += 1
    return segments, size
