"""Numbers about accuracy curves: threshold crossings, spreads and the standard-vs-cot comparison.

Pure functions of arrays (no files, no Markdown): the document renders what they return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

THRESHOLDS = (0.5, 0.8)


def first_step_reaching(steps: np.ndarray, values: np.ndarray, threshold: float) -> int | None:
    """The first step whose value is >= ``threshold`` (None: never)."""
    hits = np.flatnonzero(np.asarray(values) >= threshold)
    return int(np.asarray(steps)[hits[0]]) if len(hits) else None


def mean_steps(steps: list[int | None], cap: int) -> float:
    """Mean first-crossing step, counting a seed that never crossed as the last step (a lower bound)."""
    return float(np.mean([cap if s is None else s for s in steps]))


def reached(steps: list[int | None]) -> int:
    return sum(s is not None for s in steps)


@dataclass(frozen=True)
class Comparison:
    """Standard vs cot on one card: final accuracies, crossings, areas under the curve, a category.

    ``category`` is ``untested`` (no seed crossed the lowest threshold), ``agrees`` (every cot
    seed's area under the curve above every standard seed's), ``against`` (the reverse) or
    ``overlap``.
    """

    last_step: int
    n_seeds: int
    majority_share: float
    final_cot: np.ndarray
    final_std: np.ndarray
    crossings_cot: dict[float, list[int | None]]
    crossings_std: dict[float, list[int | None]]
    auc_cot: np.ndarray
    auc_std: np.ndarray
    category: str

    @property
    def lowest(self) -> float:
        return min(self.crossings_cot)


def compare(
    cot: np.ndarray,
    std: np.ndarray,
    crossings_cot: dict[float, list[int | None]],
    crossings_std: dict[float, list[int | None]],
    last_step: int,
    n_seeds: int,
    majority_share: float,
) -> Comparison:
    """``cot``/``std``: answer accuracy ``[seed, step]`` on shared evaluation steps."""
    # Area under the accuracy curve (mean over evaluations): one number for "how early and how high".
    auc_c, auc_s = cot.mean(axis=1), std.mean(axis=1)
    lowest = min(crossings_cot)
    # A transition happened if some seed crossed the lowest threshold; without one there is nothing to time.
    if not any(x is not None for x in crossings_cot[lowest] + crossings_std[lowest]):
        category = "untested"
    elif auc_c.min() > auc_s.max():
        category = "agrees"
    elif auc_c.max() < auc_s.min():
        category = "against"
    else:
        category = "overlap"
    return Comparison(
        last_step, n_seeds, majority_share, cot[:, -1], std[:, -1], crossings_cot, crossings_std, auc_c, auc_s, category
    )


# ---- transition speed ------------------------------------------------------------------------
MIN_RISE = 0.2  # a fitted curve that rises less than this has no transition to time


@dataclass(frozen=True)
class LogisticFit:
    """``acc(t) = low + (high - low) / (1 + exp(-(log10 t - mid) / width))`` fitted by least squares.

    ``transition_step = 10**mid`` is the step halfway between ``low`` and ``high``; it is
    ``None`` when the curve rises less than :data:`MIN_RISE` or its midpoint lies outside the
    evaluated steps (no transition was observed, whatever the fit extrapolates).
    """

    mid: float
    width: float
    low: float
    high: float
    rmse: float
    first_step: int
    last_step: int

    @property
    def transition_step(self) -> float | None:
        if self.high - self.low < MIN_RISE:
            return None
        if not np.log10(self.first_step) <= self.mid <= np.log10(self.last_step):
            return None
        return float(10**self.mid)

    def predict(self, steps: np.ndarray) -> np.ndarray:
        x = np.log10(np.asarray(steps, dtype=float))
        return self.low + (self.high - self.low) / (1 + np.exp(-(x - self.mid) / self.width))


def logistic_fit(steps: np.ndarray, values: np.ndarray, grid: int = 121) -> LogisticFit:
    """Fits accuracy against log10(step) on steps > 0.

    For each (mid, width) on a grid the curve is linear in (low, high), solved exactly by least
    squares (then clipped to [0, 1]); the best grid point wins. Deterministic, no optimiser to
    diverge, and a flat curve gives high - low near 0 instead of a spurious transition.
    """
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    keep = steps > 0
    x, y = np.log10(steps[keep]), values[keep]
    if len(x) < 3:
        raise ValueError(f"a logistic fit needs at least 3 evaluations at steps > 0; got {len(x)}")
    span = x.max() - x.min()
    best = None
    for mid in np.linspace(x.min() - 0.1 * span, x.max() + 0.1 * span, grid):
        for width in span * np.array([0.01, 0.02, 0.04, 0.07, 0.1, 0.15, 0.2, 0.3, 0.45]):
            s = 1 / (1 + np.exp(-(x - mid) / width))
            design = np.stack([1 - s, s], axis=1)
            (low, high), *_ = np.linalg.lstsq(design, y, rcond=None)
            low, high = float(np.clip(low, 0, 1)), float(np.clip(high, 0, 1))
            rmse = float(np.sqrt(np.mean((low + (high - low) * s - y) ** 2)))
            if best is None or rmse < best[0] - 1e-12:
                best = (rmse, mid, width, low, high)
    rmse, mid, width, low, high = best
    return LogisticFit(float(mid), float(width), low, high, rmse, int(steps[keep][0]), int(steps[keep][-1]))


# ---- significance ------------------------------------------------------------------------------
def permutation_test(a, b, alternative: str = "two-sided") -> float:
    """Two-sample permutation test of the difference of means (every split of the pooled values, or
    :data:`N_RESAMPLES` sampled splits, seed 0, beyond :data:`EXACT_LIMIT` of them).

    ``alternative``: ``"less"`` tests mean(a) < mean(b), ``"greater"`` the reverse. With n values
    per side the smallest attainable two-sided p is 2 / C(2n, n) (0.1 for n = 3).
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    null, exact = _split_null(a, b, np.random.default_rng(0))
    return _permutation_p(null, exact, a.mean() - b.mean(), alternative)


