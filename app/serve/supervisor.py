"""Starts the edge process next to the core, restarts it if it dies, and stops it first.

The edge is tied to the core's life with PR_SET_PDEATHSIG: if the core is killed (even with
SIGKILL), the kernel kills the edge too, so no orphan keeps the public port.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import subprocess
import sys

from app.settings import Settings

log = logging.getLogger("adtrack")

_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent dies (Linux; no-op elsewhere).

    Called between fork and exec for the edge, and again by every edge worker process: an
    HTTP server with worker processes (granian, uvicorn --workers) is a parent itself, and
    its workers must not outlive it holding the public port.
    """
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return


def edge_command(settings: Settings) -> list[str]:
    return [sys.executable, "-m", "app.cli", "edge"]


class EdgeSupervisor:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.process: subprocess.Popen[bytes] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.restarts = 0

    def _spawn(self) -> None:
        # Started from the event loop's thread: PDEATHSIG follows the thread that forked.
        self.process = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            edge_command(self.settings),
            env=os.environ.copy(),
            preexec_fn=die_with_parent,  # noqa: PLW1509 (async-signal-safe: one prctl call)
        )
        log.info("edge started (pid %s)", self.process.pid)

    async def start(self) -> None:
        self._spawn()
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        delay = 0.5
        while not self._stopping:
            await asyncio.sleep(0.25)
            if self.process is None or self.process.poll() is None:
                continue
            code = self.process.returncode
            log.error("edge exited with %s; restarting in %.1fs", code, delay)
            await asyncio.sleep(delay)
            if self._stopping:
                return
            self.restarts += 1
            delay = min(delay * 2, 10.0)
            self._spawn()

    async def stop(self, timeout_s: float = 20.0) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(process.wait, timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
