"""pipeline.judge.statistics: exact small cases worked by hand, coverage on simulated data, seeds,
the verdict rule's boundaries and the exact error messages."""
from __future__ import annotations

import math

import numpy as np
import pytest

from pipeline.judge.statistics import (
    RatioEstimate,
    bootstrap_ratio_of_medians,
    judge_ratio,
    lag1_autocorrelation,
    mann_whitney_p,
    median_ci,
    process_ratio,
)


@pytest.mark.parametrize(("n", "confidence", "expected"), [
    # 2 P(B(8, 1/2) <= 0) = 2/256 = 0.0078 <= 0.01, so rank 1 (min, max); rank 2 would miss
    # with 2 * 9/256 = 0.070.
    (8, 0.99, (1, 8)),
    # n = 10, 95%: rank 2 misses with 2 * 11/1024 = 0.021, rank 3 with 2 * 56/1024 = 0.109.
    (10, 0.95, (2, 9)),
    # n = 20, 99%: P(B <= 3) = 1351/2^20 (miss 0.0026), P(B <= 4) = 6196/2^20 (miss 0.0118).
    (20, 0.99, (4, 17)),
    # n = 30, 99%: P(B <= 7) = 0.0026 (miss 0.0052), P(B <= 8) = 0.0081 (miss 0.016).
    (30, 0.99, (8, 23)),
])
def test_median_ci_order_statistics(n: int, confidence: float, expected: tuple[int, int]) -> None:
    values = np.random.default_rng(n).permutation(np.arange(1, n + 1, dtype=float))
    assert median_ci(values, confidence) == expected


def test_median_ci_coverage_equal_to_confidence_is_enough() -> None:
    # min..max of 8 values covers the median with exactly 1 - 2/256 = 0.9921875.
    assert median_ci(range(8), 0.9921875) == (0, 7)
    with pytest.raises(ValueError, match="8 values are too few"):
        median_ci(range(8), 0.9921876)


@pytest.mark.parametrize(("n", "message"), [
    (0, "0 values are too few for a 99% confidence interval of the median (even min to max "
        "covers it with only 0%); at least 8 values are needed"),
    (7, "7 values are too few for a 99% confidence interval of the median (even min to max "
        "covers it with only 98.44%); at least 8 values are needed"),
])
def test_median_ci_too_few_values(n: int, message: str) -> None:
    with pytest.raises(ValueError) as info:
        median_ci(range(n), 0.99)
    assert str(info.value) == message


def test_median_ci_bad_confidence() -> None:
    with pytest.raises(ValueError) as info:
        median_ci(range(10), 99)
    assert str(info.value) == "confidence 99 must be between 0 and 1 (e.g. 0.99)"


def test_median_ci_covers_the_true_median_at_its_confidence() -> None:
    """2000 seeded samples of 20 skewed values: the 99% interval (exact coverage 0.9974 for
    n = 20) must cover the true median in about that fraction of them."""
    rng = np.random.default_rng(0)
    samples = rng.lognormal(mean=0.0, sigma=0.5, size=(2000, 20))  # true median exp(0) = 1
    covered = [low <= 1.0 <= high for low, high in (median_ci(s, 0.99) for s in samples)]
    assert 0.99 <= np.mean(covered) <= 1.0
    assert not all(covered)  # a real interval, not the whole line


