"""Arrival processes: when a tenant's requests arrive, drawn up front as sorted numpy arrays.

Every generator takes a numpy `Generator` (seeded per tenant by the scenario, so a run is
deterministic and a subset of tenants sees the same requests), the window [start, stop) and a
load `scale` (a common factor on the rates, what `fv cloud capacity` varies):

1. `poisson`: rate steps [(from s, req/s)]; per step a Poisson count, uniform times (exact).
2. `gamma`: a renewal process with Gamma gaps of mean 1/rate and coefficient of variation
   `cv` (shape 1/cv^2): cv 1 is Poisson, cv > 1 bursts (the serving papers' standard bursty
   load). Gaps are drawn in blocks with numpy; a rate step restarts the process.
3. `onoff`: a Markov-modulated Poisson process with two states: on (Poisson at `rate`) and off
   (silent), exponential sojourns of mean `on_s` and `off_s`. Mean rate
   rate * on_s / (on_s + off_s); squared CV of the gaps 1 + 2 rate a / (a + b)^2 with
   a = 1/on_s, b = 1/off_s (an interrupted Poisson process).
4. `replay`: a list of arrival times; `scale` compresses time (times / scale), the usual way to
   replay a trace at a higher rate.
5. `per_minute`: per-minute counts (the Azure Functions invocation-trace layout, read by
   `azure_counts`): minute m's count, times `scale` (a fractional count is rounded by a
   Poisson draw of that mean), is spread over [m, m+1) x `minute_s` with Gamma gaps of CV
   `cv` rescaled to fill the minute (cv 1: uniform, as Poisson within the minute).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from itertools import pairwise
from pathlib import Path

import numpy as np

from fvir.errors import UserError

Steps = Sequence[tuple[float, float]]
MAX_REQUESTS = 50_000_000  # ~1.2 GB of request arrays: beyond it a scenario is a mistake


def _windows(steps: Steps, start: float, stop: float, scale: float):
    """(lo, hi, rate) of each positive rate step inside [start, stop)."""
    for (t0, rate), (t1, _) in pairwise([*steps, (math.inf, 0.0)]):
        lo, hi = max(t0, start), min(t1, stop)
        if rate > 0 and hi > lo:
            yield lo, hi, rate * scale


def _check_count(expected: float, where: str) -> None:
    if not expected <= MAX_REQUESTS:  # also catches nan and inf
        raise UserError(f"{where}: {expected:.3g} requests expected, more than the "
                        f"{MAX_REQUESTS:.0e} a simulation holds (lower the load or duration)")


def poisson(rng: np.random.Generator, steps: Steps, start: float, stop: float,
            scale: float = 1.0, where: str = "poisson") -> np.ndarray:
    parts = []
    for lo, hi, rate in _windows(steps, start, stop, scale):
        _check_count(rate * (hi - lo), where)
        parts.append(np.sort(rng.uniform(lo, hi, rng.poisson(rate * (hi - lo)))))
    return np.concatenate(parts) if parts else np.zeros(0)


def _gamma_times(rng: np.random.Generator, rate: float, cv: float, lo: float, hi: float,
                 where: str) -> np.ndarray:
    """Renewal times in [lo, hi) with Gamma gaps (mean 1/rate, CV cv)."""
    _check_count(rate * (hi - lo), where)
    shape = 1.0 / (cv * cv)
    mean_n = rate * (hi - lo)
    times, t = [], lo
    while t < hi:  # blocks of ~the expected count: one or two rounds
        block = int(mean_n + 6 * math.sqrt(mean_n + 1) * max(cv, 1.0)) + 16
        gaps = rng.gamma(shape, 1.0 / (rate * shape), block)
        ts = t + np.cumsum(gaps)
        times.append(ts[ts < hi])
        t = float(ts[-1])
    return np.concatenate(times)


def gamma(rng: np.random.Generator, steps: Steps, cv: float, start: float, stop: float,
          scale: float = 1.0, where: str = "gamma") -> np.ndarray:
    parts = [_gamma_times(rng, rate, cv, lo, hi, where)
             for lo, hi, rate in _windows(steps, start, stop, scale)]
    return np.concatenate(parts) if parts else np.zeros(0)


def onoff(rng: np.random.Generator, steps: Steps, on_s: float, off_s: float, start: float,
          stop: float, scale: float = 1.0, where: str = "onoff") -> np.ndarray:
    """On/off MMPP (module docstring); the on-state rate follows `steps`, and a step
    restarts the process."""
    parts = []
    for lo, hi, rate in _windows(steps, start, stop, scale):
        _check_count(rate * (hi - lo) * on_s / (on_s + off_s), where)
        # Stationary start: on with probability on_s / (on_s + off_s).
        on = rng.random() < on_s / (on_s + off_s)
        t = lo
        while t < hi:
            length = rng.exponential(on_s if on else off_s)
            if on:
                end = min(t + length, hi)
                parts.append(np.sort(rng.uniform(t, end, rng.poisson(rate * (end - t)))))
            t += length
            on = not on
    return np.concatenate(parts) if parts else np.zeros(0)


def replay(times: np.ndarray, start: float, stop: float, scale: float = 1.0) -> np.ndarray:
    scaled = np.sort(np.asarray(times, np.float64)) / scale
    return scaled[(scaled >= start) & (scaled < stop)]


def per_minute(rng: np.random.Generator, counts: np.ndarray, minute_s: float, cv: float,
               start: float, stop: float, scale: float = 1.0,
               where: str = "trace") -> np.ndarray:
    expected = np.asarray(counts, np.float64) * scale
    _check_count(float(expected.sum()), where)
    whole = np.allclose(expected, np.round(expected))
    ns = np.round(expected).astype(np.int64) if whole else rng.poisson(expected)
    parts = []
    shape = 1.0 / (cv * cv)
    for m, n in enumerate(ns):
        lo = m * minute_s
        if n == 0 or lo >= stop:
            continue
        if cv == 1.0:
            offsets = np.sort(rng.uniform(0.0, 1.0, n))
        else:  # n gaps of the renewal process (and the tail to the minute's end), rescaled
            gaps = rng.gamma(shape, 1.0, n + 1)
            offsets = np.cumsum(gaps)[:-1] / gaps.sum()
        parts.append(lo + offsets * minute_s)
    times = np.concatenate(parts) if parts else np.zeros(0)
    return times[(times >= start) & (times < stop)]


def azure_counts(path: str | Path, function: str | int, where: str = "trace") -> np.ndarray:
    """Per-minute invocation counts of one function from a file in the Azure Functions trace
    layout (`invocations_per_function_md.anon.d*.csv`: HashOwner, HashApp, HashFunction,
    Trigger, then one column per minute "1".."1440"). `function` is a HashFunction value or a
    0-based row index."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise UserError(f"{where}: cannot read trace {path}: {e.strerror or e}") from None
    if not rows or rows[0][:4] != ["HashOwner", "HashApp", "HashFunction", "Trigger"]:
        raise UserError(f"{where}: {path} is not in the Azure Functions invocation layout "
                        "(HashOwner,HashApp,HashFunction,Trigger,1,2,...)")
    body = rows[1:]
    if isinstance(function, int):
        if not 0 <= function < len(body):
            raise UserError(f"{where}: function index {function} outside the {len(body)} rows")
        row = body[function]
    else:
        found = [r for r in body if len(r) > 2 and r[2] == function]
        if not found:
            raise UserError(f"{where}: no function '{function}' in {path}")
        row = found[0]
    try:
        counts = np.asarray([float(x) for x in row[4:]], np.float64)
    except ValueError:
        raise UserError(f"{where}: {path}: a per-minute count is not a number") from None
    if (counts < 0).any() or not np.isfinite(counts).all():
        raise UserError(f"{where}: {path}: per-minute counts must be finite and >= 0")
    return counts
