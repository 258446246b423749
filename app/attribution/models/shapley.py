"""Shapley-value attribution in the simplified (set) form of Zhao et al. 2018.

A coalition S of channels is worth what the journeys whose set of distinct channels lies
inside S produced. Order inside a path and repeated touches are ignored (the "simplified"
set form, not the ordered one).

- value="conversions": v(S) = sum of conversions of journeys with set(path) <= S. Then
  v = sum_T R(T) * u_T (R(T): conversions of journeys whose set is exactly T, u_T the
  unanimity game on T), and the Shapley value of u_T is 1/|T| for each member of T, so
  phi_c = sum over journeys touching c of conversions / |set(path)|. This closed form is
  exact for any number of channels. Revenue uses the same split with v(S) = revenue.
- value="conversion_rate": v(S) = conversions / (conversions + nulls) over those journeys.
  Not additive, so v is evaluated on all 2^n coalitions; exact for n <= max_channels
  (default 15). Beyond that the channels with the fewest conversions are merged into one
  player, OTHER, and listed in ShapleyResult.grouped. sum(phi) = v(all) is a rate, so phi
  is scaled to total conversions (revenue: v(S) = revenue per journey, scaled to total
  revenue). With rates a channel that only dilutes good paths can get negative credit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import factorial
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from app.attribution.models.journeys import Attribution, Journey, empty_credit

OTHER = "(other)"
DEFAULT_MAX_CHANNELS = 15

ShapleyValue = Literal["conversions", "conversion_rate"]


@dataclass(frozen=True, slots=True)
class ShapleyResult:
    attribution: Attribution
    grouped: tuple[str, ...]  # channels merged into OTHER (conversion_rate only)


def shapley(
    journeys: Sequence[Journey],
    value: ShapleyValue = "conversions",
    max_channels: int = DEFAULT_MAX_CHANNELS,
) -> ShapleyResult:
    """Shapley attribution of conversions and revenue; see the module docstring."""
    if value == "conversions":
        return ShapleyResult(_closed_form(journeys), ())
    if value == "conversion_rate":
        return _by_rate(journeys, max_channels)
    raise ValueError(f"unknown Shapley value {value!r}")


def _closed_form(journeys: Sequence[Journey]) -> Attribution:
    conversions = empty_credit(journeys)
    revenue = dict(conversions)
    for journey in journeys:
        members = set(journey.path)
        share = 1.0 / len(members)
        for channel in members:
            conversions[channel] += journey.conversions * share
            revenue[channel] += float(journey.revenue) * share
    return Attribution("shapley", conversions, revenue)


def _players(journeys: Sequence[Journey], max_channels: int) -> tuple[list[str], list[str]]:
    touched: dict[str, int] = dict.fromkeys(empty_credit(journeys), 0)
    for journey in journeys:
        for channel in set(journey.path):
            touched[channel] += journey.conversions
    ranked = sorted(touched, key=lambda c: (-touched[c], c))
    if len(ranked) <= max_channels:
        return ranked, []
    return ranked[: max_channels - 1], ranked[max_channels - 1 :]


def _subset_sums(exact: NDArray[np.float64], n: int) -> NDArray[np.float64]:
    """f(S) = sum over T <= S of exact(T), for masks indexed by bit i = player i."""
    # Axis k of the (2,)*n view is bit n-1-k; a cumulative sum along each axis adds in the
    # coalition without that bit, which after all axes is the sum over all subsets.
    cube = exact.reshape((2,) * n) if n else exact
    for axis in range(n):
        cube = np.cumsum(cube, axis=axis)
    return cube.reshape(-1)


def _by_rate(journeys: Sequence[Journey], max_channels: int) -> ShapleyResult:
    if max_channels < 1:
        raise ValueError("max_channels must be >= 1")
    players, grouped = _players(journeys, max_channels)
    names = players + ([OTHER] if grouped else [])
    bit = {c: 1 << i for i, c in enumerate(players)}
    other_bit = 1 << len(players)
    n = len(names)
    size = 1 << n
    conv = np.zeros(size)
    flow = np.zeros(size)
    rev = np.zeros(size)
    for journey in journeys:
        mask = 0
        for channel in journey.path:
            mask |= bit.get(channel, other_bit)
        conv[mask] += journey.conversions
        flow[mask] += journey.conversions + journey.nulls
        rev[mask] += float(journey.revenue)
    conv, flow, rev = (_subset_sums(a, n) for a in (conv, flow, rev))
    safe = np.where(flow > 0, flow, 1.0)
    v_conv = np.where(flow > 0, conv / safe, 0.0)
    v_rev = np.where(flow > 0, rev / safe, 0.0)

    masks = np.arange(size)
    sizes = np.zeros(size, dtype=np.intp)
    for i in range(n):
        sizes += (masks >> i) & 1
    weights = np.array([factorial(s) * factorial(n - s - 1) / factorial(n) for s in range(n)])
    phi_conv = np.zeros(n)
    phi_rev = np.zeros(n)
    for i in range(n):
        without = masks[((masks >> i) & 1) == 0]
        w = weights[sizes[without]]
        phi_conv[i] = np.dot(w, v_conv[without | (1 << i)] - v_conv[without])
        phi_rev[i] = np.dot(w, v_rev[without | (1 << i)] - v_rev[without])

    total_conv = float(sum(j.conversions for j in journeys))
    total_rev = sum(float(j.revenue) for j in journeys)
    conversions = _scaled(names, phi_conv, total_conv)
    revenue = _scaled(names, phi_rev, total_rev)
    return ShapleyResult(Attribution("shapley_rate", conversions, revenue), tuple(grouped))


def _scaled(names: list[str], phi: NDArray[np.float64], total: float) -> dict[str, float]:
    weight = float(phi.sum())
    if weight == 0:
        return dict.fromkeys(names, 0.0)
    return {c: total * float(p) / weight for c, p in zip(names, phi, strict=True)}
