"""An ordered list of named enrichment steps, stopping at the first drop, each step timed."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from app.ingest.reasons import RejectReason
from app.ingest.record import Record

# The records a step drops: (position in the slice it was given, reason).
Drops = Sequence[tuple[int, RejectReason]]
# A step enriches a slice of records in place and returns the ones to drop. It takes the
# slice, not one record, so that a step costs its own work per record and one call per slice
# (a call per record and step, and the pipeline's check of each answer, cost a tenth of the
# loader's time).
Step = Callable[[list[Record]], Drops]
NO_DROPS: Drops = ()


@dataclass
class Pipeline:
    steps: list[tuple[str, Step]]
    seconds: dict[str, float] = field(default_factory=dict)
    drops: dict[tuple[str, str], int] = field(default_factory=dict)

    def run(self, records: Iterable[Record]) -> tuple[list[Record], list[tuple[Record, str, str]]]:
        """Enrich in place; returns (kept, dropped as (record, reason, step name)).

        Steps run column-wise (each step over the whole batch) so per-step timing costs two
        clock reads per batch, not per record.
        """
        kept = list(records)
        dropped: list[tuple[Record, str, str]] = []
        for name, step in self.steps:
            started = time.perf_counter()
            drops = step(kept)
            if drops:
                gone = set()
                for index, reason in drops:
                    gone.add(index)
                    dropped.append((kept[index], reason, name))
                    key = (name, str(reason))
                    self.drops[key] = self.drops.get(key, 0) + 1
                kept = [record for index, record in enumerate(kept) if index not in gone]
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return kept, dropped
