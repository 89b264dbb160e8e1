"""Soak: the whole develop setup, faster than real time, with Home Assistant's resources sampled.

Runs scripts/develop's demo (every VE.Direct capture on its pty, the GX simulator on mosquitto with
the GPS sailing plaka.nmea back and forth, two JBD batteries and their bank, the logbook) in a
throw-away folder with the devices sped up `--speed` times, for `--hours` simulated hours
(wall time = hours * 3600 / speed). Every `--sample` seconds it records, for the Home Assistant
process:

- RSS (MiB, VmRSS of /proc/<pid>/status), open file descriptors (/proc/<pid>/fd), threads;
- event-loop lag: the time of a trivial authenticated REST call (GET /api/, "API running."),
  which waits for the loop like any other job;
- the recorder database's size (home-assistant_v2.db with its -wal and -shm files), and the
  pages it has in use (page_count - freelist_count, on a read-only connection; WAL included).

At the end it prints one row per simulated hour, the growth per simulated hour after warm-up
(least-squares slope over the samples after the first `--warmup` fraction of the run), the lag
percentiles, and every WARNING / ERROR line of our loggers (custom_components.victron_venus) with
the count of tracebacks in Home Assistant's whole log. Exit code 0; 1 when the demo did not come up.

What "faster" means: the devices' data come `speed` times faster (VE.Direct records, GPS fixes);
Home Assistant's own clock, the JBD poll interval (the integration's) and the recorder's commit
interval stay real time, so per-hour figures of the recorder are per *simulated* hour at that load.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
import math
import os
from pathlib import Path
import re
import shutil
import statistics
import sys
import tempfile
import time

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))

import develop

LOGGER = "custom_components.victron_venus"
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) \([^)]*\) \[([^\]]+)\] ")


@dataclass
class Sample:
    """One measurement of the Home Assistant process."""

    wall_s: float  # seconds since sampling started
    rss_mib: float
    fds: int
    threads: int
    lag_ms: float
    db_mib: float
    db_used_mib: float  # pages in use of the database (WAL included), not the files' size
    records: int  # VE.Direct records sent so far (all ptys)
    cpu_s: float  # CPU time (user + system) of the process so far, seconds


def proc_status(pid: int) -> tuple[float, int]:
    """(RSS in MiB, thread count) of a process, from /proc/<pid>/status."""
    rss_kib, threads = 0, 0
    with Path(f"/proc/{pid}/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kib = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss_kib / 1024, threads


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, seconds (/proc/<pid>/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def db_size_mib(config_dir: Path) -> float:
    """Size of the recorder database with its WAL and shared-memory files, in MiB."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        path = config_dir / f"home-assistant_v2.db{suffix}"
        if path.exists():
            total += path.stat().st_size
    return total / 2**20


def db_used_mib(config_dir: Path) -> float:
    """MiB of the recorder database's pages in use: (page_count - freelist_count) x page_size,
    read on a read-only connection (which sees the committed WAL frames too). The files' size
    moves in steps (SQLite grows the file in chunks; the WAL keeps its largest size), which
    over an hour at real rates hides a growth of a few hundred KiB; this does not. NaN when
    the file cannot be read."""
    import sqlite3

    path = config_dir / "home-assistant_v2.db"
    if not path.exists():
        return float("nan")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
        try:
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            free = conn.execute("PRAGMA freelist_count").fetchone()[0]
            size = conn.execute("PRAGMA page_size").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:
        return float("nan")
    return (pages - free) * size / 2**20


async def rest_lag_ms(client: develop.HomeAssistantClient) -> float:
    """Milliseconds for GET /api/ (authenticated): the loop's responsiveness as a client sees it."""
    start = time.perf_counter()
    async with client.session.get(
        client.base + "/api/", headers={"Authorization": f"Bearer {client.token}"}
    ) as resp:
        await resp.read()
        if resp.status != 200:
            raise RuntimeError(f"GET /api/: HTTP {resp.status}")
    return (time.perf_counter() - start) * 1000


