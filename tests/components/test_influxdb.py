"""Our entities in InfluxDB through Home Assistant's own `influxdb` integration, for real
(issue 12 §6: the bat2influx users' way of logging a Victron battery every second).

A real InfluxDB 1.x (Debian's influxd, installed by scripts/setup) runs on a loopback port with
authentication on and an admin password (made through its HTTP API). A BMV-700 capture is
replayed on a real pty and added through our VE.Direct config flow; InfluxDB is added as a user
does it since Home Assistant 2026.x: the connection through the influxdb config flow, the
include filter in configuration.yaml. Then the bat2influx README's query, by second:

    SELECT mean("value") FROM "A","V","W","%" WHERE "entity_id" =~ /.../ AND time >= ...
    GROUP BY time(1s), "entity_id" fill(none)

must give, for the battery's current, voltage, power and state of charge, exactly the means of
the states Home Assistant wrote in each second, which are the capture's values.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
from datetime import datetime
import json
from pathlib import Path
import shutil
import socket
import subprocess
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest

from custom_components.victron_venus.const import (
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DOMAIN,
)
from tests.components.conftest import capture
from tests.fakes.vedirect_device import PtyDevice, VEDirectReplay, split_records

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"
ADMIN = "admin"
PASSWORD = "v1ctron-venus"  # a throw-away test server's password
DATABASE = "home_assistant"
#: the BMV's rows written to InfluxDB: protocol label -> (unit = measurement, raw -> SI)
QUANTITIES: dict[str, tuple[str, float]] = {
    "I": ("A", 1000.0),
    "V": ("V", 1000.0),
    "P": ("W", 1.0),
    "SOC": ("%", 10.0),
}
#: records of the capture replayed while the test measures, one every REPLAY_INTERVAL s
MEASURED_RECORDS = 12
REPLAY_INTERVAL = 0.25


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class InfluxServer:
    """A running influxd on 127.0.0.1:`port`; `query` speaks its HTTP API (InfluxQL)."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        """The base URL of its HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    def query(
        self, q: str, *, auth: bool = True, db: str | None = DATABASE, post: bool = False
    ) -> dict[str, Any]:
        """One InfluxQL request (blocking); the decoded JSON answer, times in microseconds.
        urllib.error.HTTPError for a refused one (401 without the password)."""
        params = {"q": q, "epoch": "u"}
        if db:
            params["db"] = db
        data = urllib.parse.urlencode(params).encode()
        if post:
            request = urllib.request.Request(self.url + "/query", data=data, method="POST")
        else:
            request = urllib.request.Request(self.url + "/query?" + data.decode())
        if auth:  # HTTP basic authentication, one of the ways InfluxDB 1.x takes credentials
            token = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
            request.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(request, timeout=30) as resp:
            answer: dict[str, Any] = json.loads(resp.read())
        for result in answer.get("results", []):
            assert "error" not in result, (q, result)
        return answer


def _config(root: Path, http_port: int, rpc_port: int) -> str:
    """influxd's configuration: every listener on loopback, authentication on, files in root."""
    return f"""\
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{root}/meta"
  logging-enabled = false
[data]
  dir = "{root}/data"
  wal-dir = "{root}/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:{http_port}"
  auth-enabled = true
  log-enabled = false
  pprof-enabled = false
"""


@pytest.fixture
def influxdb(tmp_path: Path, socket_enabled: None) -> Iterator[InfluxServer]:
    """influxd with authentication on; the admin user made through its HTTP API (allowed once,
    while it has no user), then the database."""
    root = tmp_path / "influxdb"
    root.mkdir()
    port = _free_port()
    conf = root / "influxdb.conf"
    conf.write_text(_config(root, port, _free_port()))
    log = root / "influxd.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [INFLUXD, "run", "-config", str(conf)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    server = InfluxServer(port, process, log)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()[-3000:]
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(server.url + "/ping", timeout=5) as resp:
                    assert resp.status == 204
                break
            assert time.monotonic() < deadline, "influxd did not answer /ping in 60 s"
            time.sleep(0.2)
        server.query(
            f"CREATE USER {ADMIN} WITH PASSWORD '{PASSWORD}' WITH ALL PRIVILEGES",
            auth=False,
            db=None,
            post=True,
        )
        server.query(f"CREATE DATABASE {DATABASE}", db=None, post=True)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture
