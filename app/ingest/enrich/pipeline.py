"""An ordered list of named enrichment steps, each timed: record steps, then column steps.

Record steps work on the spooled dicts and may drop hits: they decide which source a hit
belongs to (campaign, site, click) and whether an order is a duplicate. Column steps run
after the records became an Arrow table and derive fields from one key column (the IP, the
user agent): they compute each distinct key once and spread the answers with Arrow `take`,
so their cost follows the distinct visitors and browsers of a batch, not its hits.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

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
# A column step takes a batch as an `events` table and returns it with its columns put.
ColumnStep = Callable[[pa.Table], pa.Table]


@dataclass
class Pipeline:
    steps: list[tuple[str, Step]]
    column_steps: list[tuple[str, ColumnStep]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    drops: dict[tuple[str, str], int] = field(default_factory=dict)

    def run(self, records: Iterable[Record]) -> tuple[list[Record], list[tuple[Record, str, str]]]:
        """Run the record steps in place; returns (kept, dropped as (record, reason, step
        name)). Each step walks the whole slice, so timing costs two clock reads a slice."""
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

    def run_columns(self, table: pa.Table) -> pa.Table:
        """Run the column steps over a table of the kept records."""
        for name, step in self.column_steps:
            started = time.perf_counter()
            table = step(table)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return table
