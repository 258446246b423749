"""Frequency caps: impressions per visitor, campaign and day, shared by every edge worker.

The counts live in a memory-mapped file under the data directory: an open-addressing table
of fixed-size slots (key hash, day, count), updated under an exclusive file lock, so all
worker processes of the edge see one count and a restart keeps today's counts. A slot whose
day has passed is free again, so the table only has to hold one day's (visitor, campaign)
pairs. When a probe run is full the impression is allowed and counted as an overflow:
under-delivery because of our table would cost the advertiser more than one extra view.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
from pathlib import Path

_SLOT = struct.Struct("<QII")  # key, day number, count
_PROBES = 32


class FrequencyCounter:
    def __init__(self, path: Path, slots: int = 1 << 20) -> None:
        self.path = path
        self.slots = slots
        self.overflows = 0
        size = slots * _SLOT.size
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size != size:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                if os.fstat(self._fd).st_size != size:
                    os.ftruncate(self._fd, size)  # a new (or resized) table starts empty
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()

    @staticmethod
    def key(visitor_id: str, campaign_id: str) -> int:
        digest = hashlib.blake2b(f"{campaign_id}\x00{visitor_id}".encode(), digest_size=8)
        return int.from_bytes(digest.digest(), "little") or 1  # 0 marks an empty slot

    def take(self, visitor_id: str, campaign_id: str, day: int, cap: int) -> bool:
        """Count one impression if this visitor is under `cap` today; False when capped."""
        key = self.key(visitor_id, campaign_id)
        start = key % self.slots
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                free = -1
                for probe in range(_PROBES):
                    offset = ((start + probe) % self.slots) * _SLOT.size
                    slot_key, slot_day, count = _SLOT.unpack_from(self._map, offset)
                    if slot_key == key and slot_day == day:
                        if count >= cap:
                            return False
                        _SLOT.pack_into(self._map, offset, key, day, count + 1)
                        return True
                    if free < 0 and (slot_key == 0 or slot_day != day):
                        free = offset
                if free < 0:
                    self.overflows += 1
                    return True
                _SLOT.pack_into(self._map, free, key, day, 1)
                return True
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)

    def count(self, visitor_id: str, campaign_id: str, day: int) -> int:
        key = self.key(visitor_id, campaign_id)
        start = key % self.slots
        for probe in range(_PROBES):
            offset = ((start + probe) % self.slots) * _SLOT.size
            slot_key, slot_day, count = _SLOT.unpack_from(self._map, offset)
            if slot_key == key and slot_day == day:
                return count
        return 0

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)
