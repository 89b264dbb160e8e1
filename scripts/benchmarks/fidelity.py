"""Recorder fidelity of the write policies: a simulated day of each capture through Home Assistant.

For each day of scripts/benchmarks/days.py (the BMV-702 capture, a JBD poll stream, the boat GX
recording), one in-process Home Assistant with the real recorder (SQLite in a temporary folder,
or PostgreSQL with --postgres) and four config entries of a replay source fed the same pushes:

- truth: every change written (recording "detailed", write interval 0);
- detailed (write interval 5 s: the behaviour before the recording option), balanced (the
  default) and lean.

The replay source is the integration's real entity layer, description tables, state machine and
recorder; only the transport and parsing are replaced by the day's decoded values (which the
sources would push). Home Assistant's clock is frozen and moved forward in the day's own steps
(0.5 s for the BMV, 1 s otherwise), every timer running when due (the test harness's
`async_fire_time_changed`), so a day takes minutes, not a day; the recorder compiles its
5-minute and hourly statistics as the clock passes their times, as in a real day.

Compared per entity with the truth: the hourly long-term statistics (mean, min, max) of every
measurement, and the hourly sums of every counter. The table gives per policy: recorder rows
(states) per hour and the factor against every change; the worst hourly mean error, in the unit
and as % of that hour's range (min to max of the truth), and how many (entity, hour) pairs exceed
the target (1 % of the hour's range or one displayed step, whichever is larger); the worst
hourly min/max error; and the largest difference of an energy counter's hourly sum (Wh).

Run: ``.venv/bin/python -m scripts.benchmarks.fidelity [--hours 24] [--postgres]``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math
import os
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import REPO, table
from scripts.benchmarks.days import Day, bmv_day, gx_day, jbd_day

sys.path.insert(0, str(REPO))

START = datetime(2026, 5, 4, 0, 0, 0, tzinfo=UTC)
"""Midnight UTC: the simulated day starts here (a day's yield resets at midnight)."""

VARIANTS: tuple[tuple[str, str, float], ...] = (
    ("truth", "detailed", 0.0),
    ("detailed", "detailed", 5.0),
    ("balanced", "balanced", 5.0),
    ("lean", "lean", 5.0),
)
"""(name, recording option, write interval s) of the four entries."""


def _wall() -> float:
    """The real perf counter (freezegun freezes time.perf_counter too)."""
    from freezegun.api import real_perf_counter

    return float(real_perf_counter())


def _prepare_freezegun() -> None:
    """Home Assistant's own freezegun adjustments (pytest_homeassistant_custom_component's
    plugin does this before every test): HA's datetimes and utcnow become freezable."""
    import freezegun
    from pytest_homeassistant_custom_component import patch_time

    api: Any = freezegun.api
    api.FakeDate = patch_time.HAFakeDate
    api.datetime_to_fakedatetime = patch_time.ha_datetime_to_fakedatetime
    api.FakeDatetime = patch_time.HAFakeDatetime
    api._get_module_attributes = patch_time.ha_get_module_attributes
    api._get_module_attributes_hash = patch_time.ha_get_module_attributes_hash
    api._should_use_real_time = patch_time.ha_should_use_real_time
    api.get_current_time = patch_time.ha_get_current_time


@dataclass
class Outcome:
    """One policy's numbers for one day."""

    rows: int
    attributes: int
    bytes_per_hour: float | None  # the states rows' share of the states table and indexes
    worst_mean: float  # in the unit
    worst_mean_pct: float  # % of that hour's range
    worst_mean_ratio: float  # error / target
    worst_where: str
    over_target: int
    pairs: int
    worst_minmax: float
    worst_minmax_where: str
    worst_sum_wh: float
    counters: int


def _source_class(day: Day, variant: str, recording: str, interval: float) -> type[Any]:
    """A replay source for `day`: one coordinator per device, rows by device."""
    from homeassistant.const import Platform
    from homeassistant.helpers.device_registry import DeviceInfo

    from custom_components.victron_venus.const import DOMAIN, Recording
    from custom_components.victron_venus.coordinator import DeviceCoordinator
    from custom_components.victron_venus.sources.base import Source

    rows = {f"{variant}_{d.identifier}": d.rows for d in day.devices}

    class ReplaySource(Source):
        platforms = (Platform.SENSOR, Platform.BINARY_SENSOR)

        def descriptions(self, coordinator: Any, platform: Any) -> Any:
            return rows[coordinator.identifier].get(str(platform), ())

        async def async_start(self) -> None:
            for device in day.devices:
                identifier = f"{variant}_{device.identifier}"
                coordinator = DeviceCoordinator(
                    self.hass,
                    self.entry,
                    identifier=identifier,
                    device_info=DeviceInfo(
                        identifiers={(DOMAIN, identifier)}, name=f"{variant} {device.name}"
                    ),
                    write_interval=interval,
                    recording=Recording(recording),
                )
                self.devices[identifier] = coordinator
                coordinator.async_push(dict(device.initial))

    return ReplaySource


@contextlib.asynccontextmanager
async def simulated_hass(config_dir: Path, db_url: str) -> AsyncIterator[Any]:
    """An in-process Home Assistant on the frozen clock, with the recorder on `db_url`."""
    from homeassistant import loader
    from homeassistant.helpers import recorder as recorder_helper
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        recorder_helper.async_initialize_recorder(hass)
        assert await async_setup_component(
            hass, "recorder", {"recorder": {"db_url": db_url, "commit_interval": 5}}
        )
        await hass.async_block_till_done()
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


async def run_day(day: Day, config_dir: Path, db_url: str, frozen: Any) -> dict[str, Outcome]:
    """Replay `day` through the four entries; compare their statistics with the truth's."""
    from homeassistant.components.recorder import get_instance, statistics
    from homeassistant.helpers import entity_registry as er
    from pytest_homeassistant_custom_component.common import MockConfigEntry
    from pytest_homeassistant_custom_component.components.recorder.common import (
        async_wait_recording_done,
    )

    import custom_components.victron_venus as integration

    start = START + timedelta(seconds=day.extra.get("start", 0.0))
    frozen.move_to(start - timedelta(seconds=30))
    async with simulated_hass(config_dir, db_url) as hass:
        sources = {v: _source_class(day, v, rec, iv) for v, rec, iv in VARIANTS}
        entries: dict[str, Any] = {}
        for variant, recording, interval in VARIANTS:
            integration.source_class = lambda _t, cls=sources[variant]: cls  # type: ignore[assignment]
            entry = MockConfigEntry(
                domain="victron_venus",
                title=f"{variant} {day.name}",
                unique_id=f"bench_{variant}",
                data={"entry_type": "vedirect", "serial_port": "/dev/null"},
                options={"recording": recording, "write_interval": interval},
                version=1,
                minor_version=3,
            )
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
            entries[variant] = entry
        await hass.async_block_till_done()
        data = {
            variant: {d.identifier: dict(d.initial) for d in day.devices}
            for variant, *_ in VARIANTS
        }
        coordinators = {variant: entry.runtime_data.devices for variant, entry in entries.items()}
        step = 0.5 if day.name.startswith("BMV") else 1.0
        now = -30.0
        # each push happens a microsecond after the one before it (and after the tick's
        # timers), as on a real clock: under a frozen clock two writes of one entity in one
        # tick (a counter's period-end flush, then a push in the closing window) would share
        # their last_updated, and the recorder orders such a tie as it likes (PostgreSQL and
        # SQLite differently), so a period's start state could be the older of the two
        pushed = 0  # microseconds the clock moved since the tick

        async def advance(to: float) -> None:
            nonlocal now, pushed
            while now + step <= to + 1e-9:
                now += step
                frozen.tick(timedelta(seconds=step, microseconds=-pushed))
                pushed = 0
                _fire_time_changed(hass)
                await hass.async_block_till_done()

        started = _wall()
        for t, device, changes in day.updates():
            await advance(t)
            frozen.tick(timedelta(microseconds=1))
            pushed += 1
            named = set(changes) if day.names_changed else None
            for variant, *_ in VARIANTS:
                values = data[variant][device]
                values.update(changes)
                coordinators[variant][f"{variant}_{device}"].async_push(values, named)
        await advance(day.seconds + 60)  # the last period's statistics are compiled
        await async_wait_recording_done(hass)
        print(f"  {day.name}: replayed in {_wall() - started:.0f} s (wall)", file=sys.stderr)

        registry = er.async_get(hass)
        ids: dict[str, dict[str, str]] = {}  # variant -> unique id suffix -> entity id
        for variant, entry in entries.items():
            ids[variant] = {
                e.unique_id.removeprefix(f"{variant}_"): e.entity_id
                for e in er.async_entries_for_config_entry(registry, entry.entry_id)
                if e.disabled_by is None
            }
        instance = get_instance(hass)
        counts = await instance.async_add_executor_job(_count_rows, instance, ids)
        sizes = await instance.async_add_executor_job(_table_sizes, instance)
        end = start + timedelta(seconds=day.seconds)
        all_ids = {eid for m in ids.values() for eid in m.values()}
        stats = await instance.async_add_executor_job(
            statistics.statistics_during_period,
            hass,
            start,
            end,
            all_ids,
            "hour",
            None,
            {"mean", "min", "max", "sum", "state"},
        )
    steps = _display_steps(day)
    outcomes = {}
    hours = day.seconds / 3600
    for variant, *_ in VARIANTS:
        OVER.clear()
        outcomes[variant] = _compare(
            ids["truth"], ids[variant], stats, steps, counts[variant], hours
        )
        if os.environ.get("FIDELITY_DEBUG") and OVER:
            by_entity: dict[str, list[Any]] = {}
            for item in OVER:
                by_entity.setdefault(item[0], []).append(item)
            for key, items in sorted(by_entity.items(), key=lambda kv: -len(kv[1])):
                worst = max(items, key=lambda i: i[2] / max(i[3], 1e-12))
                print(
                    f"    over target, {variant}: {key}: {len(items)} h; worst {worst[1]} "
                    f"error {worst[2]:.4g} target {worst[3]:.4g} range {worst[4]:.4g}",
                    file=sys.stderr,
                )
        total = sum(c[0] for c in counts.values())
        if sizes.get("states") and total:
            outcomes[variant].bytes_per_hour = counts[variant][0] / total * sizes["states"] / hours
    SIZES[day.name] = sizes
    return outcomes


def _fire_time_changed(hass: Any) -> None:
    """Run every timer due by now + 0.5 s, as the test harness's `async_fire_time_changed`
    does (same rule, same 0.5 s allowance for HA's spread of timers), but with the time
    trackers' clock set by plain assignment: the harness's unittest.mock.patch builds two
    MagicMocks per due timer, a third of the replay's CPU on the GX day. Only the bench's speed
    changes, not what runs or when."""
    from homeassistant.helpers import event
    from pytest_homeassistant_custom_component.common import get_scheduled_timer_handles

    utc = datetime.now(UTC) + timedelta(microseconds=event.RANDOM_MICROSECOND_MAX)
    timestamp = utc.timestamp()
    ahead = timestamp - time.time()
    due = hass.loop.time() + ahead + time.get_clock_info("monotonic").resolution
    saved = event.time_tracker_utcnow, event.time_tracker_timestamp
    event.time_tracker_utcnow = lambda: utc  # type: ignore[assignment]
    event.time_tracker_timestamp = lambda: timestamp  # type: ignore[assignment]
    try:
        for task in list(get_scheduled_timer_handles(hass.loop)):
            if not isinstance(task, asyncio.TimerHandle) or task.cancelled():
                continue
            if task.when() <= due:
                task._run()
                task.cancel()
    finally:
        event.time_tracker_utcnow, event.time_tracker_timestamp = saved


OVER: list[tuple[str, str, float, float, float]] = []
"""(entity, hour, error, target, range) of every entity-hour over target (FIDELITY_DEBUG)."""

SIZES: dict[str, dict[str, int]] = {}
"""Bytes of the recorder's tables (with their indexes) after each day, by day name."""


def _table_sizes(instance: Any) -> dict[str, int]:
    """Bytes of states, state_attributes, statistics and statistics_short_term with their
    indexes: pg_total_relation_size on PostgreSQL, the dbstat table on SQLite (when built in)."""
    from sqlalchemy import text

    tables = ("states", "state_attributes", "statistics", "statistics_short_term")
    sizes: dict[str, int] = {}
    with instance.engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            for name in tables:
                sizes[name] = int(
                    conn.execute(text(f"SELECT pg_total_relation_size('{name}')")).scalar_one()
                )
            return sizes
        try:
            for name in tables:
                sizes[name] = int(
                    conn.execute(
                        text(
                            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :t OR "
                            "name IN (SELECT name FROM sqlite_master WHERE type = 'index' AND "
                            "tbl_name = :t)"
                        ),
                        {"t": name},
                    ).scalar_one()
                )
        except Exception:  # SQLite without dbstat: no sizes
            return {}
    return sizes


def _display_steps(day: Day) -> dict[str, float]:
    """unique id suffix ("<device>_<key>") -> one displayed step of its row (its unit)."""
    from custom_components.victron_venus.entity import FALLBACK_PRECISION

    steps: dict[str, float] = {}
    for device in day.devices:
        for rows in device.rows.values():
            for row in rows:
                precision = getattr(row, "suggested_display_precision", None)
                if precision is None:
                    precision = FALLBACK_PRECISION.get(getattr(row, "device_class", None) or "")
                steps[f"{device.identifier}_{row.key}"] = (
                    10.0**-precision if precision is not None else 0.0
                )
    return steps


def _count_rows(instance: Any, ids: dict[str, dict[str, str]]) -> dict[str, tuple[int, int]]:
    """(states rows, distinct attribute rows they use) per variant."""
    from sqlalchemy import text

    result = {}
    with instance.engine.connect() as conn:
        if os.environ.get("FIDELITY_DEBUG"):  # rows per entity of every variant
            for row in conn.execute(
                text(
                    "SELECT states_meta.entity_id, count(*) FROM states JOIN states_meta ON "
                    "states.metadata_id = states_meta.metadata_id GROUP BY states_meta.entity_id "
                    "ORDER BY 2 DESC"
                )
            ):
                print(f"    {row[0]}: {row[1]}", file=sys.stderr)
        for variant, mapping in ids.items():
            entity_ids = list(mapping.values())
            marks = ", ".join(f":e{i}" for i in range(len(entity_ids)))
            params = {f"e{i}": e for i, e in enumerate(entity_ids)}
            states, attributes = conn.execute(
                text(
                    "SELECT count(*), count(DISTINCT attributes_id) FROM states "
                    "JOIN states_meta ON states.metadata_id = states_meta.metadata_id "
                    f"WHERE states_meta.entity_id IN ({marks})"
                ),
                params,
            ).one()
            result[variant] = (int(states), int(attributes))
    return result


def _compare(  # noqa: PLR0917
    truth: dict[str, str],
    ours: dict[str, str],
    stats: dict[str, list[Any]],
    steps: dict[str, float],
    counts: tuple[int, int],
    hours: float,
) -> Outcome:
    worst = worst_pct = worst_ratio = worst_minmax = worst_sum = 0.0
    where = minmax_where = "-"
    over = pairs = 0
    counters: set[str] = set()
    for key, truth_id in truth.items():
        ours_id = ours.get(key)
        if ours_id is None or truth_id not in stats:
            continue
        theirs = {row["start"]: row for row in stats.get(ours_id, [])}
        for row in stats[truth_id]:
            other = theirs.get(row["start"])
            hour = datetime.fromtimestamp(row["start"], UTC).strftime("%H:00")
            if row.get("mean") is not None:
                pairs += 1
                if other is None or other.get("mean") is None:
                    over += 1
                    continue
                error = abs(other["mean"] - row["mean"])
                span = row["max"] - row["min"]
                target = max(0.01 * span, steps.get(key, 0.0))
                ratio = error / target if target > 0 else (0.0 if error < 1e-9 else math.inf)
                if error > target + 1e-9:
                    over += 1
                    OVER.append((key, hour, error, target, span))
                if ratio > worst_ratio or (ratio == worst_ratio and error > worst):
                    worst_ratio, worst = ratio, error
                    worst_pct = 100 * error / span if span > 0 else 0.0
                    where = f"{key} {hour}"
                minmax = max(abs(other["min"] - row["min"]), abs(other["max"] - row["max"]))
                if minmax > worst_minmax:
                    worst_minmax, minmax_where = minmax, f"{key} {hour}"
            if row.get("sum") is not None:
                counters.add(key)
                if other is None or other.get("sum") is None:
                    worst_sum = math.inf
                    continue
                worst_sum = max(worst_sum, abs(other["sum"] - row["sum"]) * 1000)  # kWh -> Wh
    return Outcome(
        rows=round(counts[0] / hours),
        attributes=counts[1],
        bytes_per_hour=None,
        worst_mean=worst,
        worst_mean_pct=worst_pct,
        worst_mean_ratio=worst_ratio,
        worst_where=where,
        over_target=over,
        pairs=pairs,
        worst_minmax=worst_minmax,
        worst_minmax_where=minmax_where,
        worst_sum_wh=worst_sum,
        counters=len(counters),
    )


def fidelity_rows(name: str, outcomes: dict[str, Outcome]) -> list[list[object]]:
    """Table rows of one day."""
    truth = outcomes["truth"].rows
    rows: list[list[object]] = []
    for variant, outcome in outcomes.items():
        kib = f"{outcome.bytes_per_hour / 1024:,.0f}" if outcome.bytes_per_hour else "-"
        if variant == "truth":
            rows.append(
                [name, "every change (truth)", f"{truth:,}", kib, "1.0x", "-", "-", "-", "-"]
            )
            continue
        rows.append(
            [
                name,
                variant + (" (default)" if variant == "balanced" else ""),
                f"{outcome.rows:,}",
                kib,
                f"{truth / max(outcome.rows, 1):.1f}x",
                f"{outcome.worst_mean:.4g} ({outcome.worst_mean_pct:.2f} %), {outcome.worst_where}",
                f"{outcome.over_target} of {outcome.pairs}",
                f"{outcome.worst_minmax:.4g}, {outcome.worst_minmax_where}",
                (
                    f"{outcome.worst_sum_wh:.3g} Wh ({outcome.counters} counters)"
                    if outcome.counters
                    else "-"
                ),
            ]
        )
    return rows


HEADER = [
    "capture",
    "policy",
    "states rows / h",
    "states KiB / h",
    "fewer than every change",
    "worst hourly mean error (% of the hour's range), where",
    "entity-hours over target",
    "worst hourly min/max error",
    "energy: largest hourly sum difference",
]


async def _run(days: list[Day], postgres: Any) -> list[list[object]]:
    from freezegun import freeze_time

    _prepare_freezegun()
    rows: list[list[object]] = []
    with freeze_time(START) as frozen:
        for n, day in enumerate(days):
            with tempfile.TemporaryDirectory() as tmp:
                config_dir = Path(tmp)
                (config_dir / "custom_components").mkdir()
                if postgres is not None:
                    url = await asyncio.to_thread(postgres.create_database, f"fidelity_{n}")
                else:
                    url = f"sqlite:///{config_dir / 'fidelity.db'}"
                rows += fidelity_rows(day.name, await run_day(day, config_dir, url, frozen))
    return rows


def main(argv: list[str] | None = None) -> None:
    """Print the fidelity table."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per capture")
    parser.add_argument(
        "--captures", default="bmv,jbd,gx", help="comma-separated: bmv, jbd, gx (default: all)"
    )
    parser.add_argument("--start-hour", type=float, default=0.0, help="of the day models")
    parser.add_argument(
        "--postgres", action="store_true", help="the recorder on PostgreSQL (default: SQLite)"
    )
    args = parser.parse_args(argv)
    seconds = int(args.hours * 3600)
    makers = {"bmv": bmv_day, "jbd": jbd_day, "gx": gx_day}
    offset = args.start_hour * 3600
    days = [makers[name](seconds, offset) for name in args.captures.split(",")]
    for day in days:
        day.extra["start"] = offset
    if args.postgres:
        from scripts.benchmarks.postgres import PostgresServer

        with PostgresServer() as server:
            rows = asyncio.run(_run(days, server))
    else:
        rows = asyncio.run(_run(days, None))
    where = "PostgreSQL 15" if args.postgres else "SQLite"
    print(
        f"\nRecorder fidelity: {args.hours:g} simulated hours per capture, every policy against "
        f"every change, Home Assistant's hourly statistics ({where})\n"
    )
    print(table(HEADER, rows))
    if SIZES:
        print(f"\nRecorder tables after each simulated day, all four entries ({where}), KiB:\n")
        names = ("states", "state_attributes", "statistics", "statistics_short_term")
        print(
            table(
                ["capture", *names],
                [[day, *(f"{sizes.get(n, 0) / 1024:,.0f}" for n in names)]
                 for day, sizes in SIZES.items()],
            )
        )  # fmt: skip
    print(
        "\ntarget: at least 10x fewer rows with the default, worst hourly mean error within 1 % "
        "of the hour's range or one displayed step (whichever is larger), energy sums exact"
    )


if __name__ == "__main__":
    main()
