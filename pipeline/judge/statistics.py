"""The statistics of the latency comparisons, in one module without I/O (like asv's statistics).

Latency verdicts rest on three decisions kept here, so they are tested once and shared by the
history gate (`bench compare`) and the same-machine duel (`bench duel`):

* A verdict needs both a practical and a statistical reason: `judge_ratio` calls a slowdown a
  regression only when the point ratio exceeds the allowed factor AND its confidence interval
  lies wholly above 1. A large ratio from noisy data, or a tiny but certain one, is not enough.
* Intervals are distribution-free. Latency is skewed and heavy-tailed (a preempted block is many
  times slower than the rest), so intervals come from order statistics or the bootstrap, never
  from a normal approximation of the mean.
* Everything random is seeded, so the same inputs always give the same verdict.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

Verdict = Literal["regressed", "improved", "ok"]


@dataclass(frozen=True)
class RatioEstimate:
    """candidate / reference latency (> 1: the candidate is slower) with its confidence
    interval."""

    ratio: float
    ci_low: float
    ci_high: float
    confidence: float


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence {confidence!r} must be between 0 and 1 (e.g. 0.99)")


def _positive(values: Sequence[float], name: str) -> np.ndarray:
    """`values` as a float array; latency values must be finite and positive, since they are
    divided by and a zero or negative time is a measurement error, not a fast model."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty sequence of numbers, got {array.size} values")
    bad = array[~(np.isfinite(array) & (array > 0))]
    if bad.size:
        raise ValueError(f"{name} holds {float(bad[0])!r}; latency values must be finite and "
                         f"positive")
    return array


