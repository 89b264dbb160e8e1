"""JBD MOSFET control (issue 11 §4): the charge and discharge MOSFET switches of a JBD battery
with Control on, over Bluetooth LE (the real BleakClient on the fake radio, answering with the
btsnoop capture) and over a real pty (the fake BMS answering with the UART capture).

Each switch sends exactly `protocol.jbd.mosfet_control`'s frames (byte-equal to the captured
app's), each after the previous acknowledgement, then reads 0x03 at once and ends confirmed by
its FET bit; no acknowledgement -> jbd_control_not_confirmed; an error status or FET bits that
stay -> jbd_control_refused; the switch always shows what the BMS reports. With Control off
there is no switch and not one write byte reaches the BMS, across polls and reloads.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from pathlib import Path
from typing import Any

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.descriptions.jbd_controls import SWITCHES
from custom_components.victron_venus.protocol import jbd
from custom_components.victron_venus.sources.jbd import (
    REQUEST_BASIC,
    JBDSource,
    mosfet_targets,
)
from tests.components.jbd_helpers import (
    ADDRESS,
    advertise,
    fast,
    plain_bms,
    setup_ble,
    setup_serial,
    state,
    uart_bms,
    wait_for,
)
from tests.fakes import jbd_bms as fake
from tests.fakes.vedirect_device import PtyDevice

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

SWITCH_DOMAIN = Platform.SWITCH.value

CONTROL_ON = {"control": True, "poll_interval": 60}
CONTROL_OFF = {"poll_interval": 0.05}
#: the app's frames (jbd_frames.json, syssi's _MOS.txt and btsnoop captures)
ENTER = bytes.fromhex("dd5a00025678ff3077")
LEAVE = bytes.fromhex("dd5a01020000fffd77")
CHARGE_OFF = bytes.fromhex("dd5ae1020001ff1c77")
DISCHARGE_OFF = bytes.fromhex("dd5ae1020002ff1b77")
BOTH_ON = bytes.fromhex("dd5ae1020000ff1d77")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def _source(entry: Any) -> JBDSource:
    source = entry.runtime_data
    assert isinstance(source, JBDSource)
    return source


async def _first_poll(source: JBDSource) -> None:
    await wait_for(lambda: source.polls >= 1 and not source.in_poll)


def _switch(hass: HomeAssistant, uid: str, key: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(SWITCH_DOMAIN, DOMAIN, f"{uid}_{key}")
    assert entity_id is not None, key
    return entity_id


async def _turn(hass: HomeAssistant, entity_id: str, on: bool) -> None:
    await hass.services.async_call(
        SWITCH_DOMAIN,
        SERVICE_TURN_ON if on else SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: entity_id},
        blocking=True,
    )


def _writes(requests: list[bytes]) -> list[bytes]:
    return [r for r in requests if r[1] == jbd.WRITE]


@contextlib.asynccontextmanager
async def _pty_bms(
    tmp_path: Path, bms: fake.FakeBms
) -> AsyncIterator[tuple[PtyDevice, fake.SerialFakeBms]]:
    """A real pty with `bms` behind it; yields the device and the server (its `received`)."""
    device, server = fake.serve_on_pty(tmp_path / "ttyJBD0", bms)
    task = asyncio.get_running_loop().create_task(server.run())
    try:
        yield device, server
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        device.unplug()


def _frames_on_the_wire(received: bytes | bytearray) -> list[bytes]:
    """Every request frame in the raw bytes the BMS side read (nothing else may be there)."""
    assembler = jbd.FrameAssembler(requests=True)
    frames = assembler.feed(bytes(received))
    assert assembler.bytes_discarded == 0
    assert sum(map(len, frames)) == len(received)
    return frames


# --- Bluetooth -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "off_frame"), [("charge_fet", CHARGE_OFF), ("discharge_fet", DISCHARGE_OFF)]
)
async def test_ble_switch_writes_the_sequence_and_ends_confirmed(
    hass: HomeAssistant, key: str, off_frame: bytes
) -> None:
    """Off: enter factory mode, 0xE1 with the MOSFET's bit, leave; each after the BMS's
    acknowledgement; then 0x03 at once, whose FET bit shows it off. On again: 0xE1 00 00."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_ON)
        source = _source(entry)
        await _first_poll(source)
        switch = _switch(hass, ADDRESS, key)
        assert state(hass, f"{ADDRESS}_{key}", "switch") == "on"  # the capture: FET byte 03
        assert _writes(bms.requests) == []
        before = len(bms.requests)

        await _turn(hass, switch, False)
        sent = bms.requests[before:]
        assert sent[:3] == [ENTER, off_frame, LEAVE]
        assert sent[3] == REQUEST_BASIC  # the confirming read, at once
        assert state(hass, f"{ADDRESS}_{key}", "switch") == "off"
        assert state(hass, f"{ADDRESS}_{key}", "binary_sensor") == "off"
        other = "discharge_fet" if key == "charge_fet" else "charge_fet"
        assert state(hass, f"{ADDRESS}_{other}", "switch") == "on"

        await _turn(hass, switch, True)
        assert _writes(bms.requests) == [ENTER, off_frame, LEAVE, ENTER, BOTH_ON, LEAVE]
        assert state(hass, f"{ADDRESS}_{key}", "switch") == "on"
        log = source.diagnostics()["control"]
        assert [w["outcome"] for w in log["last"]] == ["confirmed", "confirmed"]
        assert [w["new"] for w in log["last"]] == [False, True]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ble_both_off_then_each_keeps_the_other(hass: HomeAssistant) -> None:
    """Charge off, then discharge off: the second write keeps charge off (0xE1 00 03)."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_ON)
        await _first_poll(_source(entry))
        await _turn(hass, _switch(hass, ADDRESS, "charge_fet"), False)
        await _turn(hass, _switch(hass, ADDRESS, "discharge_fet"), False)
        assert _writes(bms.requests)[4] == jbd.write_request(0xE1, b"\x00\x03")
        assert bms.fet_status == 0
        assert state(hass, f"{ADDRESS}_charge_fet", "switch") == "off"
        assert state(hass, f"{ADDRESS}_discharge_fet", "switch") == "off"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_writes_never_interleave_with_polls(hass: HomeAssistant) -> None:
    """Polls every 50 ms while the switches toggle: each write sequence goes out whole between
    two polls, and the next request after it is the confirming 0x03."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options={**CONTROL_ON, "poll_interval": 0.05})
        source = _source(entry)
        await _first_poll(source)
        for key, on in [("charge_fet", False), ("discharge_fet", False), ("charge_fet", True)]:
            polls = source.polls
            await wait_for(lambda: source.polls > polls + 1)  # noqa: B023 - this round's count
            await _turn(hass, _switch(hass, ADDRESS, key), on)
            assert state(hass, f"{ADDRESS}_{key}", "switch") == ("on" if on else "off")
        requests = bms.requests
        starts = [i for i, request in enumerate(requests) if request == ENTER]
        assert len(starts) == 3
        for start in starts:
            assert requests[start + 2] == LEAVE
            assert requests[start + 1][:3] == b"\xdd\x5a\xe1"
            assert requests[start + 3] == REQUEST_BASIC
        both_off = jbd.write_request(0xE1, b"\x00\x03")
        sequences = [ENTER, CHARGE_OFF, LEAVE, ENTER, both_off, LEAVE, ENTER, DISCHARGE_OFF, LEAVE]
        assert _writes(requests) == sequences
        assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.parametrize(
    ("fault", "key", "writes"),
    [
        ("ignore_writes", "jbd_control_not_confirmed", [ENTER]),
        ("refuse_writes", "jbd_control_refused", [ENTER]),
        ("stuck_fets", "jbd_control_refused", [ENTER, CHARGE_OFF, LEAVE]),
    ],
)
async def test_ble_write_not_taken_raises_a_translated_error(
    hass: HomeAssistant, fault: str, key: str, writes: list[bytes]
) -> None:
    """A BMS that does not answer the write (timeout), answers it with status 0x80, or
    acknowledges it and keeps its FET bits: a translated error, and the switch shows on."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_ON)
        source = _source(entry)
        await _first_poll(source)
        setattr(bms, fault, True)
        with pytest.raises(HomeAssistantError) as raised:
            await _turn(hass, _switch(hass, ADDRESS, "charge_fet"), False)
        assert raised.value.translation_domain == DOMAIN
        assert raised.value.translation_key == key
        assert (raised.value.translation_placeholders or {}).get("battery") == "House"
        assert _writes(bms.requests) == writes
        assert state(hass, f"{ADDRESS}_charge_fet", "switch") == "on"
        assert source.diagnostics()["control"]["last"][-1]["outcome"] == key
        setattr(bms, fault, False)  # the battery takes writes again: the next one is confirmed
        await _turn(hass, _switch(hass, ADDRESS, "charge_fet"), False)
        assert state(hass, f"{ADDRESS}_charge_fet", "switch") == "off"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_error_messages_are_translated(hass: HomeAssistant) -> None:
    """The timeout's message is the strings.json text with the battery and the seconds."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_ON)
        await _first_poll(_source(entry))
        bms.ignore_writes = True
        switch = _switch(hass, ADDRESS, "discharge_fet")
        with pytest.raises(HomeAssistantError) as raised:
            await _turn(hass, switch, False)
        assert str(raised.value) == (
            f"{switch}: House did not confirm the MOSFET change: no answer within 0.25 s. "
            "The switch shows what the BMS reports"  # Home Assistant drops the full stop
        )
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_ble_control_off_has_no_switch_and_writes_nothing(hass: HomeAssistant) -> None:
    """Control off (the default): no switch entity; polls and two reloads send reads only, and
    the source's write refuses before anything is sent."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_OFF)
        source = _source(entry)
        await wait_for(lambda: source.polls >= 3)
        for _ in range(2):
            assert await hass.config_entries.async_reload(entry.entry_id)
            await hass.async_block_till_done()
            source = _source(entry)
            await wait_for(lambda: source.polls >= 3)  # noqa: B023 - the current source
        assert state(hass, f"{ADDRESS}_charge_fet", "binary_sensor") == "on"
        assert not hass.states.async_entity_ids(SWITCH_DOMAIN)
        with pytest.raises(HomeAssistantError) as raised:
            await source.async_write(source.coordinator, SWITCHES[0], False)
        assert raised.value.translation_key == "jbd_control_off"
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert bms.requests
        assert _writes(bms.requests) == []
        assert bms.writes == []


async def test_turning_control_off_removes_the_switches(hass: HomeAssistant) -> None:
    """Control on, then off in the options (a reload): the switches leave the registry."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options=CONTROL_ON)
        await _first_poll(_source(entry))
        switch = _switch(hass, ADDRESS, "charge_fet")
        hass.config_entries.async_update_entry(entry, options={**entry.options, "control": False})
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        assert er.async_get(hass).async_get(switch) is None
        assert hass.states.get(switch) is None
        assert _writes(bms.requests) == []
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_control_on_through_the_options_flow(hass: HomeAssistant) -> None:
    """The JBD options form has Control, off by default; turning it on there reloads the entry
    with the two MOSFET switches, showing what the BMS reports."""
    bms = plain_bms()
    advertise(hass)
    with fake.registered(ADDRESS, bms):
        entry = await setup_ble(hass, options={"poll_interval": 60})
        await _first_poll(_source(entry))
        assert not hass.states.async_entity_ids(SWITCH_DOMAIN)
        result = await hass.config_entries.options.async_init(entry.entry_id)
        fields = {str(k): k for k in result["data_schema"].schema}  # type: ignore[union-attr]
        assert fields["control"].default() is False
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"control": True}
        )
        assert entry.options["control"] is True
        await hass.async_block_till_done()
        source = _source(entry)
        await _first_poll(source)
        assert source.control_enabled
        assert state(hass, f"{ADDRESS}_charge_fet", "switch") == "on"
        assert state(hass, f"{ADDRESS}_discharge_fet", "switch") == "on"
        assert _writes(bms.requests) == []  # Control on writes nothing by itself
        assert await hass.config_entries.async_unload(entry.entry_id)


