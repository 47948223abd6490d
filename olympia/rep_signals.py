"""The 1-D signals a set's reps are counted on (olympia.counting, steps 3 and 4).

A set is counted on one signal: a projection of its pose features onto the top principal
components of the whole pose, or onto the first principal component of one limb (a one-arm row
moves one arm). `counted_signal` takes the one that repeats best after the set's period and
least after a half or a third of it (it moves once per rep). `compound_period` finds the full
rep of compound reps (a curl trifecta) that the recurrence, weighing directions by their
variance, takes for three reps; `refine_period` puts the scan's period on the full frame rate.
"""
from __future__ import annotations

import numpy as np

from olympia.periodicity import HARMONIC_FRACTION, nsdf, principal_axes, repeat_strength
from olympia.skeleton import (
    HEAD,
    LEFT_ARM,
    LEFT_LEG,
    NECK,
    RIGHT_ARM,
    RIGHT_LEG,
    SPINE,
    THORAX,
)

N_COMPONENTS = 4          # principal components offered as candidate signals
COMPOUND_MIN_RATIO = 0.3  # principal directions this large (vs the first) must all repeat
COMPOUND_MARGIN = 0.25    # a longer lag must repeat this much better to make reps compound
COMPOUND_MAX_MULTIPLE = 4 # a compound rep holds at most this many sub-motions
COMPOUND_MAX_SHARE = 0.55 # ... and at most this share of the set (two reps, edges trimmed)

# Limb signals (joint j is columns 3j..3j+2 of the pose features).
LIMBS = {"torso": (SPINE, THORAX, NECK, HEAD), "left_leg": LEFT_LEG, "right_leg": RIGHT_LEG,
         "left_arm": LEFT_ARM, "right_arm": RIGHT_ARM}


