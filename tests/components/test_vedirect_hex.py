"""VE.Direct HEX in Home Assistant on real ptys (issue 11): the Control option, each control's
bytes and confirmation, refusals, timeouts, framing errors, identity reads, async values.

The fake device (tests/fakes/vedirect_device.py `HexResponder`) answers like the capture's
device after each TEXT record while the TEXT keeps coming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import re
import time
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_OFF, STATE_ON
from homeassistant.core import HomeAssistant, State
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONF_ENTRY_TYPE, CONF_SERIAL_PORT, DOMAIN
from custom_components.victron_venus.protocol import vedirect_hex as hexp
from custom_components.victron_venus.sources import vedirect_hex as source_hex
from tests.components.conftest import capture
from tests.fakes.vedirect_device import HexResponder, PtyDevice, VEDirectReplay

type Serve = Callable[[str], tuple[PtyDevice, VEDirectReplay, HexResponder]]


@pytest.fixture
async def serve(tmp_path: Any) -> AsyncIterator[Serve]:
    """A capture on a real pty whose device answers HEX: `serve("bluesolar")`."""
    tasks: list[asyncio.Task[None]] = []
    devices: list[PtyDevice] = []

    def start(name: str) -> tuple[PtyDevice, VEDirectReplay, HexResponder]:
        device = PtyDevice(tmp_path / f"tty_{name}")
        responder = HexResponder(capture(name))
        replay = VEDirectReplay(device, capture(name), interval=0.05, hex=responder)
        devices.append(device)
        tasks.append(asyncio.get_running_loop().create_task(replay.run()))
        return device, replay, responder

    yield start
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for device in devices:
        device.unplug()


@pytest.fixture(autouse=True)
def short_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers come within one 0.05 s record; time out after 0.5 s (3 attempts: 1.5 s)."""
    monkeypatch.setattr(source_hex, "HEX_TIMEOUT", 0.5)


async def _setup(
    hass: HomeAssistant, device: PtyDevice, unique_id: str, pid: str, control: bool
) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="test",
        unique_id=unique_id,
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(device.link), "pid": pid},
        options={"write_interval": 0, "recording": "detailed", "control": control},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


async def _wait_for(predicate: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


def _state(hass: HomeAssistant, entity_id: str) -> State:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state


def _entity(hass: HomeAssistant, domain: str, unique_id: str) -> str | None:
    return er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)


