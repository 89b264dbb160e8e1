"""Side by side with Home Assistant core's victron_gx: the same GX, each in its own Home Assistant.

One mosquitto broker and the GX simulator replaying the boat recording (tests/fakes/gx_simulator.py,
every topic of dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv), made to live by the day model of
scripts/benchmarks/days.py (`BoatGx`, from noon: solar, loads, the Multi on shore power, tanks,
temperatures, GPS at the dock), which changes the simulator's values once a second in real time.
Each integration runs in its own process: a fresh in-process Home Assistant (the test harness's,
real clock) with the real recorder on its own SQLite file, one config entry on the same broker:

- core victron_gx (ships in homeassistant 2026.10.4; its library victron-mqtt==2026.9.5 is
  installed under .cache/bench-libs for the benchmark only, never into .venv);
- victron_venus with the default recording policy (balanced), and with detailed (every change
  at most once per 5 s, the behaviour before the recording option) for reference.

After a warm-up (entities created, first full publish written), each child measures over the
same `--seconds`: rows added to `states` and to `state_attributes`, the database's bytes after a
WAL checkpoint (main file + WAL), the process's CPU seconds (user + system, /proc/self/stat, all
threads: the event loop, the recorder, paho's network thread), its RSS (VmRSS) at the end, and
the entities the entry created (registry entries; enabled; with a state). Per-hour figures are
the measured window scaled to an hour. All processes run at once on the same stream.

Run: ``.venv/bin/python -m scripts.benchmarks.peer [--seconds 600] [--warmup 90]``; with
PEER_PROFILE=PATH each child also writes a cProfile of its event loop's thread over the measured
window to PATH.KIND.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from pathlib import Path
import subprocess
import sys
import tempfile
import time
from typing import Any

from scripts.benchmarks._common import REPO, comparison_library, table

sys.path.insert(0, str(REPO))

CORE_LIBRARY = "victron-mqtt==2026.9.5"
MODEL_START = 12 * 3600.0  # the day model starts at noon: the solar charger works
KINDS = {
    "core": "core victron_gx",
    "ours": "victron_venus, balanced (default)",
    "ours-detailed": "victron_venus, detailed",
}


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads)."""
    fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def thread_cpu() -> dict[str, float]:
    """User + system CPU seconds per thread of this process, by thread name (/proc/self/task;
    threads of one name summed)."""
    seconds: dict[str, float] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat.rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        seconds[name] = seconds.get(name, 0.0) + cpu
    return seconds