async def long_lived_token(client: develop.HomeAssistantClient) -> None:
    """Replace the client's access token (Home Assistant lets it live 30 minutes) with a
    long-lived one of one day, over the websocket API, so a soak longer than half an hour keeps
    its REST calls authenticated. Raises RuntimeError when Home Assistant refuses."""
    async with client.session.ws_connect(client.base + "/api/websocket") as ws:
        await ws.receive_json()
        await ws.send_json({"type": "auth", "access_token": client.token})
        await ws.receive_json()
        await ws.send_json(
            {
                "id": 1,
                "type": "auth/long_lived_access_token",
                "client_name": f"soak {time.time():.0f}",
                "lifespan": 1,
            }
        )
        answer = await ws.receive_json()
    if not answer.get("success"):
        raise RuntimeError(f"no long-lived token: {answer.get('error')}")
    client.token = answer["result"]


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100), nearest-rank."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs (0 when fewer than 2 distinct xs)."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def our_log_lines(log_file: Path) -> tuple[list[str], dict[str, int]]:
    """Every WARNING/ERROR/CRITICAL line of our loggers, and the tracebacks in the whole log
    counted by the logger of the record they belong to."""
    lines: list[str] = []
    tracebacks: dict[str, int] = {}
    if not log_file.exists():
        return lines, tracebacks
    logger = "?"
    for line in log_file.read_text(errors="replace").splitlines():
        if line.startswith("Traceback (most recent call last)"):
            tracebacks[logger] = tracebacks.get(logger, 0) + 1
        match = LOG_LINE.match(line)
        if match:
            logger = match.group(2)
            if logger.startswith(LOGGER):
                lines.append(line)
    return lines, tracebacks


