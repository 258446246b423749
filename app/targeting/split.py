"""Weighted choices: sticky per visitor for split tests, random for creative rotation."""

from __future__ import annotations

import bisect
import hashlib
import random
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


def bucket(visitor_id: str, salt: str, total: int) -> int:
    """A stable number in [0, total) for this visitor and salt (the link code): the same
    visitor lands in the same variant on every click, across processes and restarts."""
    digest = hashlib.blake2b(f"{salt}\x00{visitor_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % total


@dataclass(frozen=True)
class Weighted(Generic[T]):
    items: tuple[T, ...]
    bounds: tuple[int, ...]  # cumulative weights
    total: int

    @classmethod
    def of(cls, pairs: list[tuple[T, int]]) -> Weighted[T]:
        items, bounds, total = [], [], 0
        for item, weight in pairs:
            if weight > 0:
                total += weight
                items.append(item)
                bounds.append(total)
        return cls(tuple(items), tuple(bounds), total)

    def __bool__(self) -> bool:
        return self.total > 0

    def at(self, point: int) -> T:
        return self.items[bisect.bisect_right(self.bounds, point)]

    def sticky(self, visitor_id: str, salt: str) -> T:
        return self.at(bucket(visitor_id, salt, self.total))

    def pick(self, rng: random.Random | None = None) -> T:
        return self.at((rng or random).randrange(self.total))