def rss_mib() -> float:
    """Resident set size (MiB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --- the child: one Home Assistant with one integration ------------------------------------------


async def _child(args: argparse.Namespace) -> dict[str, Any]:
    from homeassistant import loader
    from homeassistant.components.recorder import get_instance
    from homeassistant.helpers import entity_registry as er, recorder as recorder_helper
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (
        MockConfigEntry,
        async_test_home_assistant,
    )
    from sqlalchemy import text

    config_dir = Path(args.config_dir)
    (config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    db = config_dir / "home-assistant_v2.db"
    if args.child == "core":
        if comparison_library(CORE_LIBRARY, "victron_mqtt") is None:
            raise SystemExit(f"peer: {CORE_LIBRARY} is not available")
        entry = MockConfigEntry(
            domain="victron_gx",
            title="Victron GX",
            unique_id=args.portal,
            data={
                "host": args.host,
                "port": args.port,
                "username": "",
                "password": "",
                "ssl": False,
                "installation_id": args.portal,
                "serial": args.portal,
                "model": "Cerbo GX",
            },
        )
    else:
        entry = MockConfigEntry(
            domain="victron_venus",
            title="GX",
            unique_id=args.portal,
            data={
                "entry_type": "venus",
                "host": args.host,
                "port": args.port,
                "tls_mode": "off",
                "protocol": "3.1.1",
                "portal_id": args.portal,
            },
            options={
                "recording": "detailed" if args.child == "ours-detailed" else "balanced",
                "write_interval": 5,
            },
            version=1,
            minor_version=3,
        )
    async with async_test_home_assistant(config_dir=str(config_dir)) as hass:
        hass.data.pop(loader.DATA_CUSTOM_COMPONENTS, None)
        recorder_helper.async_initialize_recorder(hass)
        assert await async_setup_component(
            hass, "recorder", {"recorder": {"db_url": f"sqlite:///{db}"}}
        )
        await hass.async_block_till_done()
        instance = get_instance(hass)
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id), "setup failed"
        await asyncio.sleep(args.warmup)

        def measure() -> dict[str, float]:
            with instance.engine.connect() as conn:  # type: ignore[union-attr]
                states = conn.execute(text("SELECT count(*) FROM states")).scalar_one()
                attributes = conn.execute(
                    text("SELECT count(*) FROM state_attributes")
                ).scalar_one()
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
            size = sum(p.stat().st_size for p in (db, Path(f"{db}-wal")) if p.exists())
            return {"states": states, "attributes": attributes, "bytes": size}

        await instance.async_block_till_done()
        before = await instance.async_add_executor_job(measure)
        profile_to = os.environ.get("PEER_PROFILE")  # cProfile of the event loop's thread
        profiler = None
        if profile_to:
            import cProfile

            profiler = cProfile.Profile()
        threads0 = thread_cpu()
        cpu0, t0 = cpu_seconds(), time.monotonic()
        if profiler is not None:
            profiler.enable()
        await asyncio.sleep(args.seconds)
        if profiler is not None:
            profiler.disable()
        cpu1, t1 = cpu_seconds(), time.monotonic()
        threads1 = thread_cpu()
        if profiler is not None:
            profiler.dump_stats(f"{profile_to}.{args.child}")
        await instance.async_block_till_done()
        after = await instance.async_add_executor_job(measure)
        registry = er.async_get(hass)
        entities = er.async_entries_for_config_entry(registry, entry.entry_id)
        with_state = sum(1 for e in entities if hass.states.get(e.entity_id) is not None)
        result = {
            "kind": args.child,
            "seconds": t1 - t0,
            "states": after["states"] - before["states"],
            "attributes": after["attributes"] - before["attributes"],
            "bytes": after["bytes"] - before["bytes"],
            "db_bytes": after["bytes"],
            "cpu": cpu1 - cpu0,
            "threads": {
                name: round(threads1[name] - threads0.get(name, 0.0), 2)
                for name in sorted(threads1, key=lambda n: threads0.get(n, 0.0) - threads1[n])
            },
            "rss": rss_mib(),
            "entities": len(entities),
            "enabled": sum(1 for e in entities if e.disabled_by is None),
            "with_state": with_state,
        }
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_stop(force=True)
    return result


# --- the parent: broker, simulator, the day, the children ----------------------------------------


async def _drive(sim: Any, stop: asyncio.Event) -> int:
    """Change the simulator's values once a second from the day model; returns the changes."""
    from scripts.benchmarks.days import BoatGx

    boat = BoatGx()
    last: dict[str, Any] = {}
    changes = 0
    start = time.monotonic()
    second = 0
    while not stop.is_set():
        values = {
            f"{service}/{path}": value
            for service, paths in boat.step(MODEL_START + second).items()
            for path, value in paths.items()
        }
        changed = {k: v for k, v in values.items() if last.get(k) != v}
        last.update(changed)
        if changed and second > 0:
            sim.set_values(changed)
            changes += len(changed)
        second += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, start + second - time.monotonic()))
    return changes