def paired_permutation_test(a, b, alternative: str = "two-sided") -> float:
    """Exact sign-flip test of the mean paired difference ``a - b`` (pairs share a task seed).

    The smallest attainable two-sided p is 2 / 2**n (0.25 for n = 3). Beyond 16 pairs the sign
    patterns are sampled (:data:`N_RESAMPLES`, seed 0) instead of enumerated.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    null, exact = _sign_flip_null(d, np.random.default_rng(0))
    return _permutation_p(null, exact, d.mean(), alternative)


def _permutation_p(null: np.ndarray, exact: bool, observed: float, alternative: str = "two-sided") -> float:
    """The share of the null at least as extreme as ``observed``. A sampled null leaves out the
    observed labelling; counting it keeps p > 0 and the test valid."""
    tol = 1e-12
    if alternative == "two-sided":
        hits = int((np.abs(null) >= abs(observed) - tol).sum())
    elif alternative == "less":
        hits = int((null <= observed + tol).sum())
    elif alternative == "greater":
        hits = int((null >= observed - tol).sum())
    else:
        raise ValueError(f"alternative must be 'two-sided', 'less' or 'greater'; got {alternative!r}")
    return hits / len(null) if exact else (hits + 1) / (len(null) + 1)


def ranges_separate(a, b) -> bool:
    """Every value of one group lies strictly on one side of every value of the other."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return bool(a.max() < b.min() or b.max() < a.min())


# ---- effects with intervals --------------------------------------------------------------------
EXACT_LIMIT = 1 << 16  # null distributions up to this size are enumerated; larger ones are sampled
N_RESAMPLES = 10_000  # bootstrap resamples and sampled null draws
LEVEL = 0.95


@dataclass(frozen=True)
class Effect:
    """A difference of means with its percentile-bootstrap interval and permutation p-value.

    From :func:`paired_effect`: the mean of ``a - b`` over pairs, tested by sign flips, with
    Cohen's ``d_z`` (mean difference / sd of the differences) and its bootstrap interval. From
    :func:`stratified_effect` (a two-sample or stratified contrast): the mean over strata of
    ``mean(a) - mean(b)``, tested by relabelling within each stratum; ``dz`` is None. ``p_floor`` is the smallest p the design can attain
    (with 5 pairs: 2 / 2**5 = 0.0625), so a p at the floor is as strong as the data can say.
    """

    n: int  # pairs (paired) or values in all strata together
    mean: float
    low: float
    high: float
    p: float
    p_floor: float
    exact: bool  # the null was enumerated (else sampled with a fixed seed)
    dz: float | None = None
    dz_low: float | None = None
    dz_high: float | None = None

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


def cohens_dz(d) -> float:
    """Mean paired difference / sample sd of the differences (nan for < 2 pairs; 0 when all are 0; +-inf when all equal)."""
    d = np.asarray(d, dtype=float)
    if len(d) < 2:
        return float("nan")
    return float(_dz(d.mean(), d.std(ddof=1), _tolerance(d)))


def _tolerance(d: np.ndarray) -> float:
    # equal differences leave an sd of rounding noise, not a spread: below this it counts as 0
    return 1e-9 * max(1.0, float(np.abs(d).max()))


