"""VE.Direct through Home Assistant: event-loop cost per record, and recorder rows per hour.

(b) µs of event-loop time per record, bytes in → entity states written: the real source, parser,
    coordinator, entities and state machine of an in-process Home Assistant, fed the BMV-702
    capture's records directly (no pty, so only our own work is timed), with write interval 0
    (every entity written on every change: the worst case) and with the default 5 s.
(c) Recorder rows per hour for the BMV-702 replay at its real pace (one record a second on a
    real pty), default options vs write interval 0, both entries live in the same Home Assistant
    with the real recorder on SQLite; one full pass of the capture, replayed --scale times faster
    (default 10) with the interval scaled alike, expressed per device-hour.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
import sys
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import FIXTURES, REPO, table

sys.path.insert(0, str(REPO))

BMV = FIXTURES / "vedirect" / "karioja_bvm702.dump"


@contextlib.asynccontextmanager
async def running_hass(config_dir: Path) -> AsyncIterator[Any]:
    """An in-process Home Assistant (phcc's test instance) that allows custom integrations;
    stopped on exit, which also ends the recorder's thread so the process can exit."""
    from homeassistant import loader
    from pytest_homeassistant_custom_component.common import async_test_home_assistant

    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)  # allow custom integrations
        try:
            yield hass
        finally:
            await hass.async_stop(force=True)


async def async_states_rows(hass: Any, entries: dict[Any, Any]) -> dict[Any, int]:
    """Rows in the recorder's `states` table per config entry (key → count), for the entities
    the entity registry gives each entry now. Waits for the recorder's queue first."""
    from homeassistant.components.recorder import get_instance
    from homeassistant.helpers import entity_registry as er
    from sqlalchemy import text

    instance = get_instance(hass)
    registry = er.async_get(hass)
    ids = {
        key: [e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)]
        for key, entry in entries.items()
    }

    def count() -> dict[Any, int]:
        with instance.engine.connect() as conn:  # type: ignore[union-attr]
            result = {}
            for key, entity_ids in ids.items():
                marks = ", ".join(f":e{i}" for i in range(len(entity_ids)))
                result[key] = conn.execute(
                    text(
                        "SELECT count(*) FROM states JOIN states_meta USING (metadata_id) "
                        f"WHERE states_meta.entity_id IN ({marks})"
                    ),
                    {f"e{i}": entity_id for i, entity_id in enumerate(entity_ids)},
                ).scalar_one()
            return result

    await instance.async_block_till_done()
    return dict(await instance.async_add_executor_job(count))


async def _entry(hass: Any, path: str, unique_id: str, interval: int) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    entry = MockConfigEntry(
        domain="victron_venus",
        title=f"BMV-702 {unique_id}",
        unique_id=unique_id,
        data={"entry_type": "vedirect", "serial_port": path, "model": "BMV-702", "labels": []},
        options={"recording": "detailed", "write_interval": interval},  # the interval alone
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def loop_cost(hass: Any, config_dir: Path) -> list[list[object]]:
    """(b): µs per record through the whole Home Assistant path."""
    from homeassistant.helpers import entity_registry as er

    from tests.fakes.vedirect_device import PtyDevice, split_records

    records = split_records(BMV.read_bytes())
    rows: list[list[object]] = []
    for interval in (0, 5):
        device = PtyDevice(config_dir / f"tty{interval}")
        entry = await _entry(hass, str(device.link), f"bench{interval}", interval)
        source = entry.runtime_data
        for record in records[:20]:  # warm up: entities are created on the first records
            source._on_data(record)
        await hass.async_block_till_done()
        writes = 0

        def count(_event: Any) -> None:
            nonlocal writes
            writes += 1

        unsub = hass.bus.async_listen("state_changed", count)
        rounds, start = 0, time.perf_counter()
        while time.perf_counter() - start < 2.0:
            for record in records:
                source._on_data(record)
            rounds += 1
        elapsed = time.perf_counter() - start
        await hass.async_block_till_done()
        unsub()
        n = rounds * len(records)
        rows.append(
            [
                f"write interval {interval} s",
                f"{elapsed / n * 1e6:.1f}",
                f"{writes / n:.2f}",
                len(er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)),
            ]
        )
        await hass.config_entries.async_unload(entry.entry_id)
        device.unplug()
    return rows