async def _entity_appears(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    await _wait_for(lambda: _entity(hass, domain, unique_id) is not None)
    entity_id = _entity(hass, domain, unique_id)
    assert entity_id is not None
    await _wait_for(lambda: hass.states.get(entity_id) is not None)
    return entity_id


def _async_values(name: str, register: int) -> set[Any]:
    """Every value the capture's async frames give `register` (decoded from the raw lines)."""
    values: set[Any] = set()
    for line in re.findall(rb":[0-9A-F]+\n", capture(name)):
        message = hexp.decode_line(line)
        if message is not None and message.register == register:
            values.add(hexp.decode_value(register, message.data))
    assert len(values) >= 1
    return values


async def test_control_off_no_entity_no_byte(hass: HomeAssistant, serve: Serve) -> None:
    """Control off: async HEX frames still update values, but no control entity exists and not
    one byte is ever written to the pty (not a Get, not a ping)."""
    device, replay, responder = serve("smartsolar_150_70")
    entry = await _setup(hass, device, "HQ2247EP3FN", "0xA06C", control=False)
    source = entry.runtime_data
    await _wait_for(lambda: replay.sent >= 12)
    await hass.async_block_till_done()
    # values of the capture's async frames (0xEDBB panel voltage, 0xEDD5 charger voltage)
    data = source.coordinator.data
    assert data["hex_panel_voltage"] in _async_values("smartsolar_150_70", 0xEDBB)
    assert data["hex_charger_voltage"] in _async_values("smartsolar_150_70", 0xEDD5)
    # every frame the parser cut out counted once (most of them from the async line cache)
    assert source.hex.session.async_frames == source.parser.hex_frames > 0
    # the cached values equal a fresh decode of the latest frame of each register
    for register in (0xEDBB, 0xEDD5, 0xEDBC):
        key = f"hex_{hexp.REGISTERS[register].key}"
        assert data[key] in _async_values("smartsolar_150_70", register)
    assert responder.bytes_received == 0
    assert responder.received == []
    assert source.hex.session.sent == 0
    for domain in ("switch", "number", "select", "button"):
        assert hass.states.async_entity_ids(domain) == []
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_mppt_controls(hass: HomeAssistant, serve: Serve) -> None:
    """BlueSolar 75/15: identity over HEX; load output, charger and charge current controls
    write the right Set lines and end as the device reports; out of range sends nothing."""
    device, _replay, responder = serve("bluesolar")
    entry = await _setup(hass, device, "HQ1411MYIKN", "0xA042", control=True)
    source = entry.runtime_data
    load = await _entity_appears(hass, "switch", "HQ1411MYIKN_hex_load_output_control")
    charger = await _entity_appears(hass, "switch", "HQ1411MYIKN_hex_device_mode")
    current = await _entity_appears(hass, "number", "HQ1411MYIKN_hex_battery_maximum_current")
    await _wait_for(lambda: source.hex.reads == 1)
    data = source.coordinator.data
    assert data["hex_product_id"] == 0xA042
    assert data["hex_firmware"] == "1.23"
    assert data["hex_serial_number"] == "HQ1411MYIKN"
    assert len(source.hex.history) == 31
    diagnostics = source.hex.diagnostics()
    assert diagnostics["identity"] == {
        "product_id": "0xA042",
        "firmware": "1.23",
        "serial_number": "HQ1411MYIKN",
    }
    # today 0.00 kWh (the capture's record) + the fake's 30 made-up days
    assert diagnostics["history"]["days"] == 31
    assert diagnostics["history"]["kwh"] == round(
        sum((20 + 5 * ((7 * d) % 11)) / 100 for d in range(1, 31)), 2
    )
    assert _state(hass, load).state == STATE_ON  # TEXT LOAD ON -> 0xEDAB 4
    assert _state(hass, charger).state == STATE_ON
    state = _state(hass, current)
    assert float(state.state) == 15.0
    assert state.attributes["min"] == 0.0
    assert state.attributes["max"] == 15.0

    before = len(responder.received)
    await hass.services.async_call("switch", "turn_off", {"entity_id": load}, blocking=True)
    assert responder.received[before:] == [hexp.set_value(0xEDAB, 0), hexp.get(0xEDAB)]
    assert _state(hass, load).state == STATE_OFF
    assert responder.text_overrides["LOAD"] == "OFF"

    await hass.services.async_call(
        "number", "set_value", {"entity_id": current, "value": 10.0}, blocking=True
    )
    assert responder.received[-2:] == [b":8F0ED0064000C\n", hexp.get(0xEDF0)]
    assert float(_state(hass, current).state) == 10.0

    await hass.services.async_call("switch", "turn_off", {"entity_id": charger}, blocking=True)
    assert responder.received[-2] == hexp.set_value(0x0200, 4)
    assert _state(hass, charger).state == STATE_OFF

    sent = len(responder.received)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": current, "value": 20.0}, blocking=True
        )
    # Home Assistant's number service checks the device's limits (15 A from 0xEDDF) first
    assert err.value.translation_key == "out_of_range"
    assert len(responder.received) == sent
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_write_timeout_framing_error_refusal(hass: HomeAssistant, serve: Serve) -> None:
    """A device that does not answer: not confirmed (translated) after 3 attempts, the state as
    the device says; one framing error: sent again and confirmed; a refusal (flags 0x04)."""
    device, _replay, responder = serve("bluesolar")
    entry = await _setup(hass, device, "HQ1411MYIKN", "0xA042", control=True)
    source = entry.runtime_data
    load = await _entity_appears(hass, "switch", "HQ1411MYIKN_hex_load_output_control")
    await _wait_for(lambda: source.hex.reads == 1)

    responder.ignore = 3
    before = len(responder.received)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_off", {"entity_id": load}, blocking=True)
    assert err.value.translation_key == "vedirect_control_not_confirmed"
    line = hexp.set_value(0xEDAB, 0)
    assert responder.received[before:] == [line, line, line]
    assert _state(hass, load).state == STATE_ON
    assert source.hex.session.timeouts == 3

    responder.framing_errors = 1
    before = len(responder.received)
    await hass.services.async_call("switch", "turn_off", {"entity_id": load}, blocking=True)
    assert responder.received[before:] == [line, line, hexp.get(0xEDAB)]
    assert source.hex.session.framing_errors == 1
    assert _state(hass, load).state == STATE_OFF

    responder.refuse = {0xEDAB}
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call("switch", "turn_on", {"entity_id": load}, blocking=True)
    assert err.value.translation_key == "vedirect_control_refused"
    assert _state(hass, load).state == STATE_OFF
    outcomes = [w["outcome"] for w in source.hex.log.as_list()]
    assert outcomes == ["vedirect_control_not_confirmed", "confirmed", "vedirect_control_refused"]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_phoenix_mode_select(hass: HomeAssistant, serve: Serve) -> None:
    """Phoenix 12/1200: the mode select (on/off/eco) writes 0x0200 and follows the device."""
    device, replay, responder = serve("phoenix")
    entry = await _setup(hass, device, "HQ2152UFKWY", "0xA2F1", control=True)
    mode = await _entity_appears(hass, "select", "HQ2152UFKWY_hex_device_mode")
    state = _state(hass, mode)
    assert state.state == "on"  # TEXT MODE 2
    assert state.attributes["options"] == ["on", "off", "eco"]
    await hass.services.async_call(
        "select", "select_option", {"entity_id": mode, "option": "eco"}, blocking=True
    )
    assert responder.received[-2:] == [hexp.set_value(0x0200, 5), hexp.get(0x0200)]
    assert _state(hass, mode).state == "eco"
    sent = replay.sent
    await _wait_for(lambda: replay.sent >= sent + 2)
    assert entry.runtime_data.last_record.fields["MODE"] == "5"  # the TEXT reports it too
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_turning_control_off_removes_the_control_entities(
    hass: HomeAssistant, serve: Serve
) -> None:
    """Phoenix 12/1200 with Control on, then off in the options (a reload): its mode select
    leaves the registry (nothing would create it again: it stayed as an unavailable leftover),
    its sensors stay, and not one byte is written after the reload."""
    device, _replay, responder = serve("phoenix")
    entry = await _setup(hass, device, "HQ2152UFKWY", "0xA2F1", control=True)
    mode = await _entity_appears(hass, "select", "HQ2152UFKWY_hex_device_mode")
    registry = er.async_get(hass)
    sensors = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    sensors = {e for e in sensors if e.startswith("sensor.")}
    assert sensors
    hass.config_entries.async_update_entry(entry, options={**entry.options, "control": False})
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    sent = responder.bytes_received
    await _wait_for(lambda: entry.runtime_data.last_record is not None)
    assert registry.async_get(mode) is None
    assert hass.states.get(mode) is None
    left = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert sensors <= left
    assert responder.bytes_received == sent
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_bmv_synchronize_button(hass: HomeAssistant, serve: Serve) -> None:
    """BMV-702: the only control is "synchronise SOC to 100 %" (Set 0x102C, no value)."""
    device, _replay, responder = serve("bmv702")
    entry = await _setup(hass, device, "0x203_cable", "0x203", control=True)
    button = await _entity_appears(hass, "button", "0x203_cable_hex_synchronize")
    assert hass.states.async_entity_ids("switch") == []
    assert hass.states.async_entity_ids("number") == []
    await hass.services.async_call("button", "press", {"entity_id": button}, blocking=True)
    assert responder.received[-1] == hexp.set_value(0x102C, None)
    source = entry.runtime_data
    await _wait_for(lambda: source.coordinator.data.get("SOC") == 100.0)
    assert await hass.config_entries.async_unload(entry.entry_id)


