"""Markov-chain removal effect, solved exactly as an absorbing chain (no simulation).

States: a start state, one transient state per distinct tuple of the last `order` touches
(shorter tuples at the beginning of a path: A>B>C at order 2 visits (A), (A,B), (B,C)), and
two absorbing states, conversion and null. Each journey adds `conversions + nulls` to every
transition along its path, then `conversions` to last-state -> conversion and `nulls` to
last-state -> null. Transition probabilities are the counts normalised per source state.

P(conversion from start) solves (I - Q) x = r, with Q the transient-to-transient and r the
transient-to-conversion probabilities. Removing a channel turns every state that contains it
into null (its rows of Q and r become zero); removal effect = 1 - P_removed / P. The same
solve with r_rev[s] = revenue of paths ending in s / outflow of s gives expected revenue
(a conversion is worth the mean value of conversions from its last state, which is what
ChannelAttribution's simulation draws from), and the revenue removal effects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from app.attribution.models.journeys import Attribution, Journey, channels_of

if TYPE_CHECKING:
    import scipy.sparse as sp

# Below this many transient states a dense LU is faster than building a sparse one; both
# are direct solvers, so the choice never changes the answer beyond float rounding.
DENSE_MAX_STATES = 400
MAX_ORDER = 3

START = 0


@dataclass(frozen=True, slots=True)
class MarkovResult:
    attribution: Attribution
    removal_effects: dict[str, float]
    revenue_removal_effects: dict[str, float]
    p_conversion: float
    states: int


@dataclass(frozen=True, slots=True)
class _Chain:
    q: sp.csr_matrix  # transient -> transient probabilities, start is row 0
    rewards: NDArray[np.float64]  # (states, 2): P(-> conversion), expected revenue on exit
    members: dict[str, NDArray[np.intp]]  # channel -> states whose tuple contains it


def _build_first_order(journeys: Sequence[Journey]) -> _Chain:
    """Order 1, where a state is one channel: the paths become one flat array of channel
    ids and every count is a numpy reduction (the general builder's loop per touch was
    most of the time on a million journeys)."""
    ids: dict[str, int] = {}
    flat: list[int] = []
    lengths: list[int] = []
    flows: list[int] = []
    conv: list[int] = []
    nulls: list[int] = []
    revenue: list[float] = []
    for journey in journeys:
        flow = journey.conversions + journey.nulls
        if flow == 0:
            continue
        flat.extend([ids.setdefault(c, len(ids) + 1) for c in journey.path])
        lengths.append(len(journey.path))
        flows.append(flow)
        conv.append(journey.conversions)
        nulls.append(journey.nulls)
        revenue.append(float(journey.revenue))
    n = len(ids) + 1
    dst = np.asarray(flat, dtype=np.intp)
    length_a = np.asarray(lengths, dtype=np.intp)
    ends = np.cumsum(length_a)
    starts = ends - length_a
    src = np.empty_like(dst)
    if len(dst):
        src[1:] = dst[:-1]
        src[starts] = START  # every path begins at the start state
    weight_a = np.repeat(np.asarray(flows, dtype=np.float64), length_a)
    last_a = dst[ends - 1] if len(dst) else np.zeros(0, dtype=np.intp)
    return _assemble(n, src, dst, weight_a, last_a, conv, nulls, revenue,
                     {c: np.asarray([i], dtype=np.intp) for c, i in ids.items()})  # fmt: skip


def _build_chain(journeys: Sequence[Journey], order: int) -> _Chain:
    if order == 1:
        return _build_first_order(journeys)
    index: dict[tuple[str, ...], int] = {(): START}
    src: list[int] = []
    dst: list[int] = []
    weight: list[int] = []
    last: list[int] = []
    conv: list[int] = []
    nulls: list[int] = []
    revenue: list[float] = []
    for journey in journeys:
        flow = journey.conversions + journey.nulls
        if flow == 0:
            continue
        path = journey.path
        prev = START
        for i in range(len(path)):
            key = path[max(0, i - order + 1) : i + 1]
            state = index.get(key)
            if state is None:
                state = index[key] = len(index)
            src.append(prev)
            dst.append(state)
            weight.append(flow)
            prev = state
        last.append(prev)
        conv.append(journey.conversions)
        nulls.append(journey.nulls)
        revenue.append(float(journey.revenue))

    grouped: dict[str, list[int]] = {}
    for key, state in index.items():
        for channel in set(key):
            grouped.setdefault(channel, []).append(state)
    members = {c: np.asarray(s, dtype=np.intp) for c, s in grouped.items()}
    return _assemble(
        len(index),
        np.asarray(src, dtype=np.intp),
        np.asarray(dst, dtype=np.intp),
        np.asarray(weight, dtype=np.float64),
        np.asarray(last, dtype=np.intp),
        conv,
        nulls,
        revenue,
        members,
    )


def _assemble(
    n: int,
    src_a: NDArray[np.intp],
    dst_a: NDArray[np.intp],
    weight_a: NDArray[np.float64],
    last_a: NDArray[np.intp],
    conv: list[int],
    nulls: list[int],
    revenue: list[float],
    members: dict[str, NDArray[np.intp]],
) -> _Chain:
    """Counts to probabilities: Q (transient to transient) and the exit rewards."""
    import scipy.sparse as sp  # here, not at import: every CLI command and the core load us

    conv_out = np.bincount(last_a, weights=np.asarray(conv, dtype=np.float64), minlength=n)
    null_out = np.bincount(last_a, weights=np.asarray(nulls, dtype=np.float64), minlength=n)
    rev_out = np.bincount(last_a, weights=np.asarray(revenue, dtype=np.float64), minlength=n)
    outflow = np.bincount(src_a, weights=weight_a, minlength=n) + conv_out + null_out
    # Only the start state can have no outflow (no journey with any flow); keep it solvable.
    outflow[outflow == 0] = 1.0

    q = sp.coo_matrix(
        (weight_a / outflow[src_a], (src_a, dst_a)), shape=(n, n)
    ).tocsr()  # duplicates (same transition from many paths) are summed here
    rewards = np.column_stack([conv_out / outflow, rev_out / outflow])
    return _Chain(q, rewards, members)


def _from_start(
    q: sp.csr_matrix, rewards: NDArray[np.float64], removed: NDArray[np.intp] | None
) -> NDArray[np.float64]:
    """Expected (conversion, revenue) absorbed from the start state, some states removed."""
    n = q.shape[0]
    keep = np.ones(n)
    if removed is not None:
        keep[removed] = 0.0
    # A removed state leaks everything to null: zero its outgoing row and its rewards.
    r = rewards * keep[:, None]
    if n <= DENSE_MAX_STATES:
        a = np.eye(n) - keep[:, None] * q.toarray()
        return np.linalg.solve(a, r)[START]
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    a = (sp.identity(n, format="csc") - sp.diags(keep) @ q).tocsc()
    return splu(a).solve(r)[START]


def markov(journeys: Sequence[Journey], order: int = 1) -> MarkovResult:
    """Removal-effect attribution from an exact order-`order` (1..3) Markov chain.

    conversions_c = total conversions * RE_c / sum(RE); revenue likewise with the revenue
    removal effects. Channels that only appear in journeys without conversions or nulls,
    or whose removal changes nothing, get 0.
    """
    if not 1 <= order <= MAX_ORDER:
        raise ValueError(f"order must be between 1 and {MAX_ORDER}")
    channels = channels_of(journeys)
    total_conv = float(sum(j.conversions for j in journeys))
    total_rev = sum(float(j.revenue) for j in journeys)
    chain = _build_chain(journeys, order)
    base = _from_start(chain.q, chain.rewards, None)

    effects = dict.fromkeys(channels, 0.0)
    rev_effects = dict.fromkeys(channels, 0.0)
    for channel, states in chain.members.items():
        removed = _from_start(chain.q, chain.rewards, states)
        if base[0] > 0:
            effects[channel] = float(1.0 - removed[0] / base[0])
        if base[1] != 0:
            rev_effects[channel] = float(1.0 - removed[1] / base[1])

    conversions = _share(effects, total_conv)
    revenue = _share(rev_effects, total_rev)
    return MarkovResult(
        attribution=Attribution(f"markov_order_{order}", conversions, revenue),
        removal_effects=effects,
        revenue_removal_effects=rev_effects,
        p_conversion=float(base[0]),
        states=chain.q.shape[0],
    )


def _share(effects: dict[str, float], total: float) -> dict[str, float]:
    weight = sum(effects.values())
    if weight == 0:
        return dict.fromkeys(effects, 0.0)
    return {c: total * e / weight for c, e in effects.items()}
