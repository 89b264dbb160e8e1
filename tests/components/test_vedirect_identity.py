"""Another device on a VE.Direct entry's port is refused, not taken for the entry's (issue 8 §2).

USB serial ports renumber (ttyUSB0 ↔ ttyUSB1) after a reboot or a cable swap. Before the fix, a
second SmartSolar (same PID, another SER#) on the port fed its values to the entry, and a
BlueSolar on a SmartSolar 150/70's port turned the yield total H19 (total_increasing) from
11.58 into 82.72 kWh, silently. Each test swaps the capture served on one real pty mid-run and
checks: every record of the other device is refused and counted, the entities go unavailable,
a repair issue says so (logged once), and when the entry's device is back the issue is deleted
and the entities show its values again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import os
from pathlib import Path
import time
from typing import Any

from homeassistant.components import usb
from homeassistant.components.usb.models import SerialDevice
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import (
    CONF_ENTRY_TYPE,
    CONF_SERIAL_PORT,
    CONF_WRITE_INTERVAL,
    DOMAIN,
)
from custom_components.victron_venus.sources.vedirect import (
    DeviceIdentity,
    VEDirectSource,
    issue_id,
)
from tests.components.conftest import ServeCapture, capture
from tests.fakes.vedirect_device import (
    PtyDevice,
    VEDirectReplay,
    split_records,
    with_field,
    with_serial,
)

OTHER_SERIAL = "HQ2099ABCDE"


async def _wait_for(predicate: Callable[[], Any], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def _setup(
    hass: HomeAssistant, path: Path, *, unique_id: str, pid: str, model: str, title: str
) -> MockConfigEntry:
    """An entry as the config flow makes it (SER# or PID_cable unique_id, PID in data)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=unique_id,
        data={
            CONF_ENTRY_TYPE: "vedirect",
            CONF_SERIAL_PORT: str(path),
            "pid": pid,
            "model": model,
            "labels": [],
        },
        options={CONF_WRITE_INTERVAL: 0},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


class Port:
    """One pty with a paused replay, an entry on it, and helpers to run it in steps."""

    def __init__(self, device: PtyDevice, replay: VEDirectReplay, source: VEDirectSource) -> None:
        self.device = device
        self.replay = replay
        self.source = source

    async def settle(self) -> None:
        """Pause the replay and wait until the source has read every byte written."""
        self.replay.paused = True
        connection = self.source.connection
        await _wait_for(lambda: connection.bytes_received == self.device.bytes_written)

    async def send(self, records: int) -> int:
        """Let at least `records` records go out, settle; how many went out."""
        start = self.replay.sent
        self.replay.paused = False
        await _wait_for(lambda: self.replay.sent >= start + records)
        await self.settle()
        return self.replay.sent - start


async def _port(
    hass: HomeAssistant,
    serve_capture: ServeCapture,
    name: str,
    *,
    unique_id: str,
    pid: str,
    model: str,
    title: str,
) -> tuple[Port, MockConfigEntry]:
    device, replay = serve_capture(name, interval=0.02)
    replay.paused = True  # nothing is written before the entry has the port open
    entry = await _setup(hass, device.link, unique_id=unique_id, pid=pid, model=model, title=title)
    source = entry.runtime_data
    assert isinstance(source, VEDirectSource)
    return Port(device, replay, source), entry


def _entity_id(hass: HomeAssistant, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def _states(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Every state `entity_id` is written with from now on."""
    seen: list[str] = []

    def on_change(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if event.data["entity_id"] == entity_id and new is not None:
            seen.append(new.state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, on_change)
    return seen


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.WARNING and "another device" in r.getMessage()
    ]


async def test_second_smartsolar_with_the_same_pid_is_refused(
    hass: HomeAssistant, serve_capture: ServeCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """A SmartSolar 100/20 entry; another SmartSolar 100/20 (same PID 0xA05F, other SER#)
    takes its port: each of its records is refused and counted, the entities go unavailable,
    the repair issue names the other unit, one warning; the entry's unit back: issue deleted,
    entities available with its values."""
    port, entry = await _port(
        hass,
        serve_capture,
        "smartsolar",
        unique_id="HQ18486U2B4",
        pid="0xA05F",
        model="SmartSolar MPPT 100|20",
        title="Roof MPPT",
    )
    source, coordinator = port.source, port.source.coordinator
    sent = await port.send(3)
    assert source.records == sent
    assert coordinator.updates == sent
    voltage = _entity_id(hass, "HQ18486U2B4_V")
    live_v = hass.states.get(voltage).state  # type: ignore[union-attr]
    assert live_v != STATE_UNAVAILABLE
    written = _states(hass, voltage)
    updates = coordinator.updates

    port.replay.swap(with_serial(capture("smartsolar"), OTHER_SERIAL))
    foreign = await port.send(6)
    await hass.async_block_till_done()
    assert written == [STATE_UNAVAILABLE]
    assert coordinator.updates == updates  # nothing of the other unit reached the entities
    assert source.foreign_records == foreign
    assert source.unidentified_records == 0
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_key == "vedirect_other_device"
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders == {
        "title": "Roof MPPT",
        "port": str(port.device.link),
        "found": f"SmartSolar MPPT 100|20 {OTHER_SERIAL}",
    }
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "Roof MPPT" in warnings[0]
    assert "/dev/serial/by-id/" in warnings[0]

    port.replay.swap(capture("smartsolar"))
    back = await port.send(2)
    await hass.async_block_till_done()
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    assert coordinator.updates == updates + back
    assert source.foreign_records == foreign
    assert hass.states.get(voltage).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert source.last_record is not None
    assert source.last_record.serial == "HQ18486U2B4"
    assert len(_warnings(caplog)) == 1
    assert source.diagnostics()["identity"]["foreign_records"] == foreign
    await hass.config_entries.async_unload(entry.entry_id)


async def test_bluesolar_on_a_smartsolar_150_70_port_never_reaches_its_yield_total(
    hass: HomeAssistant, serve_capture: ServeCapture, caplog: pytest.LogCaptureFixture
) -> None:
    """The issue's case: the 150/70's yield total H19 is 11.58 kWh, the BlueSolar's 82.72 kWh.
    With the BlueSolar on the port, H19 only goes unavailable, never 82.72; back to 11.58 when
    the 150/70 returns. Every BlueSolar record is refused and counted."""
    port, entry = await _port(
        hass,
        serve_capture,
        "smartsolar_150_70",
        unique_id="HQ2247EP3FN",
        pid="0xA06C",
        model="SmartSolar MPPT 150|70 rev2",
        title="Boat MPPT",
    )
    source = port.source
    await port.send(2)
    total = _entity_id(hass, "HQ2247EP3FN_H19")
    assert hass.states.get(total).state == "11.58"  # type: ignore[union-attr]
    written = _states(hass, total)

    port.replay.swap(capture("bluesolar"))
    foreign = await port.send(5)
    await hass.async_block_till_done()
    assert written == [STATE_UNAVAILABLE]
    assert source.foreign_records == foreign  # one block per BlueSolar record, each with PID
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["found"] == "BlueSolar MPPT 75|15 HQ1411MYIKN"

    port.replay.swap(capture("smartsolar_150_70"))
    await port.send(2)
    await hass.async_block_till_done()
    assert written == [STATE_UNAVAILABLE, "11.58"]
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    assert len(_warnings(caplog)) == 1
    await hass.config_entries.async_unload(entry.entry_id)


async def test_blocks_of_another_unit_are_never_merged_into_the_entrys_records(
    hass: HomeAssistant, serve_capture: ServeCapture
) -> None:
    """A SmartSolar 150/70 sends one record as two blocks (PID..OR, then ERR..HSDS with H19).
    Another 150/70 (same PID, other SER#, H19 999.99 kWh) on the port, then the entry's again:
    its first record must not carry the other unit's second block (the parser keeps the latest
    block of each kind), so H19 never shows 999.99."""
    port, entry = await _port(
        hass,
        serve_capture,
        "smartsolar_150_70",
        unique_id="HQ2247EP3FN",
        pid="0xA06C",
        model="SmartSolar MPPT 150|70 rev2",
        title="Boat MPPT",
    )
    source = port.source
    await port.send(2)
    total = _entity_id(hass, "HQ2247EP3FN_H19")
    written = _states(hass, total)
    other = with_field(with_serial(capture("smartsolar_150_70"), OTHER_SERIAL), "H19", "99999")
    port.replay.swap(other)
    sent = await port.send(3)
    # two blocks per record: the PID block is refused; the ERR block with it, or alone (no PID,
    # when the two arrive in separate reads) is not taken either
    assert source.foreign_records + source.unidentified_records == 2 * sent
    assert source.foreign_records >= sent
    # the entry's unit again, its first block alone in one read (as a slow reader gets it)
    own = capture("smartsolar_150_70")
    port.replay.swap(own)
    first = split_records(own)[0]
    end = first.index(b"\r\nChecksum\t") + len(b"\r\nChecksum\t") + 1
    await port.device.write(first[:end])
    await port.settle()
    await hass.async_block_till_done()
    assert "999.99" not in written
    await port.device.write(first[end:])
    await port.send(2)
    await hass.async_block_till_done()
    assert "999.99" not in written
    assert written[0] == STATE_UNAVAILABLE
    assert written[-1] == "11.58"
    assert source.last_record is not None
    assert source.last_record.fields["H19"] == "1158"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_bmv_is_known_by_its_pid_and_its_cable(
    hass: HomeAssistant, serve_capture: ServeCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """BMVs send no SER#: the entry is `<PID>_<cable USB serial>`. A SmartSolar on its port is
    refused by PID; another cable on the port (another BMV-702 after ttyUSB renumbering) is
    refused by the cable's USB serial, checked at each connect; its own cable again: back."""
    device, replay = serve_capture("bmv702", interval=0.02)
    replay.paused = True
    cable = ["CABLE0002"]

    async def scan(_hass: HomeAssistant) -> list[SerialDevice]:
        return [
            SerialDevice(
                device=os.path.realpath(device.link),
                serial_number=cable[0],
                manufacturer="VictronEnergy BV",
                description="VE Direct cable",
            )
        ]

    monkeypatch.setattr(usb, "async_scan_serial_ports", scan)
    entry = await _setup(
        hass,
        device.link,
        unique_id="0x203_CABLE0001",
        pid="0x203",
        model="BMV-700",
        title="House BMV",
    )
    source = entry.runtime_data
    assert isinstance(source, VEDirectSource)
    assert source.identity == DeviceIdentity(pid=0x203, serial=None, cable="CABLE0001")
    port = Port(device, replay, source)
    await _wait_for(lambda: source.cable_serial == "CABLE0002")
    sent = await port.send(4)
    assert source.coordinator.updates == 0
    # main and history block per record: each block a record, all refused
    assert source.foreign_records == 2 * sent
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id))
    assert issue is not None
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["found"] == "a VE.Direct cable with USB serial CABLE0002"

    cable[0] = "CABLE0001"  # the right cable: replug, the next connect checks it
    device.unplug()
    await _wait_for(lambda: not source.connection.connected)
    device.replug()
    await _wait_for(lambda: source.connection.connected and source.cable_serial == "CABLE0001")
    port = Port(device, replay, source)
    port.device.bytes_written = source.connection.bytes_received  # a new pty: count afresh
    before = source.coordinator.updates
    sent = await port.send(3)
    await hass.async_block_till_done()
    assert source.coordinator.updates == before + sent  # one push per record of the right cable
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None
    voltage = hass.states.get(_entity_id(hass, "0x203_CABLE0001_V"))
    assert voltage is not None
    assert voltage.state != STATE_UNAVAILABLE

    # a SmartSolar on the BMV's port: another PID
    port.replay.swap(capture("smartsolar"))
    foreign = source.foreign_records
    refused = await port.send(3)
    assert source.foreign_records == foreign + refused
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is not None
    await hass.config_entries.async_unload(entry.entry_id)
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id(entry.entry_id)) is None


def test_identity_of_entries_as_the_config_flow_makes_them() -> None:
    """SER# entries, BMV entries on a USB cable or on a plain port path, PIDs in any case."""
    assert DeviceIdentity.of_entry("HQ18486U2B4", {"pid": "0xA05F"}) == DeviceIdentity(
        pid=0xA05F, serial="HQ18486U2B4", cable=None
    )
    assert DeviceIdentity.of_entry("0xA381_AB12CD34", {"pid": "0xa381"}) == DeviceIdentity(
        pid=0xA381, serial=None, cable="AB12CD34"
    )
    assert DeviceIdentity.of_entry("0x203_/dev/ttyAMA0", {}) == DeviceIdentity(
        pid=0x203, serial=None, cable=None
    )