def _dz(means, sds, tol: float):
    """mean / sd, with sd <= tol read as 0: +-inf for a constant non-zero difference, 0 when all are zero."""
    means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
    spread = sds > tol
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(spread, means / np.where(spread, sds, 1.0), np.sign(means) * np.inf)
    return np.where(~spread & (np.abs(means) <= tol), 0.0, out)


def _interval(values: np.ndarray, level: float) -> tuple[float, float]:
    # inverted_cdf picks resampled values (no interpolation), so infinite d_z draws stay well defined
    tail = (1 - level) / 2
    low, high = np.quantile(values, [tail, 1 - tail], method="inverted_cdf")
    return float(low), float(high)


def _sign_flip_null(d: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    if 2 ** len(d) <= EXACT_LIMIT:
        signs = np.array(np.meshgrid(*[[1.0, -1.0]] * len(d))).reshape(len(d), -1).T
        return (signs * d).mean(axis=1), True
    signs = rng.choice([1.0, -1.0], size=(N_RESAMPLES, len(d)))
    return (signs * d).mean(axis=1), False


def _floor(null: np.ndarray, exact: bool) -> float:
    # sampled: the observed labelling alone can be as extreme
    return _permutation_p(null, exact, float(np.abs(null).max())) if exact else 1 / (len(null) + 1)


def paired_effect(a, b, seed: int = 0, level: float = LEVEL) -> Effect:
    """Mean of ``a - b`` over pairs: bootstrap CI (pairs resampled), d_z with its CI, sign-flip p (two-sided)."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if len(d) == 0:
        raise ValueError("a paired effect needs at least one pair")
    rng = np.random.default_rng(seed)
    samples = d[rng.integers(0, len(d), size=(N_RESAMPLES, len(d)))]
    means = samples.mean(axis=1)
    low, high = _interval(means, level)
    dz = cohens_dz(d)
    dz_low = dz_high = float("nan")
    if len(d) >= 2:
        dz_low, dz_high = _interval(_dz(means, samples.std(axis=1, ddof=1), _tolerance(d)), level)
    null, exact = _sign_flip_null(d, rng)
    p = _permutation_p(null, exact, float(d.mean()))
    return Effect(len(d), float(d.mean()), low, high, p, _floor(null, exact), exact, dz, dz_low, dz_high)


def _split_null(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    """``mean(a') - mean(b')`` over relabellings of one stratum's pooled values (all, or sampled)."""
    from itertools import combinations
    from math import comb

    pooled, n = np.concatenate([a, b]), len(a)
    if comb(len(pooled), n) <= EXACT_LIMIT:
        sums = np.array([pooled[list(c)].sum() for c in combinations(range(len(pooled)), n)])
        return sums / n - (pooled.sum() - sums) / len(b), True
    chosen = np.argsort(rng.random((N_RESAMPLES, len(pooled))), axis=1)[:, :n]
    sums = pooled[chosen].sum(axis=1)
    return sums / n - (pooled.sum() - sums) / len(b), False


def stratified_effect(strata, seed: int = 0, level: float = LEVEL) -> Effect:
    """Mean over strata of ``mean(a) - mean(b)`` for independent groups ``[(a, b), ...]``.

    The bootstrap resamples each group within its stratum; the permutation test relabels values
    within each stratum only (a stratum's null is enumerated when small; strata are independent,
    so the pooled null is the average of one draw per stratum, enumerated when the product of
    their sizes is small and sampled otherwise). One stratum is the plain two-sample test.
    """
    strata = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in strata]
    if not strata or any(len(a) == 0 or len(b) == 0 for a, b in strata):
        raise ValueError("every stratum needs values on both sides")
    rng = np.random.default_rng(seed)
    observed = float(np.mean([a.mean() - b.mean() for a, b in strata]))
    boot = np.zeros(N_RESAMPLES)
    for a, b in strata:
        boot += a[rng.integers(0, len(a), (N_RESAMPLES, len(a)))].mean(axis=1)
        boot -= b[rng.integers(0, len(b), (N_RESAMPLES, len(b)))].mean(axis=1)
    low, high = _interval(boot / len(strata), level)
    nulls = [_split_null(a, b, rng) for a, b in strata]
    exact = all(e for _, e in nulls) and int(np.prod([len(n) for n, _ in nulls], dtype=float)) <= EXACT_LIMIT
    if exact:
        null = np.zeros(1)
        for n, _ in nulls:
            null = (null[:, None] + n[None, :]).ravel()
    else:
        null = sum(n[rng.integers(0, len(n), N_RESAMPLES)] for n, _ in nulls)
    null = null / len(strata)
    n_values = sum(len(a) + len(b) for a, b in strata)
    return Effect(n_values, observed, low, high, _permutation_p(null, exact, observed), _floor(null, exact), exact)