def candidate_directions(x: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Names and unit directions (D, m) in feature space of the candidate 1-D signals of x:
    the top principal components of the whole pose and the first principal component of each
    limb (zero outside the limb's columns), all from one scatter matrix."""
    xc = x - x.mean(axis=0)
    if not np.any(xc):
        return ["pc0"], np.eye(x.shape[1])[:, :1]
    scatter = xc.T @ xc
    _, vt = _axes(scatter)
    names = [f"pc{k}" for k in range(min(N_COMPONENTS, len(vt)))]
    columns = [vt[k] for k in range(len(names))]
    for name, joints in LIMBS.items():
        cols = np.concatenate([np.arange(3 * j, 3 * j + 3) for j in joints])
        block = scatter[np.ix_(cols, cols)]
        if np.trace(block) > 0:
            w = np.zeros(x.shape[1])
            w[cols] = _axes(block)[1][0]
            names.append(name)
            columns.append(w)
    return names, np.stack(columns, axis=1)


def _axes(scatter: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    w, v = np.linalg.eigh(scatter)
    order = np.argsort(w)[::-1]
    return np.sqrt(np.maximum(w[order], 0.0)), v[:, order].T


def candidate_signals(x: np.ndarray) -> dict[str, np.ndarray]:
    """The candidate 1-D signals of x (centred features projected on `candidate_directions`)."""
    names, w = candidate_directions(x)
    return dict(zip(names, ((x - x.mean(axis=0)) @ w).T))


def counted_signal(xs: np.ndarray, period: float, sub_period: float | None = None
                   ) -> tuple[str, np.ndarray, np.ndarray, float]:
    """(name, unit direction (D,), signal (T,), period refined to 0.1 frame) of the candidate
    signal of the set's features xs that repeats best after one period and least after a half
    or a third of it (or after `sub_period`, the sub-motions of compound reps): it moves once
    per rep."""
    names, directions = candidate_directions(xs)
    signals = (xs - xs.mean(axis=0)) @ directions                 # (T, m)
    period = refine_period(signals[:, :N_COMPONENTS], period)
    subs = [period / m for m in (2, 3) if period / m >= 2] if sub_period is None else [sub_period]
    strength_at = repeat_strength(signals, period, *subs)          # (1 + len(subs), m)
    score = strength_at[0] - np.maximum(0.0, strength_at[1:].max(axis=0))
    best = int(np.argmax(score))
    return names[best], directions[:, best], signals[:, best], period


def limb_reaches(x: np.ndarray) -> dict[str, np.ndarray]:
    """Per limb of LIMBS, the distance (T,) from its first joint to its last (shoulder to wrist,
    hip to ankle, spine to head) in pose features x (T, 3J): how far the limb reaches, whichever
    way the skeleton is turned. A video pose estimator's world coordinates turn with the camera
    (a handheld phone tilting during a set), which the joint positions follow and these do not."""
    p = x.reshape(len(x), -1, 3)
    return {f"{name}_reach": np.linalg.norm(p[:, joints[-1]] - p[:, joints[0]], axis=1)
            for name, joints in LIMBS.items()}


def refine_period(signals: np.ndarray, period: float) -> float:
    """The period at full frame rate: the lag within 15% of `period` where the signals (T, m),
    taken together, repeat best (the scan runs at half rate on a 4% grid), to 0.1 frame."""
    lo, hi = max(2, int(period / 1.15)), int(np.ceil(period * 1.15))
    if hi + 1 >= len(signals):
        return period
    r = nsdf(signals - signals.mean(axis=0), hi + 1)
    k = lo + int(np.argmax(r[lo:hi + 1]))
    a, b, c = r[k - 1], r[k], r[k + 1]
    curve = a - 2 * b + c
    shift = 0.5 * (a - c) / curve if curve < 0 else 0.0   # vertex of the parabola through the 3 lags
    return round(float(k + np.clip(shift, -0.5, 0.5)), 1)


def compound_period(xs: np.ndarray, period: float) -> float:
    """`period`, or a longer lag when the set's reps are compound.

    The recurrence weighs pose directions by their variance, so three curl variants that differ
    only in smaller directions look like three reps. Here every significant principal direction
    (singular value >= COMPOUND_MIN_RATIO of the largest) counts equally: a lag up to
    COMPOUND_MAX_MULTIPLE periods that repeats clearly better (by COMPOUND_MARGIN) than
    `period` is the full rep. Every whole lag is tried (a long rep's recurrence peaks within a
    few frames, narrower than the scan's 4% grid), up to COMPOUND_MAX_SHARE of the set: a short
    clip of two compound reps, its edges trimmed by the scan, holds the full rep 1.8 times."""
    xc = xs - xs.mean(axis=0)
    if len(xc) < 4 or not np.any(xc):
        return period
    sv, vt = principal_axes(xc)
    keep = np.flatnonzero(sv >= COMPOUND_MIN_RATIO * sv[0])
    if len(keep) < 2:
        return period
    z = (xc @ vt[keep].T) / sv[keep]
    longest = int(min(COMPOUND_MAX_MULTIPLE * period * 1.1, COMPOUND_MAX_SHARE * len(z)))
    longer = np.arange(int(np.ceil(period * 1.5)), longest + 1)
    if not len(longer):
        return period
    r = nsdf(z, max(int(longer[-1]), int(np.ceil(period * 1.1))))
    base = float(r[_around(period, len(r))].max())
    scores = r[longer]
    if scores.max() < base + COMPOUND_MARGIN:
        return period
    return float(longer[int(np.argmax(scores >= HARMONIC_FRACTION * scores.max()))])


def _around(period: float, n: int) -> slice:
    return slice(max(1, int(period / 1.1)), max(2, min(n, int(np.ceil(period * 1.1)) + 1)))



def counted_trace(x: np.ndarray, name: str, span: tuple[int, int] | None, peaks: np.ndarray) -> np.ndarray:
    """The counted signal `name` (a CountResult's `signal`) over every frame of pose features x
    (T, D), for showing a count: its direction taken over the set's frames `span` as the
    counter takes it, the projection centred on the set, oriented so the reps' `peaks` rise. A
    limb's reach (a short clip's signal) is the reach itself; no signal ("", nothing counted):
    the first principal component of the whole clip."""
    a, b = span if span is not None and name else (0, len(x))
    if name.endswith("_reach"):
        trace = limb_reaches(x)[name]
        trace = trace - trace[a:b].mean()
    else:
        names, directions = candidate_directions(x[a:b])
        k = names.index(name) if name in names else 0   # a limb that does not move there: pc0
        trace = (x - x[a:b].mean(axis=0)) @ directions[:, k]
    peaks = np.asarray(peaks, np.int64)
    if len(peaks) and float(np.mean(trace[peaks])) < float(np.median(trace[a:b])):
        trace = -trace
    return trace
