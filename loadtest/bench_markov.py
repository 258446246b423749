"""Attribution benchmark: our exact Markov and rule-based models vs ChannelAttribution.

    .venv/bin/python loadtest/bench_markov.py [--visitors 1000000] [--channels 12] [--seed 1]

Generates visitor journeys (geometric path lengths, a skewed channel mix, conversion odds
rising with some channels and with path length), aggregates them to distinct paths, and
times on the same input: our `markov` (order 1) against `ChannelAttribution.markov_model`
(order 1, its default simulation, conv_par 0.05), and our first/last/linear against its
`heuristic_models`. A second ChannelAttribution run at conv_par 0.01 checks agreement:
largest relative difference per channel over channels with >= 1% of conversions (the issue
asks for <= 2%). Prints a markdown table; writes loadtest/results/markov-<timestamp>.json.
ChannelAttribution is GPL-3.0 and a dev-only dependency; app/ never imports it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.attribution.models import Journey, first_click, last_click, linear, markov  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def generate(visitors: int, channels: int, seed: int) -> list[Journey]:
    rng = np.random.default_rng(seed)
    names = [f"ch{i:02d}" for i in range(channels)]
    mix = 1.0 / np.arange(1, channels + 1) ** 0.8  # a few big channels, a long tail
    mix /= mix.sum()
    lengths = np.minimum(rng.geometric(0.33, visitors), 30)
    touches = rng.choice(channels, size=int(lengths.sum()), p=mix)
    lift = np.linspace(0.03, -0.01, channels)  # early channels convert better
    rows: dict[tuple[str, ...], list[float]] = {}
    start = 0
    for length, u, price in zip(
        lengths.tolist(),
        rng.random(visitors).tolist(),
        rng.integers(10, 500, visitors).tolist(),
        strict=True,
    ):
        ids = touches[start : start + length]
        start += length
        odds = 0.02 + 0.01 * length + float(lift[ids].sum())
        path = tuple(names[i] for i in ids.tolist())
        acc = rows.setdefault(path, [0, 0.0, 0])
        if u < odds:
            acc[0] += 1
            acc[1] += price
        else:
            acc[2] += 1
    return [Journey(p, int(c), v, int(n)) for p, (c, v, n) in rows.items()]


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    out = fn()
    return time.perf_counter() - began, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=1_000_000)
    parser.add_argument("--channels", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--check-nsim", type=float, default=1e5, help="nsim_start of the conv_par 0.01 run"
    )
    args = parser.parse_args()

    import pandas as pd

    with contextlib.redirect_stdout(io.StringIO()):  # banner on import
        import ChannelAttribution as ca

    gen_s, journeys = timed(lambda: generate(args.visitors, args.channels, args.seed))
    frame = pd.DataFrame(
        {
            "path": [">".join(j.path) for j in journeys],
            "conv": [j.conversions for j in journeys],
            "value": [float(j.revenue) for j in journeys],
            "null": [j.nulls for j in journeys],
        }
    )
    total = sum(j.conversions for j in journeys)
    print(
        f"{args.visitors} visitors -> {len(journeys)} distinct paths, {total} conversions "
        f"(generated in {gen_s:.1f} s)"
    )

    def ca_markov(conv_par: float, nsim_start: float = 1e5) -> Any:
        with contextlib.redirect_stdout(io.StringIO()):
            return ca.markov_model(
                frame,
                "path",
                "conv",
                var_value="value",
                var_null="null",
                order=1,
                nsim_start=nsim_start,
                conv_par=conv_par,
                seed=0,
                verbose=False,
                flg_pro=False,
            )

    def ours_rules() -> list[Any]:
        return [first_click(journeys), last_click(journeys), linear(journeys)]

    def ca_rules() -> Any:
        return ca.heuristic_models(frame, "path", "conv", var_value="value", flg_pro=False)

    ours_markov_s, ours = timed(lambda: markov(journeys, order=1))
    ca_markov_s, _ = timed(lambda: ca_markov(0.05))
    ours_rules_s, _ = timed(ours_rules)
    ca_rules_s, _ = timed(ca_rules)
    ca_tight_s, tight = timed(lambda: ca_markov(0.01, args.check_nsim))

    tight = tight.set_index("channel_name")
    diffs = {}
    for channel, expected in tight["total_conversions"].items():
        if expected >= 0.01 * total:
            diffs[channel] = abs(ours.attribution.conversions[channel] - expected) / expected
    worst = max(diffs.values())

    rows = [
        ("Markov order 1", ours_markov_s, ca_markov_s),
        ("first/last/linear", ours_rules_s, ca_rules_s),
    ]
    print("\n| model | ours (s) | ChannelAttribution (s) | ours / theirs |")
    print("|---|---:|---:|---:|")
    for name, mine, theirs in rows:
        print(f"| {name} | {mine:.3f} | {theirs:.3f} | {mine / theirs:.3f} |")
    print(
        f"\nChannelAttribution conv_par 0.01 run: {ca_tight_s:.3f} s; largest per-channel "
        f"difference from ours over {len(diffs)} channels with >= 1% of conversions: "
        f"{worst:.2%} ({'within' if worst <= 0.02 else 'OVER'} 2%)"
    )

    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"markov-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(
        json.dumps(
            {
                "visitors": args.visitors,
                "channels": args.channels,
                "seed": args.seed,
                "distinct_paths": len(journeys),
                "conversions": total,
                "ours_markov_s": ours_markov_s,
                "ca_markov_conv_par_0_05_s": ca_markov_s,
                "ours_rules_s": ours_rules_s,
                "ca_heuristic_s": ca_rules_s,
                "ca_markov_conv_par_0_01_s": ca_tight_s,
                "max_rel_diff_vs_ca_0_01": worst,
                "rel_diff_by_channel": diffs,
                "markov_states": ours.states,
                "python": platform.python_version(),
                "machine": platform.machine(),
            },
            indent=2,
        )
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