def hass_config_dir(tmp_path: Path) -> str:
    """Home Assistant's folder for these tests: its configuration.yaml holds the influxdb
    filter (the influxdb integration reads it from the file when its entry is set up)."""
    config = tmp_path / "config"
    config.mkdir()
    return str(config)


def _raw_fields(record: bytes) -> dict[str, str]:
    """label -> raw text of a record, straight from the capture's bytes (not via the parser)."""
    fields: dict[str, str] = {}
    for line in record.split(b"\r\n"):
        label, sep, value = line.partition(b"\t")
        if sep and label != b"Checksum":
            fields[label.decode()] = value.decode()
    return fields


async def _wait_for(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s"
        await asyncio.sleep(0.05)


def _micros(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (InfluxDB's epoch=u)."""
    return round(moment.timestamp() * 1_000_000)


async def _add_bmv(hass: HomeAssistant, link: Path) -> dict[str, str]:
    """The BMV through our VE.Direct config flow, writing every change (write interval 0);
    label -> entity_id of the four rows."""
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "vedirect"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_SERIAL_PORT: str(link)}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    entry = result["result"]
    # bat2influx logged every second: every change reaches the state machine (and InfluxDB)
    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_WRITE_INTERVAL: 0})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    registry = er.async_get(hass)
    ids = {
        label: registry.async_get_entity_id("sensor", DOMAIN, f"{entry.unique_id}_{label}")
        for label in QUANTITIES
    }
    assert None not in ids.values(), ids
    return {label: str(entity_id) for label, entity_id in ids.items()}