async def _parent(args: argparse.Namespace) -> list[dict[str, Any]]:
    from tests.fakes.gx_simulator import GxSimulator, load_recording
    from tests.fakes.mosquitto import start_broker

    if comparison_library(CORE_LIBRARY, "victron_mqtt") is None:  # installed once, up front
        print(f"peer: {CORE_LIBRARY} could not be installed: no core column", file=sys.stderr)
    portal, _ = load_recording()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        broker = await asyncio.to_thread(start_broker, root / "mqtt")
        sim = GxSimulator(broker.host, broker.port)
        await sim.start()
        stop = asyncio.Event()
        driver = asyncio.create_task(_drive(sim, stop))
        children = []
        kinds = [k for k in args.kinds.split(",") if k]
        for kind in kinds:
            cmd = [
                sys.executable, "-m", "scripts.benchmarks.peer", "--child", kind,
                "--host", broker.host, "--port", str(broker.port), "--portal", portal,
                "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                "--config-dir", str(root / kind),
            ]  # fmt: skip
            children.append(
                await asyncio.create_subprocess_exec(
                    *cmd,
                    cwd=REPO,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env={**os.environ, "PYTHONPATH": str(REPO)},
                )
            )
        outputs = await asyncio.gather(*(child.communicate() for child in children))
        stop.set()
        changes = await driver
        await sim.stop()
        await asyncio.to_thread(broker.stop)
    results = []
    for kind, (out, _err) in zip(kinds, outputs, strict=True):
        lines = [line for line in out.decode().splitlines() if line.startswith("{")]
        if not lines:
            print(f"peer: {kind} gave no result", file=sys.stderr)
            continue
        results.append(json.loads(lines[-1]))
    print(f"  the day model changed {changes:,} values", file=sys.stderr)
    return results


def peer_rows(results: list[dict[str, Any]]) -> list[list[object]]:
    """Table rows: per-hour growth, CPU per minute, RSS, entities."""
    core = next((r for r in results if r["kind"] == "core"), None)
    rows: list[list[object]] = []
    for r in results:
        hour = 3600 / r["seconds"]
        states, attributes = r["states"] * hour, r["attributes"] * hour
        mib = r["bytes"] * hour / 2**20
        cpu = r["cpu"] * 60 / r["seconds"]
        versus = ""
        if core is not None and r is not core:
            core_rows = (core["states"] + core["attributes"]) / core["seconds"]
            ours_rows = (r["states"] + r["attributes"]) / r["seconds"]
            core_bytes = core["bytes"] / core["seconds"]
            ours_bytes = r["bytes"] / r["seconds"]
            core_cpu = core["cpu"] / core["seconds"]
            versus = (
                f"rows {core_rows / max(ours_rows, 1e-9):.1f}x fewer, "
                f"bytes {core_bytes / max(ours_bytes, 1e-9):.1f}x less, "
                f"CPU {r['cpu'] / r['seconds'] / max(core_cpu, 1e-9):.2f} of core's"
            )
        rows.append(
            [
                KINDS[r["kind"]],
                f"{states:,.0f}",
                f"{attributes:,.0f}",
                f"{mib:.2f}",
                f"{cpu:.2f}",
                f"{r['rss']:.0f}",
                f"{r['entities']} ({r['enabled']} enabled, {r['with_state']} with a state)",
                versus or "-",
            ]
        )
    return rows


HEADER = [
    "integration",
    "states rows / h",
    "state_attributes rows / h",
    "DB growth MiB / h",
    "HA CPU s / min",
    "RSS MiB",
    "entities",
    "against core",
]


def main(argv: list[str] | None = None) -> None:
    """The parent prints the table; a child (--child) prints its result as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600.0, help="measured window (s)")
    parser.add_argument("--warmup", type=float, default=90.0)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--child", choices=list(KINDS))
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--portal")
    parser.add_argument("--config-dir")
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(asyncio.run(_child(args))))
        return
    results = asyncio.run(_parent(args))
    print(
        f"\nSide by side on the boat GX (recording + day model from noon, {args.seconds:.0f} s "
        "measured after the warm-up, each in its own Home Assistant, SQLite, all at once)\n"
    )
    print(table(HEADER, peer_rows(results)))
    for r in results:  # where the CPU went
        busiest = ", ".join(f"{n} {s:.2f}" for n, s in list(r.get("threads", {}).items())[:5])
        print(f"  CPU s by thread, {KINDS[r['kind']]}: {busiest}", file=sys.stderr)


if __name__ == "__main__":
    main()
