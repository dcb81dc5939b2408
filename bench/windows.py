"""Percentiles of latencies, overall and per window of the run (a slowdown shows in the later
windows, which one overall figure hides)."""

import math

WINDOW_S = 10.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.nan


def windowed(
    samples: list[tuple[float, float]], started: float, seconds: float, q: float = 0.99
) -> list[float]:
    """The Q-th percentile of each WINDOW_S window of SAMPLES, (start time in epoch seconds,
    latency in ms) pairs, over the SECONDS from STARTED; a window without samples is left out."""
    windows: dict[int, list[float]] = {}
    for at, ms in samples:
        if 0 <= at - started < seconds:
            windows.setdefault(int((at - started) // WINDOW_S), []).append(ms)
    return [round(percentile(windows[w], q), 1) for w in sorted(windows)]