def test_process_ratio_exact() -> None:
    """Per process pair, the median of its pairs' ratios; then their geometric mean, with a
    Student-t interval on the log scale over the process pairs."""
    reference = [10.0] * 16
    ratios = [1.0, 1.02, 1.05, 1.07, 1.1, 1.1, 1.2, 1.22, 0.9, 0.94, 1.02, 1.04, 1.04, 1.08,
              3.0, 3.2]
    process = [i // 2 for i in range(16)]
    # process medians 1.01 1.06 1.1 1.21 0.92 1.03 1.06 3.1; their log mean and t(7) interval
    medians = np.log([1.01, 1.06, 1.1, 1.21, 0.92, 1.03, 1.06, 3.1])
    half = 3.4994833 * medians.std(ddof=1) / math.sqrt(8)  # t(0.995, 7 degrees of freedom)
    estimate = process_ratio(reference, [10.0 * r for r in ratios], process, confidence=0.99)
    assert estimate == RatioEstimate(
        ratio=pytest.approx(math.exp(medians.mean())),
        ci_low=pytest.approx(math.exp(medians.mean() - half)),
        ci_high=pytest.approx(math.exp(medians.mean() + half)), confidence=0.99)
    assert (round(estimate.ratio, 4), round(estimate.ci_low, 4), round(estimate.ci_high, 4)) \
        == (1.2047, 0.7439, 1.951)


def test_a_process_whose_every_pair_is_slow_counts_once_not_per_pair() -> None:
    """A quarter of the pairs 1.2x slower, all in one process pair of four: pair by pair it
    would look like a certain slowdown of some pairs; process by process it is one value of
    four, and the interval, over processes, spans 1 widely."""
    reference = [1e-5] * 64
    process = [(i // 2) % 4 for i in range(64)]
    candidate = [1.2e-5 if p == 0 else 1e-5 for p in process]
    estimate = process_ratio(reference, candidate, process, confidence=0.99)
    assert estimate.ci_low < 1 < estimate.ci_high
    assert estimate.ratio == pytest.approx(1.2 ** 0.25)


def test_process_ratio_is_paired() -> None:
    """A load change that slows both members of a pair cancels: the ratio stays exactly 1.1
    however much the pairs differ from each other."""
    reference = np.geomspace(1e-6, 1e-4, 16)
    estimate = process_ratio(reference, reference * 1.1, [i // 2 for i in range(16)],
                                    confidence=0.99)
    assert (estimate.ratio, estimate.ci_low, estimate.ci_high) == pytest.approx((1.1, 1.1, 1.1))


@pytest.mark.parametrize(("reference", "candidate", "process", "message"), [
    ([1.0] * 8, [1.0] * 9, list(range(8)),
     "paired values need equal lengths, got 8 reference, 9 candidate values and 8 process "
     "labels"),
    ([1.0] * 7 + [0.0], [1.0] * 8, list(range(8)),
     "reference holds 0.0; latency values must be finite and positive"),
    ([1.0] * 8, [1.0] * 7 + [math.nan], list(range(8)),
     "candidate holds nan; latency values must be finite and positive"),
    ([1.0] * 8, [1.0] * 8, [0] * 8,
     "1 process pair gives no interval over processes; at least 2 are needed"),
])
def test_process_ratio_refuses(reference: list[float], candidate: list[float],
                                      process: list[int], message: str) -> None:
    with pytest.raises(ValueError) as info:
        process_ratio(reference, candidate, process, confidence=0.99)
    assert str(info.value) == message


def test_bootstrap_ratio_of_medians() -> None:
    rng = np.random.default_rng(1)
    reference = rng.lognormal(np.log(10e-6), 0.05, 25)
    candidate = rng.lognormal(np.log(11e-6), 0.05, 25)
    estimate = bootstrap_ratio_of_medians(reference, candidate, confidence=0.99)
    assert estimate.ratio == pytest.approx(np.median(candidate) / np.median(reference))
    assert estimate.ci_low < estimate.ratio < estimate.ci_high
    assert 1.0 < estimate.ci_low and estimate.ci_high < 1.25
    assert estimate.confidence == 0.99


def test_bootstrap_is_seeded() -> None:
    rng = np.random.default_rng(2)
    reference, candidate = rng.lognormal(0, 0.1, 30), rng.lognormal(0, 0.1, 30)
    first = bootstrap_ratio_of_medians(reference, candidate, confidence=0.99, seed=7)
    assert bootstrap_ratio_of_medians(reference, candidate, confidence=0.99, seed=7) == first
    other = bootstrap_ratio_of_medians(reference, candidate, confidence=0.99, seed=8)
    assert other.ratio == first.ratio and other.ci_low != first.ci_low


def test_bootstrap_covers_the_true_ratio() -> None:
    """Independent sides of 25 skewed values each, true ratio 1.1: the 99% percentile interval
    covers it in nearly all of 200 seeded trials (the percentile bootstrap runs slightly below
    its nominal level for small samples, hence the loose bound)."""
    rng = np.random.default_rng(3)
    covered = []
    for trial in range(200):
        reference = rng.lognormal(0.0, 0.3, 25)
        candidate = rng.lognormal(np.log(1.1), 0.3, 25)
        estimate = bootstrap_ratio_of_medians(reference, candidate, confidence=0.99,
                                              resamples=2000, seed=trial)
        covered.append(estimate.ci_low <= 1.1 <= estimate.ci_high)
    assert np.mean(covered) >= 0.96


@pytest.mark.parametrize(("ratio", "ci_low", "ci_high", "verdict"), [
    (1.06, 1.01, 1.10, "regressed"),
    (1.05, 1.01, 1.10, "ok"),          # ratio at the factor, not beyond it
    (1.50, 1.00, 2.00, "ok"),          # far beyond the factor, but the interval reaches 1
    (1.50, 0.80, 2.00, "ok"),
    (1.03, 1.01, 1.05, "ok"),          # certainly slower, but by less than the factor
    (1 / 1.06, 0.90, 0.99, "improved"),
    (1 / 1.05, 0.90, 0.99, "ok"),      # exactly the inverse factor
    (0.50, 0.40, 1.00, "ok"),          # the interval reaches 1
    (1.00, 0.99, 1.01, "ok"),
])
def test_judge_ratio(ratio: float, ci_low: float, ci_high: float, verdict: str) -> None:
    assert judge_ratio(RatioEstimate(ratio, ci_low, ci_high, 0.99), 1.05) == verdict


def test_judge_ratio_refuses_a_factor_below_one() -> None:
    with pytest.raises(ValueError) as info:
        judge_ratio(RatioEstimate(1.0, 1.0, 1.0, 0.99), 0.95)
    assert str(info.value) == "slowdown_max 0.95 must be at least 1 (e.g. 1.05)"


def test_lag1_autocorrelation() -> None:
    # centred -1.5 -0.5 0.5 1.5: (0.75 - 0.25 + 0.75) / 5
    assert lag1_autocorrelation([1, 2, 3, 4]) == pytest.approx(0.25)
    assert lag1_autocorrelation([1, -1, 1, -1]) == pytest.approx(-0.75)
    assert math.isnan(lag1_autocorrelation([2.0, 2.0, 2.0]))
    white = np.random.default_rng(4).normal(size=5000)
    assert abs(lag1_autocorrelation(white)) < 0.05


def test_lag1_autocorrelation_needs_three_values() -> None:
    with pytest.raises(ValueError) as info:
        lag1_autocorrelation([1.0, 2.0])
    assert str(info.value) == "lag-1 autocorrelation needs at least 3 values, got 2"


def test_mann_whitney_p_is_one_sided() -> None:
    reference = [1.0, 1.1, 1.2, 1.3, 1.4, 1.5]
    candidate = [2.0, 2.1, 2.2, 2.3, 2.4, 2.5]
    # all 36 pairs favour the candidate being slower: exact p = 1 / C(12, 6) = 1/924
    assert mann_whitney_p(reference, candidate, slower=True) == pytest.approx(1 / 924)
    assert mann_whitney_p(reference, candidate, slower=False) == pytest.approx(1.0)