def _block(fields: list[tuple[str, str]]) -> bytes:
    """A TEXT block with its checksum (protocols.md §1.2)."""
    body = b"".join(b"\r\n%s\t%s" % (k.encode(), v.encode()) for k, v in fields)
    body += b"\r\nChecksum\t"
    return body + bytes(((256 - sum(body) % 256) % 256,))


async def test_blue_smart_charger_controls(hass: HomeAssistant, tmp_path: Any) -> None:
    """Blue Smart IP22 24|8 (no capture in the shared fixtures: a block with the labels of the
    KinDR007 IP22 capture, protocols.md §1.9): charger on/off (0x0200 1/4) and the charge
    current limit (0xEDF0, at most 0xEDDF = 8.0 A) appear and write."""
    stream = _block(
        [("PID", "0xA332"), ("FWE", "0342FF"), ("SER#", "HQ2030TEST1"), ("V", "26840"),
         ("I", "4100"), ("T", "---"), ("CS", "4"), ("ERR", "0")]
    )  # fmt: skip
    device = PtyDevice(tmp_path / "tty_ip22")
    responder = HexResponder(stream)
    assert responder.family == "charger"
    replay = VEDirectReplay(device, stream, interval=0.05, hex=responder)
    task = asyncio.get_running_loop().create_task(replay.run())
    try:
        entry = await _setup(hass, device, "HQ2030TEST1", "0xA332", control=True)
        charger = await _entity_appears(hass, "switch", "HQ2030TEST1_hex_device_mode")
        current = await _entity_appears(hass, "number", "HQ2030TEST1_hex_battery_maximum_current")
        assert _state(hass, charger).state == STATE_ON
        assert _state(hass, current).attributes["max"] == 8.0
        await hass.services.async_call(
            "number", "set_value", {"entity_id": current, "value": 5.5}, blocking=True
        )
        assert responder.received[-2:] == [hexp.set_value(0xEDF0, 5.5), hexp.get(0xEDF0)]
        assert float(_state(hass, current).state) == 5.5
        await hass.services.async_call("switch", "turn_off", {"entity_id": charger}, blocking=True)
        assert _state(hass, charger).state == STATE_OFF
        assert hass.states.async_entity_ids("select") == []
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        device.unplug()


async def test_port_missing_at_setup_is_translated(hass: HomeAssistant, tmp_path: Any) -> None:
    """A port that cannot be opened: setup retries with the translated vedirect_not_ready."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="MPPT",
        unique_id="HQ0000MISSING",
        data={CONF_ENTRY_TYPE: "vedirect", CONF_SERIAL_PORT: str(tmp_path / "nothing")},
        options={"control": True},
    )
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "vedirect_not_ready"
    assert entry.error_reason_translation_placeholders["port"] == str(tmp_path / "nothing")
