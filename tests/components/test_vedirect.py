"""VE.Direct in Home Assistant on real ptys: entity states and units from real captures, unplug and
replug, freshness, recorder-friendly writes, diagnostics, unload."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
import re
import time
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DOMAIN,
)
from tests.components.conftest import ServeCapture, capture
from tests.fakes.vedirect_device import PtyDevice, split_records
from tests.protocol.test_vedirect import Reference


def _raw_fields(record: bytes) -> dict[str, str]:
    """label → raw text of a record, read straight from the capture bytes (not via the parser)."""
    fields: dict[str, str] = {}
    for line in record.split(b"\r\n"):
        label, sep, value = line.partition(b"\t")
        if sep and label != b"Checksum":
            fields[label.decode()] = value.decode()
    return fields


async def _setup(
    hass: HomeAssistant, path: Path, unique_id: str, interval: int = 0, labels: tuple[str, ...] = ()
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="test",
        unique_id=unique_id,
        data={
            CONF_ENTRY_TYPE: "vedirect",
            CONF_SERIAL_PORT: str(path),
            "model": None,
            "labels": list(labels),
        },
        # every change, at most once per interval (the policies: test_write_policy.py)
        options={CONF_WRITE_INTERVAL: interval, "recording": "detailed"},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _entity_id(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> str:
    entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert entity_id is not None, unique_id
    return entity_id


async def test_bmv702_states_match_the_capture(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """After a full replay, every main and history value equals the last record's raw text."""
    device, replay = serve_capture("bmv702", interval=0.002, loop=False)
    entry = await _setup(hass, device.link, "bmv")
    await _wait_for(lambda: replay.sent == len(replay.records))
    await asyncio.sleep(0.2)
    last = _raw_fields(split_records(capture("bmv702"))[-1])

    def state(key: str) -> str:
        return hass.states.get(_entity_id(hass, f"bmv_{key}")).state  # type: ignore[union-attr]

    assert float(state("V")) == pytest.approx(int(last["V"]) / 1000)
    assert float(state("I")) == pytest.approx(int(last["I"]) / 1000)
    assert float(state("P")) == pytest.approx(int(last["P"]))
    assert float(state("CE")) == pytest.approx(int(last["CE"]) / 1000)
    assert float(state("SOC")) == pytest.approx(int(last["SOC"]) / 10)
    ttg = hass.states.get(_entity_id(hass, "bmv_TTG"))
    assert ttg is not None  # minutes on the wire, shown in hours (issue 12)
    assert ttg.attributes["unit_of_measurement"] == "h"
    assert float(ttg.state) == pytest.approx(int(last["TTG"]) / 60)
    assert last["AR"] == "0"
    assert state("AR") == "none"  # an enum state ("No alarm"), not raw text
    assert float(state("H17")) == pytest.approx(int(last["H17"]) / 100)
    assert float(state("H18")) == pytest.approx(int(last["H18"]) / 100)
    alarm = hass.states.get(_entity_id(hass, "bmv_Alarm", "binary_sensor"))
    assert alarm is not None
    assert alarm.state == ("on" if last["Alarm"] == "ON" else "off")

    voltage = hass.states.get(_entity_id(hass, "bmv_V"))
    assert voltage is not None
    assert voltage.attributes["unit_of_measurement"] == "V"
    assert voltage.attributes["device_class"] == SensorDeviceClass.VOLTAGE
    assert voltage.attributes["state_class"] == SensorStateClass.MEASUREMENT
    assert voltage.name == "test Battery voltage"
    charged = hass.states.get(_entity_id(hass, "bmv_H18"))
    assert charged is not None
    assert charged.attributes["unit_of_measurement"] == "kWh"
    assert charged.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert charged.attributes["device_class"] == SensorDeviceClass.ENERGY

    registry = er.async_get(hass)
    history = registry.async_get(_entity_id(hass, "bmv_H7"))
    assert history is not None  # BMV history is enabled, as core victron_gx has the GX's
    assert history.disabled_by is None
    assert float(state("H7")) == pytest.approx(int(last["H7"]) / 1000)
    cycles = hass.states.get(_entity_id(hass, "bmv_H4"))
    assert cycles is not None
    assert (cycles.state, cycles.attributes["unit_of_measurement"]) == (last["H4"], "cycles")
    await hass.config_entries.async_unload(entry.entry_id)


