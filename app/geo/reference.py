"""Reads the reference data files shipped in app/geo/data/."""

from __future__ import annotations

import csv
from importlib import resources


def read_csv(name: str) -> list[dict[str, str]]:
    """The rows of data/`name`, as dicts keyed by its header."""
    text = resources.files("app.geo").joinpath("data", name).read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))