async def _add_influxdb(hass: HomeAssistant, server: InfluxServer) -> Any:
    """InfluxDB 1.x through Home Assistant's influxdb config flow (URL, user, password,
    database), as the integration's page asks for it."""
    result = await hass.config_entries.flow.async_init("influxdb", context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "configure_v1"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            "url": server.url,
            "verify_ssl": False,
            "database": DATABASE,
            "username": ADMIN,
            "password": PASSWORD,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    return entry


@pytest.mark.timeout(240)
async def test_bmv_current_voltage_power_soc_by_second_in_influxdb(
    hass: HomeAssistant, influxdb: InfluxServer, tmp_path: Path
) -> None:
    """The bat2influx query on Home Assistant's InfluxDB data: per second, the means of what
    Home Assistant wrote, which are the capture's values; measurements named by unit, tagged
    with the entity's object id."""
    # the password is enforced: without it InfluxDB refuses
    with pytest.raises(urllib.error.HTTPError) as refused:
        await asyncio.to_thread(influxdb.query, "SHOW DATABASES", auth=False)
    assert refused.value.code == 401

    bmv = capture("bmv702")
    records = [_raw_fields(record) for record in split_records(bmv)]
    device = PtyDevice(tmp_path / "tty_bmv")
    setup_replay = VEDirectReplay(device, bmv, interval=0.05, loop=True)
    setup_task = asyncio.create_task(setup_replay.run())
    measured_task: asyncio.Task[None] | None = None
    influx_entry = None
    try:
        ids = await _add_bmv(hass, device.link)
        await _wait_for(
            lambda: all(hass.states.get(e) is not None for e in ids.values()), 10, "BMV states"
        )
        (Path(hass.config.config_dir) / "configuration.yaml").write_text(
            "influxdb:\n  include:\n    entities:\n"
            + "".join(f"      - {entity_id}\n" for entity_id in ids.values())
        )
        influx_entry = await _add_influxdb(hass, influxdb)

        # the measured part: the capture's first records, from a quiet pty, timed by Home
        # Assistant's own state_changed events
        setup_replay.paused = True  # between two records: nothing half-sent
        await asyncio.sleep(0.5)
        await hass.async_block_till_done()
        before = {label: float(hass.states.get(e).state) for label, e in ids.items()}  # type: ignore[union-attr]
        start = dt_util.utcnow()
        written: dict[str, list[tuple[int, float]]] = {label: [] for label in ids}
        label_of = {entity_id: label for label, entity_id in ids.items()}

        @callback
        def on_change(event: Event[EventStateChangedData]) -> None:
            label = label_of.get(event.data["entity_id"])
            new = event.data["new_state"]
            if label is not None and new is not None and event.time_fired >= start:
                written[label].append((_micros(event.time_fired), float(new.state)))

        unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
        measured = b"".join(split_records(bmv)[:MEASURED_RECORDS])
        replay = VEDirectReplay(device, measured, interval=REPLAY_INTERVAL, loop=False)
        measured_task = asyncio.create_task(replay.run())
        await measured_task
        last = records[MEASURED_RECORDS - 1]

        def shows_last() -> bool:
            return all(
                float(hass.states.get(ids[label]).state)  # type: ignore[union-attr]
                == pytest.approx(int(last[label]) / scale)
                for label, (_, scale) in QUANTITIES.items()
            )

        await _wait_for(shows_last, 10, "the last record's values")
        unsubscribe()

        # what Home Assistant wrote is the capture: each change of the replayed records
        for label, (_, scale) in QUANTITIES.items():
            expected: list[float] = []
            previous = before[label]
            for record in records[:MEASURED_RECORDS]:
                value = int(record[label]) / scale
                if value != pytest.approx(previous):
                    expected.append(value)
                previous = value
            assert [value for _, value in written[label]] == pytest.approx(expected), label

        since = _micros(start) * 1000  # InfluxQL time literals are nanoseconds
        pattern = "|".join(ids[label].removeprefix("sensor.") for label in QUANTITIES)
        query = (
            'SELECT mean("value") FROM "A","V","W","%" '
            f'WHERE "entity_id" =~ /^({pattern})$/ AND time >= {since} '
            'GROUP BY time(1s), "entity_id" fill(none)'
        )
        expected_means = {
            label: _means_by_second(written[label]) for label in QUANTITIES if written[label]
        }

        def by_second() -> dict[str, dict[int, float]]:
            series = influxdb.query(query)["results"][0].get("series", [])
            result: dict[str, dict[int, float]] = {}
            for one in series:
                label = label_of["sensor." + one["tags"]["entity_id"]]
                assert one["name"] == QUANTITIES[label][0]  # the measurement is the unit
                result[label] = {row[0]: row[1] for row in one["values"]}
            return result

        # HA's InfluxDB thread writes in batches: wait until every point is there
        deadline = time.monotonic() + 30
        while (got := await asyncio.to_thread(by_second)).keys() != expected_means.keys() or any(
            got[label].keys() != expected_means[label].keys() for label in expected_means
        ):
            assert time.monotonic() < deadline, (got, expected_means)
            await asyncio.sleep(0.5)
        for label, means in expected_means.items():
            assert got[label] == pytest.approx(means), label
        assert {"I", "V", "P"} <= expected_means.keys()  # these change in the first 12 records

        # the raw points: one per state Home Assistant wrote, at its time, tagged as HA names it
        for label, (unit, _) in QUANTITIES.items():
            object_id = ids[label].removeprefix("sensor.")
            answer = await asyncio.to_thread(
                influxdb.query,
                f'SELECT "value", "domain", "entity_id" FROM "{unit}" '
                f"WHERE \"entity_id\" = '{object_id}' AND time >= {since}",
            )
            rows = answer["results"][0].get("series", [{"values": []}])[0]["values"]
            assert [(row[0], row[1]) for row in rows] == written[label], label
            assert {(row[2], row[3]) for row in rows} <= {("sensor", object_id)}
        measurements = await asyncio.to_thread(influxdb.query, "SHOW MEASUREMENTS")
        names = {row[0] for row in measurements["results"][0]["series"][0]["values"]}
        assert names == {"A", "V", "W", "%"}
    finally:
        for task in (setup_task, measured_task):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (setup_task, measured_task) if t is not None), return_exceptions=True
        )
        if influx_entry is not None:
            await hass.config_entries.async_unload(influx_entry.entry_id)
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        device.unplug()


def _means_by_second(points: list[tuple[int, float]]) -> dict[int, float]:
    """(microseconds, value) points -> {start of each second in microseconds: mean}."""
    buckets: dict[int, list[float]] = {}
    for micros, value in points:
        buckets.setdefault(micros - micros % 1_000_000, []).append(value)
    return {second: sum(values) / len(values) for second, values in buckets.items()}
