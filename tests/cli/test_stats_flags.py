"""`adtrack stats <report>` takes only the flags its report reads: its own and, for a
filtered report, the common filter's. Any other flag — one another report has, or the
`--window` every command once accepted and ignored — is a usage error naming the flag, for
every report in the registry (a new report is covered as it is declared)."""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import io

import pytest

from app.api.stats import report_filter
from app.attribution.report import Report
from app.attribution.reports import REPORTS
from app.cli.main import build_parser
from tests.support.cli import adtrack, assert_bad_input
from tests.support.cli import offline_store_env as offline_store_env  # a fixture


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# The common filter as the API declares it (its dependency's parameters): what a filtered
# report's command takes besides its own flags.
COMMON = frozenset(_flag(n) for n in inspect.signature(report_filter).parameters)
# Every flag some report takes, and the one every command once took and ignored.
EVERY = frozenset(p.flag for r in REPORTS for p in r.params) | COMMON | {"--window"}


def _taken(report: Report) -> frozenset[str]:
    own = frozenset(p.flag for p in report.params)
    return own | COMMON if report.filtered else own


def _needed(report: Report) -> list[str]:
    """The flags a run of `report` cannot go without, with values."""
    args = ["--start", "2026-11-01", "--end", "2026-11-02"] if report.filtered else []
    for param in report.params:
        if param.required:
            args += [param.flag, "2026-11-01" if param.name in ("start", "end") else "v-1"]
    return args


@functools.cache
def _parser() -> argparse.ArgumentParser:
    """The whole `adtrack` parser, built once: parsing leaves it as it was."""
    return build_parser()


def _parse(*argv: str) -> tuple[int | None, str]:
    """The exit status argparse gives `adtrack ARGV` (None: parsed) and what it printed."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            _parser().parse_args(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0), err.getvalue()
    return None, err.getvalue()


@pytest.mark.parametrize("report", REPORTS, ids=[r.name for r in REPORTS])
def test_a_flag_the_report_does_not_read_is_refused_naming_it(report: Report):
    needed = _needed(report)
    assert _parse("stats", report.name, *needed) == (None, "")  # the control: it parses
    unused = sorted(EVERY - _taken(report))
    assert unused, report.name  # every report lacks some flag another has
    for flag in unused:
        code, err = _parse("stats", report.name, *needed, f"{flag}=1")
        assert code == 2, (report.name, flag)
        assert f"unrecognized arguments: {flag}=1" in err, (report.name, flag, err)


@pytest.mark.parametrize("report", REPORTS, ids=[r.name for r in REPORTS])
def test_a_flag_is_spelt_out(report: Report):
    """No abbreviations: a prefix of a flag is not taken for it, so a misspelt flag is never
    read as another."""
    for flag in _taken(report):
        code, err = _parse("stats", report.name, *_needed(report), f"{flag[:-1]}=1")
        assert code == 2 and f"unrecognized arguments: {flag[:-1]}=1" in err, flag


def test_window_on_traffic_exits_2_naming_it(offline_store_env):
    """The real entry point: `--window` changed nothing on the traffic report; now refused."""
    result = adtrack(offline_store_env, "stats", "traffic", "--start", "2026-11-01", "--end",
                     "2026-11-02", "--window", "60")  # fmt: skip
    assert_bad_input(result, "--window")