def bootstrap_ratio_of_medians(reference: Sequence[float], candidate: Sequence[float], *,
                               confidence: float, resamples: int = 10_000,
                               seed: int = 0) -> RatioEstimate:
    """median(candidate) / median(reference) with a percentile bootstrap interval.

    Each side is resampled on its own: the values are independent repetitions and the two sides
    are separate runs, so there is no pairing to preserve. Seeded, so a verdict is
    reproducible; vectorised: 10,000 resamples of 30 values take ~12 ms here.
    """
    _check_confidence(confidence)
    if resamples < 1:
        raise ValueError(f"resamples {resamples!r} must be at least 1 (10,000 is usual)")
    ref, cand = _positive(reference, "reference"), _positive(candidate, "candidate")
    rng = np.random.default_rng(seed)
    ref_medians = np.median(ref[rng.integers(0, ref.size, (resamples, ref.size))], axis=1)
    cand_medians = np.median(cand[rng.integers(0, cand.size, (resamples, cand.size))], axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(cand_medians / ref_medians, [tail, 1 - tail])
    return RatioEstimate(float(np.median(cand) / np.median(ref)), float(low), float(high),
                         confidence)


def _order_statistic_rank(n: int, confidence: float) -> int:
    """The largest k such that [x_(k), x_(n+1-k)] covers the median with probability >=
    `confidence` for any continuous distribution; 0 when no k does.

    The interval misses the median when fewer than k values fall below it or fewer than k
    above, so its coverage is 1 - 2 P(Binomial(n, 1/2) <= k-1). Computed in exact integer
    arithmetic, so a coverage equal to the confidence counts as enough.
    """
    allowed_miss = (1 - Fraction(confidence)) * 2**n  # 2 * P(B <= k-1) * 2^n may not exceed it
    tail, k = 0, 0
    while k < (n + 1) // 2:
        tail += math.comb(n, k)  # now sum_{j <= k} C(n, j): the miss count of rank k + 1
        if 2 * tail > allowed_miss:
            break
        k += 1
    return k


def median_ci(values: Sequence[float], confidence: float) -> tuple[float, float]:
    """A distribution-free confidence interval of the median: two order statistics whose
    binomial coverage is at least `confidence` (exactly, for continuous data).

    Raises ValueError when there are too few values: even the widest interval, min to max,
    misses the median with probability 2 / 2^n, so 99% needs at least 8 values.
    """
    _check_confidence(confidence)
    array = np.sort(np.asarray(values, dtype=float))
    if array.ndim != 1 or not np.all(np.isfinite(array)):
        raise ValueError("median_ci needs a sequence of finite numbers")
    k = _order_statistic_rank(array.size, confidence)
    if k == 0:
        needed = array.size + 1
        while _order_statistic_rank(needed, confidence) == 0:
            needed += 1
        widest = 1 - 2 / 2**array.size if array.size else 0.0
        raise ValueError(f"{array.size} values are too few for a {confidence * 100:.4g}% "
                         f"confidence interval of the median (even min to max covers it with only "
                         f"{widest * 100:.4g}%); at least {needed} values are needed")
    return float(array[k - 1]), float(array[array.size - k])


def process_ratio(reference: Sequence[float], candidate: Sequence[float],
                  process: Sequence[int], *, confidence: float) -> RatioEstimate:
    """The ratio candidate / reference over worker processes: each process pair's median
    per-pair ratio, their geometric mean, and a Student-t interval of it with the process pair
    as the unit (on the log scale, n - 1 degrees of freedom).

    The pairs timed by one pair of processes share their memory layouts (one ASLR draw, one
    heap history, one placement of code and data), so they are not independent draws of what
    a re-run would see: the process is (Mytkowicz et al., ASPLOS 2009; pyperf's worker
    processes). Taking it as the unit, the interval covers the spread between processes, not
    only the noise between blocks of one; the median within a process keeps one slow block
    from moving it. `process[i]` names the process pair of pair i.
    """
    ref, cand = _positive(reference, "reference"), _positive(candidate, "candidate")
    if not ref.size == cand.size == len(process):
        raise ValueError(f"paired values need equal lengths, got {ref.size} reference, "
                         f"{cand.size} candidate values and {len(process)} process labels")
    _check_confidence(confidence)
    ratios: dict[int, list[float]] = {}
    for label, ratio in zip(process, cand / ref, strict=True):
        ratios.setdefault(int(label), []).append(float(ratio))
    if len(ratios) < 2:
        raise ValueError(f"{len(ratios)} process pair gives no interval over processes; at "
                         f"least 2 are needed")
    from scipy.stats import t as student_t  # here: scipy.stats imports slowly (below)

    logs = np.log([np.median(values) for _, values in sorted(ratios.items())])
    centre = float(logs.mean())
    half = float(student_t.ppf(0.5 + confidence / 2, logs.size - 1)
                 * logs.std(ddof=1) / math.sqrt(logs.size))
    return RatioEstimate(math.exp(centre), math.exp(centre - half), math.exp(centre + half),
                         confidence)


def judge_ratio(estimate: RatioEstimate, slowdown_max: float) -> Verdict:
    """"regressed" when the ratio exceeds `slowdown_max` and the interval lies above 1;
    "improved" when it is below 1 / `slowdown_max` and the interval lies below 1; else "ok".

    Both conditions are needed: beyond the factor means the change matters in practice, the
    interval excluding 1 means it is not noise.
    """
    if not slowdown_max >= 1:
        raise ValueError(f"slowdown_max {slowdown_max!r} must be at least 1 (e.g. 1.05)")
    if estimate.ratio > slowdown_max and estimate.ci_low > 1:
        return "regressed"
    if estimate.ratio < 1 / slowdown_max and estimate.ci_high < 1:
        return "improved"
    return "ok"


def lag1_autocorrelation(values: Sequence[float]) -> float:
    """Correlation of each value with the next, in measurement order: near 0 when consecutive
    values are independent, as the tests above assume; NaN when all values are equal."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size < 3:
        raise ValueError(f"lag-1 autocorrelation needs at least 3 values, got {array.size}")
    centred = array - array.mean()
    denominator = float(np.dot(centred, centred))
    if denominator == 0:
        return math.nan
    return float(np.dot(centred[:-1], centred[1:]) / denominator)


def mann_whitney_p(reference: Sequence[float], candidate: Sequence[float], *,
                   slower: bool) -> float:
    """One-sided Mann-Whitney U p-value that the candidate is slower (`slower`) or faster than
    the reference: rank-based, so no assumption about the shape of the latency distribution."""
    # Imported here: scipy.stats takes ~0.6 s to import, which every `pytest bench` session
    # would pay for a test only the validity scripts and the latency-rule tests use.
    from scipy.stats import mannwhitneyu

    alternative = "greater" if slower else "less"
    return float(mannwhitneyu(candidate, reference, alternative=alternative).pvalue)