# --- serial (a real pty) -------------------------------------------------------------------------


async def test_serial_switches_write_exactly_these_bytes(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Over the pty: the bytes the BMS side reads are the reads and, per switch, exactly the
    three write frames; both switches end confirmed by the next 0x03; a reload keeps them."""
    bms = uart_bms()
    async with _pty_bms(tmp_path, bms) as (device, server):
        entry = await setup_serial(hass, device.link, options=CONTROL_ON)
        source = _source(entry)
        await _first_poll(source)
        uid = f"jbd_{device.link}"
        assert state(hass, f"{uid}_discharge_fet", "switch") == "on"
        await _turn(hass, _switch(hass, uid, "discharge_fet"), False)
        assert state(hass, f"{uid}_discharge_fet", "switch") == "off"
        await _turn(hass, _switch(hass, uid, "charge_fet"), False)
        assert state(hass, f"{uid}_charge_fet", "switch") == "off"
        both_off = jbd.write_request(0xE1, b"\x00\x03")
        wire = _frames_on_the_wire(server.received)
        assert _writes(wire) == [ENTER, DISCHARGE_OFF, LEAVE, ENTER, both_off, LEAVE]
        assert wire[wire.index(DISCHARGE_OFF) + 2] == REQUEST_BASIC  # confirmed at once

        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        source = _source(entry)
        await _first_poll(source)
        assert state(hass, f"{uid}_charge_fet", "switch") == "off"  # as the BMS reports
        await _turn(hass, _switch(hass, uid, "charge_fet"), True)
        await _turn(hass, _switch(hass, uid, "discharge_fet"), True)
        assert state(hass, f"{uid}_charge_fet", "switch") == "on"
        assert state(hass, f"{uid}_discharge_fet", "switch") == "on"
        assert _writes(_frames_on_the_wire(server.received))[-3:] == [ENTER, BOTH_ON, LEAVE]
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_serial_timeout_is_a_translated_error(hass: HomeAssistant, tmp_path: Path) -> None:
    """A BMS on the pty that ignores writes: not confirmed; the switch stays as reported."""
    bms = uart_bms()
    async with _pty_bms(tmp_path, bms) as (device, _server):
        entry = await setup_serial(hass, device.link, options=CONTROL_ON)
        await _first_poll(_source(entry))
        uid = f"jbd_{device.link}"
        bms.ignore_writes = True
        with pytest.raises(HomeAssistantError) as raised:
            await _turn(hass, _switch(hass, uid, "charge_fet"), False)
        assert raised.value.translation_key == "jbd_control_not_confirmed"
        assert state(hass, f"{uid}_charge_fet", "switch") == "on"
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_serial_control_off_sends_no_write_byte(hass: HomeAssistant, tmp_path: Path) -> None:
    """Control off on the pty: across polls and a reload, every byte read on the BMS side is a
    read request (DD A5); no switch entity."""
    bms = uart_bms()
    async with _pty_bms(tmp_path, bms) as (device, server):
        entry = await setup_serial(hass, device.link, options=CONTROL_OFF)
        source = _source(entry)
        await wait_for(lambda: source.polls >= 3)
        assert await hass.config_entries.async_reload(entry.entry_id)
        await hass.async_block_till_done()
        source = _source(entry)
        await wait_for(lambda: source.polls >= 3)
        assert not hass.states.async_entity_ids(SWITCH_DOMAIN)
        assert await hass.config_entries.async_unload(entry.entry_id)
        wire = _frames_on_the_wire(server.received)
        assert len(wire) >= 6
        assert {frame[:2] for frame in wire} == {b"\xdd\xa5"}
        assert bms.writes == []


# --- what is written for the other MOSFET ---------------------------------------------------------


def _basic(fet: int, protection: int = 0) -> jbd.BasicInfo:
    frame = bytearray(fake.captured_frames(fake.UART_NOTE, jbd.REG_BASIC_INFO)[0])
    frame[24] = fet
    frame[20:22] = protection.to_bytes(2, "big")
    frame[-3:-1] = ((0x10000 - sum(frame[2:-3])) & 0xFFFF).to_bytes(2, "big")
    record = jbd.parse_frame(bytes(frame))
    assert isinstance(record, jbd.BasicInfo)
    return record


def test_the_other_mosfet_keeps_its_reported_state_unless_a_protection_holds_it() -> None:
    """The other MOSFET is written as reported; while a protection (not the software lock) is
    active it is written as our last confirmed write said, else on (never a lock nobody asked)."""
    assert mosfet_targets(_basic(0b11), "charge_fet", False) == (False, True)
    assert mosfet_targets(_basic(0b01), "charge_fet", True) == (True, False)
    assert mosfet_targets(_basic(0b10), "discharge_fet", True) == (False, True)
    software_lock = 1 << 12
    assert mosfet_targets(_basic(0b01, software_lock), "charge_fet", True) == (True, False)
    cell_undervoltage = 1 << 1  # the BMS holds discharge off
    assert mosfet_targets(_basic(0b01, cell_undervoltage), "charge_fet", False) == (False, True)
    written = {"charge_fet": True, "discharge_fet": False}
    assert mosfet_targets(_basic(0b01, cell_undervoltage), "charge_fet", False, written) == (
        False,
        False,
    )
    assert mosfet_targets(None, "discharge_fet", False) == (True, False)
    with pytest.raises(ValueError, match="not a MOSFET key"):
        mosfet_targets(None, "voltage", True)