def report(samples: list[Sample], speed: float, warmup: float, log_file: Path) -> str:
    """The soak's table: per simulated hour, growth after warm-up, lag, our log lines."""
    out = []
    sim_h = [s.wall_s * speed / 3600 for s in samples]
    out.append(
        "| sim. hour | RSS MiB | fds | threads | lag p50 ms | lag max ms | DB MiB "
        "| DB used MiB | HA CPU % | VE.Direct records |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    previous = samples[0] if samples else None
    hours = int(max(sim_h)) + 1 if samples else 0
    for hour in range(hours):
        group = [s for s, h in zip(samples, sim_h, strict=True) if hour <= h < hour + 1]
        if not group:
            continue
        last = group[-1]
        lags = [s.lag_ms for s in group if not math.isnan(s.lag_ms)] or [math.nan]
        assert previous is not None
        wall = last.wall_s - previous.wall_s
        cpu = 100 * (last.cpu_s - previous.cpu_s) / wall if wall > 0 else 0.0
        previous = last
        out.append(
            f"| {hour + 1} | {last.rss_mib:.1f} | {last.fds} | {last.threads} "
            f"| {statistics.median(lags):.1f} | {max(lags):.1f} | {last.db_mib:.2f} "
            f"| {last.db_used_mib:.3f} | {cpu:.0f} | {last.records} |"
        )
    start = warmup * max(sim_h, default=0)
    steady = [(h, s) for h, s in zip(sim_h, samples, strict=True) if h >= start]
    xs = [h for h, _ in steady]
    lags = [s.lag_ms for _, s in steady if not math.isnan(s.lag_ms)] or [math.nan]
    out.append("")
    out.append(
        f"growth per simulated hour after warm-up (the first {warmup:.0%}, "
        f"{start:.1f} simulated h; {len(steady)} samples):"
    )
    out.append(
        "| RSS MiB/h | fds/h | threads/h | DB MiB/h | DB used MiB/h | lag p50 ms | lag p99 ms "
        "| lag max ms |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    used = [(h, s.db_used_mib) for h, s in steady if not math.isnan(s.db_used_mib)]
    if steady:
        out.append(
            f"| {slope(xs, [s.rss_mib for _, s in steady]):+.2f} "
            f"| {slope(xs, [float(s.fds) for _, s in steady]):+.2f} "
            f"| {slope(xs, [float(s.threads) for _, s in steady]):+.2f} "
            f"| {slope(xs, [s.db_mib for _, s in steady]):+.3f} "
            f"| {slope([h for h, _ in used], [u for _, u in used]):+.3f} "
            f"| {percentile(lags, 50):.1f} | {percentile(lags, 99):.1f} | {max(lags):.1f} |"
        )
    lines, tracebacks = our_log_lines(log_file)
    ours = sum(n for logger, n in tracebacks.items() if logger.startswith(LOGGER))
    others = ", ".join(f"{logger} {n}" for logger, n in sorted(tracebacks.items()))
    out.append("")
    out.append(
        f"tracebacks in Home Assistant's log: {ours} of ours"
        + (f" (all, by logger: {others})" if tracebacks else "")
    )
    out.append(f"{LOGGER} WARNING/ERROR lines: {len(lines)}")
    out.extend(f"  {line[:300]}" for line in lines)
    return "\n".join(out)


async def soak(args: argparse.Namespace) -> int:
    """Bring the demo up sped up, sample until the simulated hours have passed, report."""
    root = Path(tempfile.mkdtemp(prefix="soak-", dir=args.dir))
    demo = develop.Demo(
        root, develop.free_port(), "127.0.0.1", check=False, speed=args.speed, quiet=True
    )
    duration = args.hours * 3600 / args.speed
    develop.log(
        f"soak: {args.hours:g} simulated hours at {args.speed:g}x = {duration / 60:.1f} min "
        f"of sampling every {args.sample:g} s, in {root}"
    )
    samples: list[Sample] = []
    log_file = demo.config_dir / "home-assistant.log"
    try:
        async with develop.running(demo, need_trip=False) as live:
            develop.log(f"soak: {len(live.rows)} live entities; sampling")
            try:
                await long_lived_token(live.client)
            except (aiohttp.ClientError, RuntimeError, KeyError) as err:
                develop.log(f"soak: keeping the 30-minute token ({err!r})")
            pid = live.process.pid
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < duration:
                if live.process.poll() is not None:
                    develop.log(f"soak: Home Assistant exited ({live.process.returncode})")
                    break
                rss, threads = proc_status(pid)
                try:
                    lag = await rest_lag_ms(live.client)
                except (aiohttp.ClientError, RuntimeError) as err:
                    develop.log(f"soak: REST call failed: {err}")
                    lag = float("nan")
                sample = Sample(
                    wall_s=elapsed,
                    rss_mib=rss,
                    fds=sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir()),
                    threads=threads,
                    lag_ms=lag,
                    db_mib=db_size_mib(demo.config_dir),
                    db_used_mib=await asyncio.to_thread(db_used_mib, demo.config_dir),
                    records=sum(replay.sent for replay in live.replays),
                    cpu_s=cpu_seconds(pid),
                )
                samples.append(sample)
                if len(samples) % 6 == 1:
                    develop.log(
                        f"soak: {elapsed / 60:5.1f} min (sim. {elapsed * args.speed / 3600:4.1f} h)"
                        f"  RSS {sample.rss_mib:.1f} MiB  fds {sample.fds}  threads "
                        f"{sample.threads}  lag {sample.lag_ms:.1f} ms  DB {sample.db_mib:.2f} MiB"
                    )
                await asyncio.sleep(max(0.0, start + len(samples) * args.sample - time.monotonic()))
        print()
        print(
            f"soak {time.strftime('%Y-%m-%d')}: {args.hours:g} simulated h at {args.speed:g}x "
            f"({duration / 60:.1f} min), {os.cpu_count()} cores, sample every {args.sample:g} s"
        )
        print(report(samples, args.speed, args.warmup, log_file), flush=True)
        return 0
    except (TimeoutError, RuntimeError, ValueError) as err:
        develop.log(f"soak FAILED: {err}")
        return 1
    finally:
        if args.keep:
            develop.log(f"soak: kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    """Parse arguments and soak."""
    parser = argparse.ArgumentParser(description="Soak the develop setup faster than real time.")
    parser.add_argument("--hours", type=float, default=24, help="simulated hours (24)")
    parser.add_argument("--speed", type=float, default=144, help="times real time (144)")
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples (10)")
    parser.add_argument(
        "--warmup", type=float, default=0.2, help="fraction of the run left out of the growth"
    )
    parser.add_argument("--dir", type=Path, default=develop.REPO / ".dev", help="work folder")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder")
    args = parser.parse_args()
    if args.hours <= 0 or args.speed < 1 or args.sample <= 0 or not 0 <= args.warmup < 1:
        parser.error("--hours > 0, --speed >= 1, --sample > 0, 0 <= --warmup < 1")
    if not develop.FIXTURES.exists():
        print(f"soak: {develop.FIXTURES} is missing", file=sys.stderr)
        return 1
    args.dir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