async def recorder_rows(hass: Any, config_dir: Path, scale: float) -> list[list[object]]:
    """(c): states rows per hour written by the real recorder, default vs every change.

    One full pass of the BMV-702 capture (453 records, one a second on the real device) is
    replayed `scale` times faster, with the write interval scaled by the same factor (5 s →
    5/scale s), so the result is the rows of 453 device-seconds, counted in the SQLite database
    and expressed per device-hour.
    """
    from homeassistant.helpers import recorder as recorder_helper
    from homeassistant.setup import async_setup_component

    from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay

    db = config_dir / "bench.db"
    devices: list[PtyDevice] = []
    replays: dict[int, VEDirectReplay] = {}
    entries: dict[int, Any] = {}
    recorder_helper.async_initialize_recorder(hass)
    assert await async_setup_component(
        hass, "recorder", {"recorder": {"db_url": f"sqlite:///{db}", "commit_interval": 1}}
    )
    await hass.async_block_till_done()
    for interval in (5, 0):
        device = PtyDevice(config_dir / f"ttyrec{interval}")
        devices.append(device)
        replays[interval] = VEDirectReplay(device, BMV.read_bytes(), 1.0 / scale, loop=False)
        entries[interval] = await _entry(
            hass,
            str(device.link),
            f"rec{interval}",
            interval / scale,  # type: ignore[arg-type]
        )
    tasks = [asyncio.create_task(replay.run()) for replay in replays.values()]
    try:
        while min(replay.sent for replay in replays.values()) < 5:  # entities exist, first writes
            await asyncio.sleep(0.05)
        before = await async_states_rows(hass, entries)
        sent_before = {k: r.sent for k, r in replays.items()}
        await asyncio.gather(*tasks)
        await asyncio.sleep(10 / scale)  # the last deferred writes
        after = await async_states_rows(hass, entries)
    finally:
        for task in tasks:
            task.cancel()
        for device in devices:
            device.unplug()
    per_hour = {
        k: (after[k] - before[k]) * 3600 / (replays[k].sent - sent_before[k]) for k in entries
    }
    records = replays[0].sent - sent_before[0]
    return [
        ["default (5 s)", f"{per_hour[5]:,.0f}", records],
        ["every change (0 s)", f"{per_hour[0]:,.0f}", records],
        ["ratio", f"{per_hour[0] / max(per_hour[5], 1):.1f}x fewer", ""],
    ]


async def _run_all(config_dir: Path, scale: float) -> tuple[Any, Any]:
    """One Home Assistant for both measurements (the usb component registers process-wide)."""
    async with running_hass(config_dir) as hass:
        return await loop_cost(hass, config_dir), await recorder_rows(hass, config_dir, scale)


def main(argv: list[str] | None = None) -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=10.0, help="replay speed-up for (c)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        config_dir = Path(tmp)
        (config_dir / "custom_components").mkdir()
        cost, rows = asyncio.run(_run_all(config_dir, args.scale))
        print("\n(b) Home Assistant event-loop cost per VE.Direct record (BMV-702 capture)\n")
        print(table(["entities written", "µs per record", "state writes per record",
                     "entities"], cost))  # fmt: skip
        print(
            "\n(c) Recorder states rows per device-hour, BMV-702 capture at one record a second"
            f" (one full pass, replayed {args.scale:.0f}x faster with the interval scaled alike)\n"
        )
        print(table(["write interval", "states rows per hour", "records"], rows))


if __name__ == "__main__":
    main()
