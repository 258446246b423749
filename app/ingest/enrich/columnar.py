"""Tools of the column steps: answer each distinct key once, spread the answers to the rows.

A batch of 100,000 hits comes from a few thousand browsers and some tens of thousands of
addresses; per distinct key the step's Python work runs once, and Arrow's `take` copies
the answers to every row in C++.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def distinct(column: pa.ChunkedArray | pa.Array) -> tuple[list[Any], pa.Array]:
    """The distinct values of a column, as Python values, and each row's index into them."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    encoded = pc.dictionary_encode(column)
    return encoded.dictionary.to_pylist(), encoded.indices


def spread(values: Sequence[Any], kind: pa.DataType, rows: pa.Array) -> pa.Array:
    """`values[rows[i]]` for every row, as an Arrow array of `kind`."""
    return pa.array(values, type=kind).take(rows)


def put(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    """`table` with column `name` replaced by `values` (of the column's own type)."""
    index = table.schema.get_field_index(name)
    return table.set_column(index, table.schema.field(index), values)


def put_answers(
    table: pa.Table, names: Sequence[str], answers: Sequence[Sequence[Any]], rows: pa.Array
) -> pa.Table:
    """Put one column per name from per-key answer tuples (`answers[k][n]` is column n's
    value for distinct key k)."""
    columns = list(zip(*answers, strict=True)) if answers else [() for _ in names]
    for name, values in zip(names, columns, strict=True):
        table = put(table, name, spread(values, table.schema.field(name).type, rows))
    return table
