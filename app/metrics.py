"""Process-local counters and gauges, rendered in the Prometheus text format for /metrics."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

Labels = tuple[tuple[str, str], ...]


class Metrics:
    """Plain dict counters: increments are GIL-atomic enough for monotonic counts and cost
    ~50 ns, which matters on the hit path; gauges are read by callbacks at scrape time."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._help: dict[str, tuple[str, str]] = {}
        self._gauges: dict[str, Callable[[], list[tuple[Labels, float]]]] = {}

    def describe(self, name: str, kind: str, text: str) -> None:
        self._help[name] = (kind, text)

    def inc(self, name: str, labels: Labels = (), value: float = 1.0) -> None:
        self._counters[name][labels] += value

    def gauge(
        self,
        name: str,
        text: str,
        read: Callable[[], list[tuple[Labels, float]]],
        kind: str = "gauge",
    ) -> None:
        """A metric read at scrape time (`kind` "counter" for totals kept elsewhere)."""
        self._help[name] = (kind, text)
        self._gauges[name] = read

    def render(self) -> str:
        lines: list[str] = []
        for name in sorted(set(self._counters) | set(self._gauges)):
            kind, text = self._help.get(name, ("counter", name))
            lines.append(f"# HELP {name} {text}")
            lines.append(f"# TYPE {name} {kind}")
            if name in self._gauges:
                try:
                    samples = self._gauges[name]()
                except Exception:  # noqa: BLE001 (a broken gauge must not break the scrape)
                    samples = []
            else:
                samples = list(self._counters[name].items())
            for labels, value in samples:
                lines.append(f"{name}{_fmt_labels(labels)} {_fmt_value(value)}")
        return "\n".join(lines) + "\n"


def _fmt_labels(labels: Labels) -> str:
    if not labels:
        return ""
    inner = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in labels
    )
    return "{" + inner + "}"


def _fmt_value(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
