"""Venus GX through Home Assistant: event-loop cost per MQTT message, and recorder rows per hour.

(b) µs of event-loop time per message, message in -> entity states written: the real source,
    parser, routing, coordinators, entities and state machine of an in-process Home Assistant
    (the entry set up for real against mosquitto and the GX simulator), then fed pre-encoded
    messages directly at ``VenusSource._on_message`` (no network, so only our own work is timed):
    * "full publish": the recording's 2,611 topics with unchanged values (what every reconnect
      and keep-alive retry costs);
    * "live": every topic that has an entity, each with a new value in every round (a GX where
      everything changes at once: the worst case), with write interval 0 (every change written)
      and the default 5 s.
(c) Recorder rows per hour with the real recorder on SQLite, default options (5 s) vs every
    change (0 s): two simulated GX devices (the same recording under two portal ids) on one
    mosquitto, one entry each, and a driver that changes every entity's value once a second on
    both (the "chatty 1 Hz GX" of ha-victron-mqtt #48); measured over --seconds (default 60) and
    scaled to an hour.

Reuses ``scripts.benchmarks.ha_vedirect._hass`` (an in-process Home Assistant with custom
integrations) and ``_common.table``. Run: ``.venv/bin/python -m scripts.benchmarks.ha_venus``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
import random
import sys
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import REPO, table
from scripts.benchmarks.ha_vedirect import async_states_rows, running_hass

sys.path.insert(0, str(REPO))

SECOND_PORTAL = "0123456789ab"
VARIANTS = 20


async def _start_gx(directory: Path, portals: tuple[str, ...]) -> tuple[Any, list[Any]]:
    from tests.fakes.gx_simulator import GxSimulator
    from tests.fakes.mosquitto import start_broker

    broker = await asyncio.to_thread(start_broker, directory)
    sims = [GxSimulator(broker.host, broker.port, portal_id=portal) for portal in portals]
    for sim in sims:
        await sim.start()
    return broker, sims


async def _entry(hass: Any, broker: Any, portal: str, interval: int) -> Any:
    from pytest_homeassistant_custom_component.common import MockConfigEntry

    entry = MockConfigEntry(
        domain="victron_venus",
        title=f"GX {portal}",
        unique_id=portal,
        data={
            "entry_type": "venus",
            "host": broker.host,
            "port": broker.port,
            "tls_mode": "off",
            "protocol": "3.1.1",
            "portal_id": portal,
        },
        options={"recording": "detailed", "write_interval": interval},  # the interval alone
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    source = entry.runtime_data
    deadline = time.monotonic() + 20
    while source.full_publishes_completed < 1 or len(source.devices) < 14:
        assert time.monotonic() < deadline, "the GX did not come up"
        await asyncio.sleep(0.05)
    await hass.async_block_till_done()
    return entry


def _entity_paths(source: Any) -> list[tuple[str, str, float]]:
    """(topic suffix, path, recorded value) of every numeric path that has an entity row."""
    from custom_components.victron_venus.descriptions.venus import KNOWN_PATHS

    found = []
    for (service_type, instance), service in source._services.items():
        if service.coordinator is None:
            continue
        known = KNOWN_PATHS.get(service_type, frozenset())
        for path, value in service.data.items():
            if path in known and type(value) in (int, float):
                found.append((f"{service_type}/{instance}/{path}", path, float(value)))
    return found


async def loop_cost(hass: Any, directory: Path) -> list[list[object]]:
    """(b): µs per message through the whole Home Assistant path."""
    from tests.fakes.gx_simulator import load_recording

    portal, recorded = load_recording()
    full = [(f"N/{portal}/{suffix}", payload) for suffix, payload in recorded.items()]
    broker, sims = await _start_gx(directory, (portal,))
    rows: list[list[object]] = []
    try:
        for interval in (0, 5):
            entry = await _entry(hass, broker, portal, interval)
            source = entry.runtime_data
            live = _entity_paths(source)
            variants = [
                [
                    (f"N/{portal}/{suffix}", json.dumps({"value": value + (n + 1) * 0.01}).encode())
                    for suffix, _path, value in live
                ]
                for n in range(VARIANTS)
            ]
            writes = 0

            def count(_event: Any) -> None:
                nonlocal writes
                writes += 1

            unsub = hass.bus.async_listen("state_changed", count)
            for label, batches in (("full publish, unchanged", [full]), ("live", variants)):
                if label != "live" and interval != 0:
                    continue
                writes = 0
                messages, start = 0, time.perf_counter()
                while time.perf_counter() - start < 2.0:
                    for batch in batches:
                        for topic, payload in batch:
                            source._on_message(topic, payload)
                        messages += len(batch)
                        await asyncio.sleep(0)  # the flush runs, as after a socket read
                elapsed = time.perf_counter() - start
                await hass.async_block_till_done()
                rows.append(
                    [
                        f"{label}, write interval {interval} s",
                        f"{elapsed / messages * 1e6:.1f}",
                        f"{messages / elapsed:,.0f}",
                        f"{writes / messages:.3f}",
                        len(live) if label == "live" else len(full),
                    ]
                )
            unsub()
            await hass.config_entries.async_unload(entry.entry_id)
            await hass.config_entries.async_remove(entry.entry_id)
    finally:
        for sim in sims:
            await sim.stop()
        await asyncio.to_thread(broker.stop)
    return rows


async def recorder_rows(hass: Any, directory: Path, seconds: float) -> list[list[object]]:
    """(c): states rows per hour written by the real recorder, default vs every change."""
    from homeassistant.helpers import recorder as recorder_helper
    from homeassistant.setup import async_setup_component

    recorder_helper.async_initialize_recorder(hass)
    db = directory / "venus-bench.db"
    assert await async_setup_component(
        hass, "recorder", {"recorder": {"db_url": f"sqlite:///{db}", "commit_interval": 1}}
    )
    await hass.async_block_till_done()
    from tests.fakes.gx_simulator import load_recording

    portal, _ = load_recording()
    broker, sims = await _start_gx(directory, (portal, SECOND_PORTAL))
    rng = random.Random(1)
    stop = asyncio.Event()
    try:
        entries = {
            5: await _entry(hass, broker, portal, 5),
            0: await _entry(hass, broker, SECOND_PORTAL, 0),
        }
        live = _entity_paths(entries[5].runtime_data)

        async def drive() -> None:
            """Every entity's value changes once a second, on both GX devices alike: a slow
            upward walk from its recorded value, so energy counters stay valid counters."""
            current = {suffix: value for suffix, _path, value in live}
            while not stop.is_set():
                for suffix, value in list(current.items()):
                    current[suffix] = new = round(value + rng.uniform(0.001, 0.01), 3)
                    for sim in sims:
                        sim.set_value(suffix, new)
                await asyncio.sleep(1)

        driver = asyncio.create_task(drive())
        await asyncio.sleep(6)  # entities created, first writes done, one interval passed
        before = await async_states_rows(hass, entries)
        await asyncio.sleep(seconds)
        after = await async_states_rows(hass, entries)
        stop.set()
        await driver
        per_hour = {k: (after[k] - before[k]) * 3600 / seconds for k in entries}
        for entry in entries.values():
            await hass.config_entries.async_unload(entry.entry_id)
        return [
            ["default (5 s)", f"{per_hour[5]:,.0f}", len(live)],
            ["every change (0 s)", f"{per_hour[0]:,.0f}", len(live)],
            ["ratio", f"{per_hour[0] / max(per_hour[5], 1):.1f}x fewer with the default", ""],
        ]
    finally:
        stop.set()
        for sim in sims:
            await sim.stop()
        await asyncio.to_thread(broker.stop)


async def _run_all(directory: Path, seconds: float) -> tuple[Any, Any]:
    async with running_hass(directory) as hass:
        return await loop_cost(hass, directory), await recorder_rows(hass, directory, seconds)


def main(argv: list[str] | None = None) -> None:
    """Print both tables."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "custom_components").mkdir()
        cost, rows = asyncio.run(_run_all(directory, args.seconds))
    print("\n(b) Home Assistant event-loop cost per GX message (boat recording)\n")
    print(
        table(
            ["messages", "µs per message", "messages/s", "state writes per message", "topics"],
            cost,
        )
    )
    print(
        f"\n(c) Recorder rows per hour, every entity's value changing each second "
        f"({args.seconds:.0f} s measured)\n"
    )
    print(table(["write interval", "states rows per hour", "changing values"], rows))


if __name__ == "__main__":
    main()
