"""Logbook trip detector: throughput on a synthetic year of 1 Hz samples, and peak memory.

The year (365 days x 86,400 s = 31,536,000 samples) is generated lazily, one day at a time, by a
seeded generator: a boat in a marina, moored with GPS jitter and a house load most of the time, and
day trips in the season (May to September, about 45 % of days): motoring out of the harbour with the
engine on, sailing for hours, sometimes a lunch stop at anchor (anchor alarm set, boat swinging),
motoring home to the berth.

Throughput counts only the CPU time (time.process_time, so other load on the machine does not
count) spent in `TripDetector.add()`: each day is generated into a list first (untimed), then fed.
By default a representative fraction of the year is timed (every 12th day, so winter and summer in
their proportions: 31 days, about 10 s); `--full` also runs all 365 days (about a minute of detector
time plus the generation).

Memory: tracemalloc over a lazily generated stream (no list), with `collect=False` (ended trips
leave through events), for 1 day and for 7 days of July (also 30 days with `--full`; under
tracemalloc a day takes a few seconds): the peak while running, what is still allocated at the end
(the detector's state), and the size of its JSON snapshot. Run from the repository:
`.venv/bin/python -m scripts.benchmarks.logbook [--full]`."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
import json
import math
import random
import sys
import time
import tracemalloc

from scripts.benchmarks._common import FIXTURES, REPO, best_time, table

if str(REPO) not in sys.path:  # pragma: no cover - _common already does this
    sys.path.insert(0, str(REPO))

from custom_components.victron_venus.trips.detector import (
    KNOT,
    M_PER_DEG,
    Sample,
    TripDetector,
    TripEnded,
)

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
DAY_S = 86_400
MARINA = (60.1500, 24.9500)
SEED = 2025


def _season(day: int) -> bool:
    return 120 <= day < 273  # May to September


def day_samples(day: int) -> Iterator[Sample]:
    """The 86,400 one-second samples of `day` (0 = 1 January), deterministic."""
    rng = random.Random(SEED * 1000 + day)
    rnd = rng.random
    base = YEAR_START + timedelta(days=day)
    one = timedelta(seconds=1)
    m_lat, m_lon = MARINA
    k_lon = M_PER_DEG * math.cos(math.radians(m_lat))
    house = 30.0 + 40.0 * rnd()
    trip_day = _season(day) and rnd() < 0.45
    depart = int((8.0 + 3.0 * rnd()) * 3600) if trip_day else DAY_S
    # boat state in metres east/north of the berth
    x = y = 0.0
    jx = jy = 0.0  # GPS jitter, a bounded random walk
    heading = rnd() * 2 * math.pi
    plan: list[tuple[str, float, float]] = []  # (kind, seconds, knots)
    if trip_day:
        plan = [("motor", 900 + 600 * rnd(), 4.0), ("sail", 5400 + 7200 * rnd(), 5.5)]
        if rnd() < 0.5:
            plan += [("anchor", 1800 + 1800 * rnd(), 0.0), ("sail", 3600 + 3600 * rnd(), 5.0)]
        plan += [("home", 0.0, 5.0)]
    step = 0
    left = plan[0][1] if plan else 0.0
    anchor_at = (0.0, 0.0)
    now = base
    for second in range(DAY_S):
        jx = max(-4.0, min(4.0, jx + (rnd() - 0.5) * 0.6))
        jy = max(-4.0, min(4.0, jy + (rnd() - 0.5) * 0.6))
        engine = False
        alarm: bool | None = False
        speed_kn = 0.05 * rnd()
        power = house + 10.0 * rnd()
        if second >= depart and step < len(plan):
            kind, _, knots = plan[step]
            if kind == "anchor":
                alarm = True
                swing = anchor_at[0] + 40.0 * math.sin(second / 300.0), anchor_at[1]
                x, y = swing[0], swing[1] + 10.0 * math.cos(second / 300.0)
                speed_kn = 0.3 * abs(math.cos(second / 300.0)) + 0.1 * rnd()
            else:
                if kind == "home":
                    dist = math.hypot(x, y)
                    heading = math.atan2(-x, -y)
                    knots = 5.0 if dist > 300 else 2.0
                    if dist < 5.0:
                        step = len(plan)
                        x = y = 0.0
                        knots = 0.0
                else:
                    heading += (rnd() - 0.5) * 0.02
                speed_kn = knots * (0.95 + 0.1 * rnd())
                v = speed_kn * KNOT
                x += v * math.sin(heading)
                y += v * math.cos(heading)
                engine = kind in ("motor", "home")
                power = house + (8.0 * speed_kn**3 if engine else 0.0) * (0.97 + 0.06 * rnd())
            left -= 1.0
            if kind != "home" and left <= 0 and step < len(plan):
                if kind == "anchor":
                    alarm = False
                step += 1
                if step < len(plan):
                    left = plan[step][1]
                    if plan[step][0] == "anchor":
                        anchor_at = (x, y)
        yield Sample(
            now,
            m_lat + (y + jy) / M_PER_DEG,
            m_lon + (x + jx) / k_lon,
            speed_kn * KNOT,
            power,
            engine,
            alarm,
        )
        now += one


def timed_run(days: list[int]) -> tuple[int, float, int]:
    """Feed whole days (generated untimed); return samples, CPU seconds in add(), trips ended."""
    detector = TripDetector(collect=False)
    add = detector.add
    total = 0
    spent = 0.0
    trips = 0
    for day in days:
        chunk = list(day_samples(day))
        start = time.process_time()
        for sample in chunk:
            events = add(sample)
            if events:
                trips += sum(isinstance(e, TripEnded) for e in events)
        spent += time.process_time() - start
        total += len(chunk)
    return total, spent, trips


def memory_run(days: list[int]) -> tuple[int, int, int, int, int]:
    """Lazily generated stream under tracemalloc: samples, trips ended, peak bytes, bytes still
    allocated at the end (the detector's state), snapshot JSON bytes."""
    tracemalloc.start()
    detector = TripDetector(collect=False)
    add = detector.add
    trips = 0
    count = 0
    for day in days:
        for sample in day_samples(day):
            events = add(sample)
            count += 1
            if events:
                trips += sum(isinstance(e, TripEnded) for e in events)
    events = []
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    size = len(json.dumps(detector.snapshot()))
    return count, trips, peak, current, size


def plaka_rate() -> tuple[int, float]:
    """Samples/s replaying the real track (0.5 Hz, under way most of the time), wall time."""
    from tests.trips.nmea import load_nmea

    samples = load_nmea(FIXTURES / "gps" / "plaka.nmea")

    def run() -> None:
        TripDetector().feed(samples)

    return len(samples), len(samples) / best_time(run, repeat=5)


def _rate_row(label: str, days: list[int]) -> list[object]:
    n, spent, trips = timed_run(days)
    return [f"{label}, {trips} trips", f"{n:,}", f"{spent:.1f}", f"{n / spent:,.0f}"]


def main(argv: list[str] | None = None) -> None:
    """Print the markdown tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--full", action="store_true", help="also all 365 days and 30 days memory")
    args = parser.parse_args(argv)

    rows: list[list[object]] = []
    n, rate = plaka_rate()
    rows.append(
        [
            "plaka.nmea replay (real track under way, 0.5 Hz; wall time, best of 5)",
            f"{n:,}",
            "-",
            f"{rate:,.0f}",
        ]
    )
    rows.append(
        _rate_row("synthetic year, every 12th day (31 days, 1 Hz)", list(range(0, 365, 12)))
    )
    if args.full:
        rows.append(_rate_row("synthetic year, all 365 days (1 Hz)", list(range(365))))
    else:
        rows.append(["synthetic year, all 365 days (run with --full)", "31,536,000", "-", "-"])
    print(
        "Trip detector throughput (one core, CPU time inside TripDetector.add; "
        "target >= 500,000 samples/s)"
    )
    print()
    print(table(["workload", "samples", "CPU s", "samples/s"], rows))
    print()

    mem_rows: list[list[object]] = []
    for n_days in [1, 7, 30] if args.full else [1, 7]:
        days = list(range(181, 181 + n_days))  # from 1 July, a day with two trips
        count, trips, peak, current, size = memory_run(days)
        label = f"{n_days} day{'s' if n_days > 1 else ''} from 1 July"
        mem_rows.append(
            [
                label,
                f"{count:,}",
                trips,
                f"{peak / 1024:,.0f} KiB",
                f"{current / 1024:,.0f} KiB",
                f"{size / 1024:,.1f} KiB",
            ]
        )
    print("Detector memory (tracemalloc, lazily generated 1 Hz stream, collect=False)")
    print()
    print(
        table(
            ["history", "samples", "trips ended", "peak", "held at the end", "snapshot JSON"],
            mem_rows,
        )
    )


if __name__ == "__main__":
    main()
