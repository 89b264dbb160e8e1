"""JBD batteries in Home Assistant: the btsnoop captures replayed through the real BleakClient and
the real bleak-retry-connector on a fake radio, the FF AA login, a real pty with a fake BMS
answering with a UART capture, faults (garbage, bad checksums, short frames, a disconnect in the
middle of a frame, a silent BMS), energy integrated and restored across a restart, diagnostics."""

from __future__ import annotations

import logging
from pathlib import Path

from homeassistant.components import bluetooth
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.protocol import jbd
from custom_components.victron_venus.sources import jbd as source_module
from custom_components.victron_venus.sources.jbd import (
    REQUEST_BASIC,
    REQUEST_CELLS,
    REQUEST_HARDWARE,
    EnergyIntegrator,
    JBDSource,
)
from custom_components.victron_venus.transport import jbd as transport_jbd
from custom_components.victron_venus.transport.ble import JBDBleLink
from tests.components.jbd_helpers import (
    ADDRESS,
    advertise,
    entity_id,
    expected_basic,
    expected_cells,
    fast,
    plain_bms,
    serving,
    setup_ble,
    setup_serial,
    state,
    uart_bms,
    v13_bms,
    wait_for,
)
from tests.fakes import jbd_bms as fake

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

MODEL = "JBD-SP04S034-L4S-200A-B-U"


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def _source(entry: object) -> JBDSource:
    source = entry.runtime_data  # type: ignore[attr-defined]
    assert isinstance(source, JBDSource)
    return source


def _ble_link(source: JBDSource) -> JBDBleLink:
    link = source.link
    assert isinstance(link, JBDBleLink)
    return link


def _serial_link(source: JBDSource) -> transport_jbd.JBDSerialLink:
    link = source.link
    assert isinstance(link, transport_jbd.JBDSerialLink)
    return link


async def _first_poll(source: JBDSource) -> None:
    await wait_for(lambda: source.polls >= 1 and not source.in_poll)


def _assert_states(hass: HomeAssistant, uid: str, bms: fake.FakeBms) -> None:
    """Every pack and cell state equals the bytes the BMS last sent."""
    basic = expected_basic(bms.last_answer[REQUEST_BASIC])
    cells = expected_cells(bms.last_answer[REQUEST_CELLS])
    assert float(state(hass, f"{uid}_voltage") or 0) == pytest.approx(basic["voltage"])
    assert float(state(hass, f"{uid}_current") or 0) == pytest.approx(basic["current"])
    assert float(state(hass, f"{uid}_power") or 0) == pytest.approx(
        basic["voltage"] * basic["current"], abs=0.01
    )
    assert float(state(hass, f"{uid}_soc") or 0) == basic["soc"]
    assert float(state(hass, f"{uid}_remaining_capacity") or 0) == pytest.approx(basic["remaining"])
    assert float(state(hass, f"{uid}_nominal_capacity") or 0) == pytest.approx(basic["nominal"])
    assert int(state(hass, f"{uid}_cycles") or -1) == basic["cycles"]
    for n, value in enumerate(basic["temperatures"], start=1):
        assert float(state(hass, f"{uid}_temperature_{n}") or 0) == pytest.approx(value)
    assert state(hass, f"{uid}_temperature_{len(basic['temperatures']) + 1}") is None
    for n, value in enumerate(cells, start=1):
        assert float(state(hass, f"{uid}_cell_voltage_{n}") or 0) == pytest.approx(value)
    assert state(hass, f"{uid}_cell_voltage_{len(cells) + 1}") is None  # only real cells
    assert float(state(hass, f"{uid}_cell_min") or 0) == pytest.approx(min(cells))
    assert float(state(hass, f"{uid}_cell_max") or 0) == pytest.approx(max(cells))
    assert float(state(hass, f"{uid}_cell_average") or 0) == pytest.approx(
        sum(cells) / len(cells), abs=1e-4
    )
    assert float(state(hass, f"{uid}_cell_delta") or 0) == pytest.approx(max(cells) - min(cells))
    assert int(state(hass, f"{uid}_cell_min_index") or 0) == cells.index(min(cells)) + 1
    on = {True: "on", False: "off"}
    assert state(hass, f"{uid}_charge_fet", "binary_sensor") == on[basic["charge_fet"]]
    assert state(hass, f"{uid}_discharge_fet", "binary_sensor") == on[basic["discharge_fet"]]
    for flag in jbd.PROTECTION_FLAGS:
        assert state(hass, f"{uid}_protection_{flag}", "binary_sensor") == "off"


