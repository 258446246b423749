"""The demo's reference data (regions, their networks, user agents), read from data/*.csv."""

from __future__ import annotations

import bisect
import csv
import ipaddress
import random
import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Generic, TypeVar

DATA_DIR = Path(__file__).resolve().parent / "data"
DEVICES = ("mobile", "tablet", "desktop", "bot")

T = TypeVar("T")


class Weighted(Generic[T]):
    """Draws items by relative weight: one uniform number and a bisect per draw."""

    def __init__(self, items: Iterable[tuple[T, float]]) -> None:
        self.items: list[T] = []
        self._cumulative: list[float] = []
        total = 0.0
        for item, weight in items:
            if weight <= 0:
                continue
            total += weight
            self.items.append(item)
            self._cumulative.append(total)
        if not self.items:
            raise ValueError("nothing to draw from: no positive weights")
        self.total = total

    def draw(self, rng: random.Random) -> T:
        index = bisect.bisect_right(self._cumulative, rng.random() * self.total)
        return self.items[index] if index < len(self.items) else self.items[-1]


@dataclass(frozen=True)
class Region:
    province: str
    city: str
    weight: float


@dataclass(frozen=True)
class Block:
    """An address block: visitors get hosts inside it."""

    first: int
    size: int
    version: int

    @classmethod
    def parse(cls, cidr: str) -> Block:
        net = ipaddress.ip_network(cidr, strict=False)
        return cls(int(net.network_address), net.num_addresses, net.version)

    def host(self, rng: random.Random) -> str:
        if self.version == 4:
            # Skip the network and broadcast addresses of blocks that have them.
            offset = 1 + int(rng.random() * (self.size - 2)) if self.size > 2 else 0
            return socket.inet_ntoa((self.first + offset).to_bytes(4, "big"))
        offset = rng.getrandbits(64) % self.size
        return socket.inet_ntop(socket.AF_INET6, (self.first + offset).to_bytes(16, "big"))


@dataclass(frozen=True)
class RegionNetworks:
    v4: tuple[Block, ...]
    v6: tuple[Block, ...]


@dataclass(frozen=True)
class UserAgent:
    device: str
    ua: str
    weight: float
    origin: Block | None = None  # crawlers only: the block they crawl from


def _rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as handle:
        lines = (line for line in handle if not line.startswith("#"))
        yield from csv.DictReader(lines)


@cache
def read_regions() -> tuple[Region, ...]:
    return tuple(Region(r["province"], r["city"], float(r["weight"])) for r in _rows("regions.csv"))


@cache
def read_networks() -> dict[tuple[str, str], RegionNetworks]:
    v4: dict[tuple[str, str], list[Block]] = {}
    v6: dict[tuple[str, str], list[Block]] = {}
    for row in _rows("networks.csv"):
        block = Block.parse(row["network"])
        key = (row["province"], row["city"])
        (v4 if block.version == 4 else v6).setdefault(key, []).append(block)
    return {
        key: RegionNetworks(tuple(v4.get(key, ())), tuple(v6.get(key, ())))
        for key in v4.keys() | v6.keys()
    }


@cache
def read_user_agents() -> tuple[UserAgent, ...]:
    out = []
    for row in _rows("user_agents.csv"):
        if row["device"] not in DEVICES:
            raise ValueError(f"user_agents.csv: unknown device {row['device']!r}")
        origin = Block.parse(row["origin"]) if row["origin"] else None
        out.append(UserAgent(row["device"], row["user_agent"], float(row["weight"]), origin))
    return tuple(out)


def user_agents_by_device(agents: Sequence[UserAgent]) -> dict[str, Weighted[UserAgent]]:
    return {
        device: Weighted((a, a.weight) for a in agents if a.device == device) for device in DEVICES
    }