async def test_phoenix_and_split_record_mppt(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """Phoenix AC output and enum state; SmartSolar 150/70 fields from both halves of its record."""
    phoenix, _ = serve_capture("phoenix", interval=0.05)
    mppt, _ = serve_capture("smartsolar_150_70", interval=0.05)
    await _setup(hass, phoenix.link, "HQ2152UFKWY")
    await _setup(hass, mppt.link, "HQ2247EP3FN")

    def value(unique_id: str, domain: str = "sensor") -> str | None:
        entity_id = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
        state = hass.states.get(entity_id) if entity_id else None
        return state.state if state else None

    await _wait_for(lambda: value("HQ2152UFKWY_AC_OUT_V") not in (None, STATE_UNAVAILABLE))
    assert float(value("HQ2152UFKWY_AC_OUT_V") or 0) == pytest.approx(230.07)
    assert float(value("HQ2152UFKWY_AC_OUT_I") or 0) == pytest.approx(0.1)
    assert float(value("HQ2152UFKWY_AC_OUT_S") or 0) == pytest.approx(38)
    assert value("HQ2152UFKWY_CS") == "inverting"

    await _wait_for(lambda: value("HQ2247EP3FN_H20") not in (None, STATE_UNAVAILABLE))
    # the capture's two records differ; each half of a record comes from its own block
    records = [_raw_fields(r) for r in split_records(capture("smartsolar_150_70"))]
    assert float(value("HQ2247EP3FN_VPV") or 0) in {int(r["VPV"]) / 1000 for r in records}
    assert float(value("HQ2247EP3FN_PPV") or 0) in {float(r["PPV"]) for r in records}
    assert float(value("HQ2247EP3FN_H19") or 0) in {int(r["H19"]) / 100 for r in records}
    assert value("HQ2247EP3FN_CS") == "bulk"
    assert value("HQ2247EP3FN_MPPT") == "active"
    assert value("HQ2247EP3FN_LOAD", "binary_sensor") == "on"


async def test_unplug_makes_unavailable_and_replug_resumes(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """Closing the pty makes the entities unavailable; a new pty on the same path brings them back
    without reloading the entry."""
    device, replay = serve_capture("smartsolar", interval=0.05)
    entry = await _setup(hass, device.link, "HQ18486U2B4")
    entity_id = ""

    def live() -> bool:
        nonlocal entity_id
        entity_id = entity_id or (
            er.async_get(hass).async_get_entity_id("sensor", DOMAIN, "HQ18486U2B4_V") or ""
        )
        state = hass.states.get(entity_id) if entity_id else None
        return state is not None and state.state != STATE_UNAVAILABLE

    await _wait_for(live)
    device.unplug()
    await _wait_for(lambda: not live())
    source = entry.runtime_data
    await _wait_for(lambda: not source.connection.connected)
    device.replug()
    await _wait_for(live, timeout=10)
    assert source.connection.connects == 2
    assert entry.state is ConfigEntryState.LOADED
    sent = replay.sent
    await _wait_for(lambda: replay.sent > sent + 3)


async def test_silent_device_goes_unavailable_and_comes_back(
    hass: HomeAssistant, serve_capture: ServeCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """No verified record for the freshness timeout → unavailable; the next record → available.
    Each transition is logged once, however long the silence lasts."""
    device, replay = serve_capture("phoenix", interval=0.05)
    entry = await _setup(hass, device.link, "HQ2152UFKWY")
    coordinator = entry.runtime_data.coordinator
    await _wait_for(lambda: coordinator.last_update_success)
    coordinator.freshness_timeout = 0.3
    replay.paused = True
    await _wait_for(lambda: not coordinator.last_update_success, timeout=4)
    entity_id = _entity_id(hass, "HQ2152UFKWY_V")
    assert hass.states.get(entity_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    await asyncio.sleep(1.5)  # more freshness checks while silent: no more log lines
    replay.paused = False
    await _wait_for(lambda: hass.states.get(entity_id).state != STATE_UNAVAILABLE)  # type: ignore[union-attr]
    lost = [r for r in caplog.records if "no verified data" in r.getMessage()]
    back = [r for r in caplog.records if "data is back" in r.getMessage()]
    assert len(lost) == 1
    assert len(back) == 1


async def test_setup_retries_when_port_is_missing(hass: HomeAssistant, tmp_path: Path) -> None:
    """A missing port at startup is ConfigEntryNotReady (Home Assistant retries)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id="x",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(tmp_path / "none")},
    )
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_known_labels_give_unavailable_entities_before_data(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Entities the config flow saw exist at once, unavailable until the first record."""
    silent = PtyDevice(tmp_path / "silent")
    await _setup(hass, silent.link, "dev", labels=("V", "I", "PID"))
    state = hass.states.get(_entity_id(hass, "dev_V"))
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    silent.unplug()


async def test_writes_are_rate_limited_but_discrete_changes_are_immediate(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """With a 1 s interval: one write for a burst of values, the latest after the interval, and
    enum changes at once."""
    silent = PtyDevice(tmp_path / "silent")
    entry = await _setup(hass, silent.link, "dev", interval=1, labels=("V", "CS"))
    coordinator = entry.runtime_data.coordinator
    voltage_id, state_id = _entity_id(hass, "dev_V"), _entity_id(hass, "dev_CS")
    writes: list[tuple[str, str]] = []

    def on_change(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] in (voltage_id, state_id) and new is not None:
            writes.append((event.data["entity_id"], new.state))

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    coordinator.async_push({"V": 12.0, "CS": "bulk"})  # availability changes: written at once
    await hass.async_block_till_done()
    assert (voltage_id, "12.0") in writes
    assert (state_id, "bulk") in writes
    writes.clear()
    for value in (12.1, 12.2, 12.3):
        coordinator.async_push({"V": value, "CS": "bulk"})
    await hass.async_block_till_done()
    assert writes == []
    coordinator.async_push({"V": 12.4, "CS": "absorption"})
    await hass.async_block_till_done()
    assert writes == [(state_id, "absorption")]
    await _wait_for(lambda: (voltage_id, "12.4") in writes, timeout=3)
    assert [w for w in writes if w[0] == voltage_id] == [(voltage_id, "12.4")]
    silent.unplug()


async def test_device_registry_and_diagnostics(
    hass: HomeAssistant, serve_capture: ServeCapture, hass_client: ClientSessionGenerator
) -> None:
    """One device with model and firmware; diagnostics carry counters with serials redacted."""
    device, replay = serve_capture("smartsolar", interval=0.02)
    replay.paused = True  # nothing is sent before the port is open: no record is cut
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="SmartSolar",
        unique_id="HQ18486U2B4",
        data={
            CONF_ENTRY_TYPE: "vedirect",
            CONF_SERIAL_PORT: str(device.link),
            "model": "SmartSolar MPPT 100|20",
            "pid": "0xA05F",
            "firmware": "1.39",
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    replay.paused = False
    await _wait_for(lambda: entry.runtime_data.records > 3)
    replay.paused = True
    # every record the replay wrote arrives whole and verifies: none lost, none extra
    await _wait_for(lambda: entry.runtime_data.records == replay.sent)
    dev = dr.async_get(hass).async_get_device_by_identifier((DOMAIN, "HQ18486U2B4"), entry.entry_id)
    assert dev is not None
    assert dev.manufacturer == "Victron Energy"
    assert dev.model == "SmartSolar MPPT 100|20"
    assert dev.sw_version == "1.39"
    assert dev.serial_number == "HQ18486U2B4"

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = str(diagnostics)
    assert "HQ18486U2B4" not in text
    source = diagnostics["source"]
    # the replay sends whole verified blocks only (split_records), so every counter is exact: one
    # record per block sent, the capture's HEX frames among them, nothing bad, nothing discarded
    sent = [replay.records[i % len(replay.records)] for i in range(replay.sent)]
    hex_frames = sum(len(re.findall(rb"(?<!\r\nChecksum\t):[0-9A-F]+\n", r)) for r in sent)
    assert source["records"] == replay.sent
    parser = source["parser"]
    assert parser["blocks"] == replay.sent
    assert parser["hex_frames"] == hex_frames
    assert parser["checksum_errors"] == 0
    assert parser["format_errors"] == parser["overruns"] == parser["hex_checksum_errors"] == 0
    assert parser["bytes_discarded"] == 0
    assert source["port"]["connected"] is True
    assert source["last_raw_record"]["PID"] == "0xA05F"
    assert source["last_raw_record"]["SER#"] == "**REDACTED**"
    connection = entry.runtime_data.connection
    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert not connection.connected


async def test_line_noise_is_counted_and_dropped(
    hass: HomeAssistant, serve_capture: ServeCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """Random bytes and a corrupted block between good records: counted, no error logged, the
    entities stay live with values from verified records only."""
    import random

    device, replay = serve_capture("phoenix", interval=0.05)
    entry = await _setup(hass, device.link, "HQ2152UFKWY")
    source = entry.runtime_data
    await _wait_for(lambda: source.records > 2)
    seen: list[str] = []
    entity_id = _entity_id(hass, "HQ2152UFKWY_AC_OUT_V")

    def on_change(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == entity_id and event.data["new_state"] is not None:
            seen.append(event.data["new_state"].state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    replay.paused = True
    parser = source.parser
    errors, discarded = parser.checksum_errors, parser.bytes_discarded
    rng = random.Random(7)
    noise = bytes(rng.randrange(256) for _ in range(4096))
    await device.write(noise)
    corrupt = bytearray(replay.records[0])
    corrupt[corrupt.index(b"AC_OUT_V\t") + 9] = ord("9")  # 93007 instead of 23007
    await device.write(bytes(corrupt))
    replay.paused = False
    records = source.records
    await _wait_for(lambda: source.records > records + 3)
    # exactly what the byte-at-a-time reference machine of the protocol tests (written from the
    # parser's documented rules, not from its code) counts for the same bytes after a good block
    reference = Reference()
    reference.feed(replay.records[0])
    before = (reference.checksum_errors, reference.bytes_discarded)
    reference.feed(noise + bytes(corrupt) + replay.records[0] * 20)
    expected_errors = reference.checksum_errors - before[0]
    expected_discarded = reference.bytes_discarded - before[1]
    # all the noise is discarded and the corrupted block is the one checksum error
    assert (expected_errors, expected_discarded) == (1, len(noise) + len(corrupt))
    assert parser.checksum_errors - errors == expected_errors
    assert parser.bytes_discarded - discarded == expected_discarded
    state = hass.states.get(entity_id)
    assert state is not None
    assert float(state.state) == pytest.approx(230.07)
    assert "930.07" not in seen  # the corrupted block never reached an entity
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