async def test_ble_replay_of_the_snoop_capture(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The 280 Ah 4S capture through the real BleakClient and bleak-retry-connector: the exchange
    sees the capture's own notification chunks in order (20 + 16 for 0x03, 15 for 0x04), and the
    states equal the bytes."""
    seen: list[bytes] = []
    feed = transport_jbd.JBDExchange.feed

    def spy(self: transport_jbd.JBDExchange, chunk: bytes | bytearray) -> None:
        seen.append(bytes(chunk))
        feed(self, chunk)

    monkeypatch.setattr(transport_jbd.JBDExchange, "feed", spy)
    capture = fake.transcript()
    with fake.registered(ADDRESS, plain_bms()) as bms:
        advertise(hass)
        entry = await setup_ble(hass, options={"poll_interval": 60})
        source = _source(entry)
        await _first_poll(source)
        assert seen == [
            b"\x00",  # the lone notification after subscribing (Transcript.stray)
            *fake.model_answer(),
            *capture.response_chunks(REQUEST_BASIC, 0),
            *capture.response_chunks(REQUEST_CELLS, 0),
        ]
        assert [len(c) for c in capture.response_chunks(REQUEST_BASIC, 0)] == [20, 16]
        assert bms.requests == [REQUEST_HARDWARE, REQUEST_BASIC, REQUEST_CELLS]
        _assert_states(hass, ADDRESS, bms)
        assert await source.async_poll()  # 0x05 is asked once: later polls read 0x03 + 0x04
        assert bms.requests[3:] == [REQUEST_BASIC, REQUEST_CELLS]
        _assert_states(hass, ADDRESS, bms)
        assert _ble_link(source).connects == 1  # the connection is kept between polls
        assert _ble_link(source).variant == "ff01/ff02"

        voltage = hass.states.get(entity_id(hass, f"{ADDRESS}_voltage"))
        assert voltage is not None
        assert voltage.name == "House Battery voltage"
        assert voltage.attributes["unit_of_measurement"] == "V"
        assert voltage.attributes["device_class"] == SensorDeviceClass.VOLTAGE
        assert hass.states.get(entity_id(hass, f"{ADDRESS}_cell_voltage_2")).name == (  # type: ignore[union-attr]
            "House Cell 2 voltage"
        )
        charged = hass.states.get(entity_id(hass, f"{ADDRESS}_charged_energy"))
        assert charged is not None
        assert charged.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
        assert charged.attributes["unit_of_measurement"] == "kWh"

        device = dr.async_get(hass).async_get_device_by_identifier(
            (DOMAIN, ADDRESS), entry.entry_id
        )
        assert device is not None
        assert device.model == MODEL  # from 0x05
        assert device.sw_version == "8.0"  # from 0x03
        assert (dr.CONNECTION_BLUETOOTH, ADDRESS) in device.connections
        assert await hass.config_entries.async_unload(entry.entry_id)
        assert not source.link.connected


async def test_v13_module_logs_in_after_every_connect(hass: HomeAssistant) -> None:
    """The FF AA capture's module: the login is the capture's own bytes, reads follow; after a
    reconnect the login is done again (with a new random byte) before reads answer."""
    capture = fake.transcript(fake.TRANSCRIPT_V13)
    logins = [x.request for x in capture.exchanges if x.kind == "auth"][:3]
    with fake.registered(fake.V13_MAC, v13_bms()) as bms:
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        entry = await setup_ble(
            hass, fake.V13_MAC, options={"poll_interval": 60, "password": fake.V13_PASSWORD}
        )
        source = _source(entry)
        await _first_poll(source)
        assert bms.requests[:3] == logins  # app key, random, salted password: byte for byte
        assert _ble_link(source).logins == 1
        _assert_states(hass, fake.V13_MAC, bms)
        assert float(state(hass, f"{fake.V13_MAC}_cell_voltage_3") or 0) == pytest.approx(3.53)

        await source.link.async_close()  # e.g. the proxy dropped the link
        assert not bms.logged_in or bms.connects == 1
        assert await source.async_poll()
        assert bms.connects == 2
        assert _ble_link(source).logins == 2
        _assert_states(hass, fake.V13_MAC, bms)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_v13_module_without_password_never_answers(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """No login: the module ignores reads (only timeouts). Counted, logged once, retried; the
    entities never become available."""
    with fake.registered(fake.V13_MAC, v13_bms()):
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        entry = await setup_ble(hass, fake.V13_MAC, options={"poll_interval": 60})
        source = _source(entry)
        await _first_poll(source)
        assert not await source.async_poll()
        assert source.errors["no_response"] == 6  # 0x05 (still unknown), 0x03, 0x04 x 2 polls
        assert source.good_polls == 0
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len([r for r in warnings if "does not answer" in r.message]) == 1
        assert state(hass, f"{fake.V13_MAC}_voltage") is None  # seeded keys only with a probe
        await hass.config_entries.async_unload(entry.entry_id)


async def test_wrong_password_is_a_connect_failure(hass: HomeAssistant) -> None:
    """The module NACKs a wrong password: the poll fails at connect, nothing is read."""
    with fake.registered(fake.V13_MAC, v13_bms()) as bms:
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        entry = await setup_ble(
            hass, fake.V13_MAC, options={"poll_interval": 60, "password": "654321"}
        )
        source = _source(entry)
        await _first_poll(source)
        assert source.errors["connect"] == 1
        assert "rejected the password" in (source.last_error or "")
        assert jbd.request(jbd.REG_BASIC_INFO) not in bms.requests
        assert not source.link.connected
        await hass.config_entries.async_unload(entry.entry_id)


async def test_fff1_variant_and_released_connection(hass: HomeAssistant) -> None:
    """DH04 boards with FFF1/FFF2 work the same; keep_connection off disconnects after each poll
    and connects again for the next."""
    with fake.registered(ADDRESS, plain_bms(), variant="fff1") as bms:
        advertise(hass)
        entry = await setup_ble(hass, options={"poll_interval": 60, "keep_connection": False})
        source = _source(entry)
        await _first_poll(source)
        assert _ble_link(source).variant == "fff1/fff2"
        assert not source.link.connected
        assert await source.async_poll()
        assert bms.connects == 2
        assert not source.link.connected
        _assert_states(hass, ADDRESS, bms)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_disconnect_in_the_middle_of_a_frame_and_recovery(hass: HomeAssistant) -> None:
    """The link drops after the first 20 bytes of a 0x03 answer: the request fails at once (no
    timeout wait), is counted, and the next poll reconnects and reads whole frames again."""
    with fake.registered(ADDRESS, plain_bms()) as bms:
        advertise(hass)
        entry = await setup_ble(hass, options={"poll_interval": 60})
        source = _source(entry)
        await _first_poll(source)
        assert _ble_link(source).exchange.assembler.bytes_discarded == 1  # the stray 0x00
        bms.fault_request = REQUEST_BASIC
        bms.disconnect_after = 1
        assert not await source.async_poll()
        assert source.errors["link"] == 1
        assert _ble_link(source).disconnects == 1
        assert not source.link.connected
        assert await source.async_poll()
        assert _ble_link(source).connects == 2
        # the 20-byte half frame, dropped, and the lone 0x00 notification after subscribing,
        # once per connection (Transcript.stray)
        assert _ble_link(source).exchange.assembler.bytes_discarded == 20 + 2
        _assert_states(hass, ADDRESS, bms)
        await hass.config_entries.async_unload(entry.entry_id)


async def test_unreachable_battery_and_missing_port_retry_setup(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """Test before setup: a battery nobody hears, a serial port that is not there."""
    entry = await setup_ble(hass, "A4:C1:37:00:00:99", expect_loaded=False)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    entry = await setup_serial(hass, tmp_path / "ttyUSB7", expect_loaded=False)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_ble_connect_failures_are_counted(hass: HomeAssistant) -> None:
    """A busy BMS (connection refused) and a battery nobody hears any more: counted, retried."""
    with fake.registered(ADDRESS, plain_bms()):
        advertise(hass)
        fake.FakeJBDBackend.refuse.add(ADDRESS)
        entry = await setup_ble(hass, options={"poll_interval": 60})
        source = _source(entry)
        await _first_poll(source)
        assert source.errors["connect"] == 1
        fake.FakeJBDBackend.refuse.discard(ADDRESS)
        bluetooth.async_clear_advertisement_history(hass, ADDRESS)  # no longer heard
        assert not await source.async_poll()
        assert source.errors["connect"] == 2
        assert "not advertising" in (source.last_error or "")
        advertise(hass)
        assert await source.async_poll()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_serial_pty_with_faults(
    hass: HomeAssistant, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A fake BMS on a real pty answering with the UART capture: values; then garbage before an
    answer, a bad checksum, a short frame, a silent BMS (unavailable, then back) and an unplugged
    cable: each counted, the loss logged once, and reading resumes every time."""
    bms = uart_bms()
    async with serving(tmp_path, bms) as device:
        entry = await setup_serial(hass, device.link, options={"poll_interval": 60})
        source = _source(entry)
        uid = f"jbd_{device.link}"
        await _first_poll(source)
        assert source.good_polls == 1
        _assert_states(hass, uid, bms)
        assert float(state(hass, f"{uid}_voltage") or 0) == 15.6  # the capture's stated value

        garbage = b"\x00\xff\xdd\x03\x80garbage\x77"  # a false start (DD 03 80) inside
        bms.garbage_next = garbage
        discarded = _serial_link(source).exchange.assembler.bytes_discarded
        assert await source.async_poll()  # garbage before a good answer costs nothing
        # every garbage byte and nothing else is dropped (the answer after it is whole)
        assert _serial_link(source).exchange.assembler.bytes_discarded - discarded == len(garbage)

        bms.fault_request = REQUEST_BASIC
        bms.corrupt_next = True
        assert not await source.async_poll()
        assert _serial_link(source).exchange.assembler.checksum_errors == 1
        assert source.errors["no_response"] == 1
        assert state(hass, f"{uid}_voltage") == "unknown"  # 0x03 lost, 0x04 still arrived
        cells = expected_cells(bms.last_answer[REQUEST_CELLS])  # this poll's 0x04 answer
        assert float(state(hass, f"{uid}_cell_voltage_1") or 0) == pytest.approx(cells[0])

        bms.truncate_next = True
        assert not await source.async_poll()
        assert source.errors["no_response"] == 2
        bms.fault_request = None
        assert await source.async_poll()
        _assert_states(hass, uid, bms)

        source.coordinator.freshness_timeout = 0.2
        bms.silent = True
        assert not await source.async_poll()
        await wait_for(lambda: state(hass, f"{uid}_voltage") == STATE_UNAVAILABLE)
        bms.silent = False
        assert await source.async_poll()
        assert state(hass, f"{uid}_voltage") == "15.6"

        device.unplug()
        await wait_for(lambda: not source.link.connected)
        assert not await source.async_poll()
        assert source.errors["connect"] == 1
        device.replug()
        await wait_for(lambda: source.link.connected, timeout=5)
        assert await source.async_poll()
        _assert_states(hass, uid, bms)
        losses = [r for r in caplog.records if "does not answer" in r.message]
        assert len(losses) == 3  # once per outage (bad frames, silence, cable), not per request
        assert len([r for r in caplog.records if "answers again" in r.message]) == 3
        assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unexpected_error_does_not_end_the_loop(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug in decoding is counted and logged with its traceback; the next poll works."""
    bms = uart_bms()
    async with serving(tmp_path, bms) as device:
        entry = await setup_serial(hass, device.link, options={"poll_interval": 60})
        source = _source(entry)
        await _first_poll(source)
        real = source_module.basic_values

        def broken(info: jbd.BasicInfo) -> dict[str, object]:
            raise RuntimeError("boom")

        monkeypatch.setattr(source_module, "basic_values", broken)
        assert not await source.async_poll()
        assert source.errors["unexpected"] == 1
        monkeypatch.setattr(source_module, "basic_values", real)
        assert await source.async_poll()
        await hass.config_entries.async_unload(entry.entry_id)


async def test_energy_integrated_and_restored_across_a_restart(
    hass: HomeAssistant, tmp_path: Path, hass_storage: dict[str, object]
) -> None:
    """aiobmsble's frame (15.6 V, -2.87 A = -44.772 W): three polls 10 s apart add 20 s of
    discharge; unloading writes the counters, the next setup starts from them and keeps adding;
    deleting the entry deletes them."""
    bms = uart_bms(fake.AIOBMSBLE_NOTE)
    power = 15.6 * -2.87
    async with serving(tmp_path, bms) as device:
        entry = await setup_serial(hass, device.link, options={"poll_interval": 600})
        uid = f"jbd_{device.link}"
        source = _source(entry)
        await _first_poll(source)
        clock = [1e9]  # far from the real monotonic clock: switching is a gap
        source.clock = lambda: clock[0]
        assert await source.async_poll()  # from the real clock to ours: a gap, not integrated
        for _ in range(2):
            clock[0] += 10
            assert await source.async_poll()
        expected_kwh = -power * 20 / 3600 / 1000
        assert float(state(hass, f"{uid}_discharged_energy") or 0) == pytest.approx(
            expected_kwh, abs=1e-6
        )
        assert float(state(hass, f"{uid}_charged_energy") or 0) == 0
        assert await hass.config_entries.async_unload(entry.entry_id)
        key = f"{DOMAIN}.jbd_energy.{entry.entry_id}"
        stored = hass_storage[key]["data"]  # type: ignore[index]
        assert stored["discharged_wh"] == pytest.approx(-power * 20 / 3600)

        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        source = _source(entry)
        await _first_poll(source)
        assert float(state(hass, f"{uid}_discharged_energy") or 0) == pytest.approx(
            expected_kwh, abs=1e-6
        )
        source.clock = lambda: clock[0]
        assert await source.async_poll()  # the first sample after the restart
        clock[0] += 10
        assert await source.async_poll()
        assert float(state(hass, f"{uid}_discharged_energy") or 0) == pytest.approx(
            -power * 30 / 3600 / 1000, abs=1e-6
        )
        assert await hass.config_entries.async_remove(entry.entry_id)
        await hass.async_block_till_done()
        assert key not in hass_storage


def test_energy_integrator_trapezoids_and_zero_crossings() -> None:
    """Worked numbers: charging, discharging, a sign change split at the zero crossing, gaps."""
    energy = EnergyIntegrator(max_gap=60)
    energy.add(0, 100)
    energy.add(36, 100)  # 100 W for 36 s = 1 Wh
    assert energy.charged_wh == pytest.approx(1.0)
    energy.add(72, -100)  # linear 100 -> -100 W, zero at 18 s: two triangles of 0.25 Wh
    assert energy.charged_wh == pytest.approx(1.25)
    assert energy.discharged_wh == pytest.approx(0.25)
    energy.add(108, -300)  # mean -200 W for 36 s = 2 Wh out
    assert energy.discharged_wh == pytest.approx(2.25)
    energy.add(500, -300)  # a 392 s gap is not integrated
    assert energy.gaps == 1
    assert energy.discharged_wh == pytest.approx(2.25)
    energy.add(500, 50)  # no time passed: nothing, and counted as a gap
    assert energy.gaps == 2
    energy.add(536, -250)  # 50 -> -250 W: zero at 6 s (+0.0417 Wh), then -1.25 Wh
    assert energy.charged_wh == pytest.approx(1.25 + 50 * 6 / 2 / 3600)
    assert energy.discharged_wh == pytest.approx(2.25 + 250 * 30 / 2 / 3600)


async def test_diagnostics_redact_password_and_address(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The download has the link's counters and the last values, without secrets."""
    with fake.registered(fake.V13_MAC, v13_bms()):
        advertise(hass, fake.V13_MAC, "JBD-SP04S034-V13")
        entry = await setup_ble(
            hass, fake.V13_MAC, options={"poll_interval": 60, "password": fake.V13_PASSWORD}
        )
        await _first_poll(_source(entry))
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = str(diagnostics)
        assert fake.V13_PASSWORD not in text
        assert fake.V13_MAC not in text
        source = diagnostics["source"]
        assert source["link"]["transport"] == "bluetooth"
        assert source["link"]["logins"] == 1
        assert source["good_polls"] == 1
        assert source["model"] == MODEL
        assert source["devices"]["device_0"]["data"]["cells"] == [3.463, 3.521, 3.53, 3.417]
        await hass.config_entries.async_unload(entry.entry_id)


async def test_exchange_survives_mutated_captured_streams() -> None:
    """Bad input never raises out of the exchange: 3000 random mutations (flipped, dropped,
    inserted bytes, random re-chunking) of the capture's notification stream; every answer that
    arrives intact is delivered to the waiting request, and nothing else is."""
    import asyncio
    import random

    rng = random.Random(4)
    capture = fake.transcript()
    stream = b"".join(capture.notifications())
    answer = b"".join(capture.response_chunks(REQUEST_BASIC, 0))
    delivered = 0
    for _ in range(3000):
        data = bytearray(stream[: rng.randrange(40, 400)])
        for _ in range(rng.randrange(0, 4)):
            at = rng.randrange(len(data))
            match rng.randrange(3):
                case 0:
                    data[at] ^= 1 << rng.randrange(8)
                case 1:
                    del data[at]
                case _:
                    data.insert(at, rng.randrange(256))
        data += answer  # an intact answer at the end
        exchange = transport_jbd.JBDExchange()

        async def write(_frame: bytes, data: bytes = bytes(data), ex: object = exchange) -> None:
            at = 0
            while at < len(data):
                size = rng.randrange(1, 21)
                ex.feed(data[at : at + size])  # type: ignore[attr-defined]
                at += size

        frame = await exchange.request(write, REQUEST_BASIC, 1.0)
        assert frame[:2] == b"\xdd\x03"
        assert jbd.parse_frame(frame)  # verified: it decodes
        delivered += frame == answer
        await asyncio.sleep(0)
    # seed 4 makes the 3000 streams (mutations and chunk sizes) the same on every run: in one of
    # them a mutation forms an earlier valid 0x03 frame, which is delivered instead (it decodes)
    assert delivered == 2999


def test_basic_values_map_every_protection_flag() -> None:
    """Each active protection flag of a 0x03 record turns exactly its binary sensor on."""
    import dataclasses

    record = jbd.parse_frame(fake.captured_frames(fake.UART_NOTE, jbd.REG_BASIC_INFO)[0])
    assert isinstance(record, jbd.BasicInfo)
    for flag in jbd.PROTECTION_FLAGS:
        values = source_module.basic_values(dataclasses.replace(record, protection={flag}))
        on = [key for key, value in values.items() if key.startswith("protection_") and value]
        assert on == [f"protection_{flag}"]
