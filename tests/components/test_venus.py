"""Venus GX in Home Assistant with real parts: mosquitto (password file, TLS) and the GX simulator
replaying the real boat recording (portal c0619ab4e25c, 2,611 topics).

Devices and values against the recording, broker restart, a GX that goes silent, a vanished and
a new service, malformed payloads, reauth at runtime, pinned TLS, options, diagnostics, unload.
"""

from __future__ import annotations

from collections.abc import Callable
import json
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED, STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import (
    CONF_RECORDING,
    CONF_WRITE_INTERVAL,
    DOMAIN,
    Recording,
)
from custom_components.victron_venus.coordinator import DataReads
from custom_components.victron_venus.descriptions.venus import SERVICE_TYPES
from custom_components.victron_venus.sources import venus as venus_source
from custom_components.victron_venus.transport.mqtt import (
    MqttClient,
    MqttSettings,
    TlsMode,
)
from tests.components.venus_support import (  # fixtures are imported by name
    GX_PASSWORD,
    GX_USER,
    HOST,
    PASSWORD,
    PORTAL,
    USER,
    broker,
    entity_id,
    fast,
    gx,
    recording,
    setup_entry,
    simulator,
    state_of,
    tls_broker,
    tls_gx,
    uid,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker

__all__ = ["broker", "fast", "gx", "tls_broker", "tls_gx"]  # fixtures used by name below

#: every service of these types in the recording must become a device: (service, name, model)
EXPECTED_DEVICES = {
    "battery/275": ("House", "SmartShunt 500A/50mV"),
    "battery/289": ("Starter", "BMV-700"),
    "solarcharger/288": ("Bimini", "SmartSolar MPPT 100|50"),
    "vebus/274": ("House inverter/charger", "MultiPlus Compact 12/2000/80-50 120V"),
    "gps/93": ("NMEA 2000 GPS", "NMEA 2000 GPS"),
    "tank/20": ("Fuel", "Generic Tank Input"),
    "tank/21": ("Fresh Water", "Generic Tank Input"),
    "tank/22": ("Black Water", "Generic Tank Input"),
    "temperature/100": ("Outside", "Virtual temperature"),
    "temperature/101": ("Inside", "Virtual temperature"),
    "temperature/102": ("Water", "Virtual temperature"),
    "temperature/103": ("Fridge Temp", "Virtual temperature"),
    "dcload/288": ("Refrigeration", "SmartShunt 500A/50mV"),
}


def _device(hass: HomeAssistant, service: str) -> dr.DeviceEntry | None:
    identifier = PORTAL if service == "system/0" else f"{PORTAL}_{service.replace('/', '_')}"
    found = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, identifier)})
    return found[0] if found else None


async def _live(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Wait until the first full publish completed and every expected device has entities."""
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    # devices are created one per loop turn after the full publish
    await wait_for(lambda: len(source.devices) >= len(EXPECTED_DEVICES) + 1, what="devices")
    await hass.async_block_till_done()
    await wait_for(lambda: state_of(hass, uid("vebus/274", "State")) is not None)


def _number(hass: HomeAssistant, service: str, path: str) -> float:
    state = state_of(hass, uid(service, path))
    assert state is not None, (service, path)
    return float(state.state)


async def test_recording_becomes_devices_with_values_in_units(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Every battery, solar charger, VE.Bus, GPS, tank and temperature service of the recording
    is a device under the GX device, with the recording's values in Home Assistant's units."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    rec = recording()
    registry = dr.async_get(hass)

    gx_device = _device(hass, "system/0")
    assert gx_device is not None
    assert (gx_device.name, gx_device.model, gx_device.sw_version) == (
        "Ekrano GX",
        "Ekrano GX",
        "v3.70~9",
    )
    ours = dr.async_entries_for_config_entry(registry, entry.entry_id)
    assert len(ours) == len(EXPECTED_DEVICES) + 1
    for service, (name, model) in EXPECTED_DEVICES.items():
        device = _device(hass, service)
        assert device is not None, service
        assert (device.name, device.model) == (name, model), service
        assert device.via_device_id == gx_device.id
        serial = rec.get(f"{service}/Serial")
        assert device.serial_number == (serial or None), service
    house = _device(hass, "battery/275")
    assert house is not None
    assert (house.sw_version, house.model_id) == ("4.16", "0xA389")  # FirmwareVersion 1046

    def same(service: str, path: str, scale: float = 1.0, tolerance: float = 1e-9) -> None:
        expected = rec[f"{service}/{path}"] * scale
        got = _number(hass, service, path)
        assert got == pytest.approx(expected, rel=1e-6, abs=tolerance), path

    # 28 values from the recording, in SI units (tank volumes m³ -> L)
    for path in ("Dc/0/Voltage", "Dc/0/Current", "Dc/0/Power", "Dc/0/Temperature", "Soc"):
        same("battery/275", path)
    same("battery/275", "ConsumedAmphours")
    same("battery/275", "History/ChargedEnergy")
    same("battery/289", "Dc/0/Voltage")
    for path in ("Pv/V", "Yield/Power", "Yield/User", "History/Daily/0/Yield"):
        same("solarcharger/288", path)
    for path in ("Ac/ActiveIn/L1/V", "Ac/ActiveIn/L1/F", "Ac/ActiveIn/L1/I", "Ac/Out/L1/P"):
        same("vebus/274", path)
    same("gps/93", "Altitude")
    same("gps/93", "Course")
    same("gps/93", "Speed")
    for tank in ("tank/20", "tank/21", "tank/22"):
        same(tank, "Level")
        same(tank, "Remaining", 1000, tolerance=0.0005)  # m³ -> L, to the millilitre
    for sensor in ("temperature/100", "temperature/101", "temperature/102", "temperature/103"):
        same(sensor, "Temperature")
    same("system/0", "Dc/Battery/Soc")
    same("system/0", "Dc/Battery/Power")
    # shown in hours (suggested unit, issue 12): 864,000 s
    assert _number(hass, "battery/275", "TimeToGo") == round(rec["battery/275/TimeToGo"]) / 3600

    def attrs(service: str, path: str) -> dict[str, Any]:
        state = state_of(hass, uid(service, path))
        assert state is not None, path
        return dict(state.attributes)

    assert attrs("battery/275", "Dc/0/Voltage")["unit_of_measurement"] == "V"
    assert attrs("battery/275", "TimeToGo")["unit_of_measurement"] == "h"
    assert attrs("gps/93", "Speed")["unit_of_measurement"] == "kn"  # native m/s
    remaining = attrs("tank/20", "Remaining")
    assert (remaining["unit_of_measurement"], remaining["device_class"]) == ("L", "volume_storage")
    energy = attrs("solarcharger/288", "Yield/User")
    assert energy["unit_of_measurement"] == "kWh"
    assert energy["device_class"] == SensorDeviceClass.ENERGY
    assert energy["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert attrs("vebus/274", "Ac/ActiveIn/L1/F")["unit_of_measurement"] == "Hz"
    assert attrs("temperature/100", "Temperature")["state_class"] == SensorStateClass.MEASUREMENT

    # enums decoded to names
    def text(service: str, path: str) -> str:
        state = state_of(hass, uid(service, path))
        assert state is not None, path
        return state.state

    assert text("solarcharger/288", "State") == "float"  # 5
    assert text("solarcharger/288", "MppOperationMode") == "limited"
    assert text("solarcharger/288", "ErrorCode") == "no_error"
    assert text("vebus/274", "State") == "sustain"  # 244
    assert text("vebus/274", "Mode") == "on"  # 3
    assert text("system/0", "SystemState/State") == "sustain"
    assert text("system/0", "Dc/Battery/State") == "discharging"
    assert text("system/0", "Ac/ActiveIn/Source") == "grid"
    assert text("battery/275", "Alarms/LowVoltage") == "ok"
    assert state_of(hass, uid("gps/93", "Fix"), "binary_sensor").state == "on"  # type: ignore[union-attr]

    # the GPS as a device tracker
    tracker = state_of(hass, uid("gps/93", "Position"), "device_tracker")
    assert tracker is not None
    assert tracker.attributes["latitude"] == pytest.approx(rec["gps/93/Position/Latitude"])
    assert tracker.attributes["longitude"] == pytest.approx(rec["gps/93/Position/Longitude"])
    assert tracker.attributes["gps_accuracy"] == 10

    # paths that were only ever null make no entity; unique ids are <device>_<D-Bus path>
    assert entity_id(hass, uid("vebus/274", "Ac/ActiveIn/L2/V")) is None
    assert entity_id(hass, uid("battery/289", "Soc")) is None  # a BMV-700 as starter monitor
    assert entity_id(hass, uid("battery/275", "Dc/0/Voltage")) == "sensor.house_battery_voltage"

    # a live change reaches Home Assistant
    gx.set_value("battery/275/Dc/0/Voltage", 13.21)
    await wait_for(lambda: _number(hass, "battery/275", "Dc/0/Voltage") == 13.21)
    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED


async def test_broker_restart_reconnects_without_duplicates(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The broker restarts (a GX reboot): entities go unavailable, the client reconnects,
    subscribes and asks for a full publish; the same entities come back and values flow."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    registry = er.async_get(hass)
    entities = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    devices = len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id))
    source = entry.runtime_data
    voltage = entity_id(hass, uid("battery/275", "Dc/0/Voltage"))
    assert voltage is not None

    broker.stop()
    await wait_for(lambda: hass.states.get(voltage).state == STATE_UNAVAILABLE)  # type: ignore[union-attr]
    gx.remove_service("temperature", 102)  # while disconnected: nobody hears the removal
    broker.start()
    await wait_for(lambda: source.client.connects >= 2, timeout=10, what="reconnect")
    await wait_for(lambda: source.full_publishes_completed >= 2, timeout=10, what="republish")
    await wait_for(lambda: hass.states.get(voltage).state == "13.7")  # type: ignore[union-attr]
    gx.set_value("battery/275/Dc/0/Voltage", 12.9)
    await wait_for(lambda: hass.states.get(voltage).state == "12.9")  # type: ignore[union-attr]

    await hass.async_block_till_done()
    # the sensor missing from the full publish after the reconnect was removed
    assert _device(hass, "temperature/102") is None
    gone = {e for e in entities if e.startswith("sensor.water_")}
    assert gone
    after = {e.entity_id for e in er.async_entries_for_config_entry(registry, entry.entry_id)}
    assert after == entities - gone  # the same entities, none recreated under a new entity id
    assert len(dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)) == devices - 1
    enabled = {
        e.entity_id
        for e in er.async_entries_for_config_entry(registry, entry.entry_id)
        if e.disabled_by is None
    }
    assert {s.entity_id for s in hass.states.async_all() if s.entity_id in after} == enabled
    assert entry.state is ConfigEntryState.LOADED


async def test_constant_values_stay_available_and_a_silent_gx_goes_unavailable(
    hass: HomeAssistant,
    fast: None,
    monkeypatch: pytest.MonkeyPatch,
    broker: MosquittoBroker,
    gx: GxSimulator,
) -> None:
    """Values that never change stay available while heartbeats come; when nothing comes for
    GX_TIMEOUT (the GX's MQTT plugin stopped) every entity is unavailable until it is back."""
    monkeypatch.setattr(venus_source, "GX_TIMEOUT", 1.5)
    monkeypatch.setattr(venus_source, "KEEPALIVE_INTERVAL", 0.5)
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    fuel = entity_id(hass, uid("tank/20", "Level"))
    assert fuel is not None
    changes: list[str] = []

    def record(event: Event[Any]) -> None:
        if event.data["entity_id"] == fuel:
            changes.append(event.data["new_state"].state)

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    await wait_for(lambda: entry.runtime_data.heartbeats >= 10, timeout=8, what="heartbeats")
    assert changes == []  # 2 s of heartbeats (> GX_TIMEOUT), a constant level, no change
    assert hass.states.get(fuel).state == "51"  # type: ignore[union-attr]
    # a full publish once, then keep-alives that only extend the GX's keep-alive
    assert gx.full_publishes == 1
    assert b'{"keepalive-options":["suppress-republish"]}' in gx.keepalive_requests

    await gx.stop()  # the GX's MQTT plugin stops; the broker and our connection stay up
    await wait_for(lambda: STATE_UNAVAILABLE in changes, timeout=8, what="unavailable")
    assert entry.runtime_data.client.connected
    await gx.start()  # it announces its restart; we ask for a full publish
    await wait_for(lambda: changes[-1] == "51", timeout=8, what="back")
    assert gx.alive
    unsub()


async def test_vanished_service_removes_its_device_and_a_new_one_appears(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Empty payloads on a service's topics remove its device and entities; a service that
    appears later becomes a device of its own (dynamic devices)."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    registry = er.async_get(hass)
    fuel = entity_id(hass, uid("tank/20", "Level"))
    assert fuel is not None and _device(hass, "tank/20") is not None

    gx.remove_service("tank", 20)
    await wait_for(lambda: _device(hass, "tank/20") is None, what="device removed")
    await hass.async_block_till_done()
    assert registry.async_get(fuel) is None
    assert hass.states.get(fuel) is None
    assert _device(hass, "tank/21") is not None  # the others stay
    assert state_of(hass, uid("tank/21", "Level")).state == "55"  # type: ignore[union-attr]

    gx.set_value("tank/21/CustomName", "Drinking water")  # renamed on the GX
    await wait_for(lambda: _device(hass, "tank/21").name == "Drinking water")  # type: ignore[union-attr]
    assert entity_id(hass, uid("tank/21", "Level")) == "sensor.fresh_water_level"  # kept

    gx.add_topics(
        {
            "tank/23/DeviceInstance": 23,
            "tank/23/ProductId": 41313,
            "tank/23/ProductName": "Generic Tank Input",
            "tank/23/CustomName": "Diesel",
            "tank/23/FluidType": 7,
            "tank/23/Level": 80,
            "tank/23/Capacity": 0.2,
            "tank/23/Remaining": 0.16,
        }
    )
    await wait_for(lambda: state_of(hass, uid("tank/23", "Remaining")) is not None)
    assert _number(hass, "tank/23", "Remaining") == pytest.approx(160)
    device = _device(hass, "tank/23")
    assert device is not None and device.name == "Diesel"
    assert state_of(hass, uid("tank/23", "FluidType")).state == "diesel"  # type: ignore[union-attr]


async def test_stale_devices_are_removed_after_a_restart(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A device the GX no longer has when Home Assistant starts (no empty payloads were seen)
    is removed after the first full publish; so is a device of an excluded service type."""
    entry = await setup_entry(hass, broker, expect_loaded=True)
    await _live(hass, entry)
    await hass.config_entries.async_unload(entry.entry_id)
    gx.remove_service("temperature", 103)  # while Home Assistant does not listen
    hass.config_entries.async_update_entry(
        entry,
        options={
            CONF_WRITE_INTERVAL: 0,
            "service_types": [t for t in SERVICE_TYPES if t != "tank"],
        },
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert _device(hass, "tank/20") is None  # excluded type: removed at start
    await wait_for(lambda: _device(hass, "temperature/103") is None, what="stale removed")
    assert _device(hass, "temperature/102") is not None
    assert state_of(hass, uid("tank/21", "Level")) is None


async def test_malformed_payloads_are_counted_and_ignored(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Non-JSON, JSON without value, text where a number belongs, bad topics: counted, never an
    exception; JSON null shows unknown; the next good value is used."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    source = entry.runtime_data
    soc = entity_id(hass, uid("battery/275", "Soc"))
    assert soc is not None
    publisher = MqttClient(
        MqttSettings(HOST, broker.port, username=GX_USER, password=GX_PASSWORD), [], print
    )
    await publisher.async_connect()
    topic = f"N/{PORTAL}/battery/275/Soc"
    bad = [
        (topic, b"not json"),
        (topic, b'{"novalue": 1}'),
        (topic, b"[1, 2]"),
        (topic, b"\xff\xfe\x00"),
        (topic, b"[" * 100_000),
        (f"N/{PORTAL}/battery", b'{"value": 1}'),
        (f"N/{PORTAL}//275/Soc", b'{"value": 1}'),
    ]
    for bad_topic, payload in bad:
        publisher.publish(bad_topic, payload)
    publisher.publish(topic, b'{"value": "full"}')
    await wait_for(lambda: hass.states.get(soc).state == STATE_UNKNOWN)  # type: ignore[union-attr]
    stats = source.stats
    assert (stats.bad_json, stats.no_value, stats.bad_topic) == (3, 2, 2)
    publisher.publish(topic, b'{"value": null}')
    publisher.publish(topic, b'{"value": 87.5}')
    await wait_for(lambda: hass.states.get(soc).state == "87.5")  # type: ignore[union-attr]
    publisher.publish(f"N/{PORTAL}/solarcharger/288/State", b'{"value": 99}')  # unknown code
    publisher.publish(f"N/{PORTAL}/solarcharger/288/State", b'{"value": "5"}')  # wrong type
    publisher.publish(f"N/{PORTAL}/gps/93/Position/Latitude", b'{"value": "north"}')
    tracker = entity_id(hass, uid("gps/93", "Position"), "device_tracker")
    assert tracker is not None
    await wait_for(lambda: hass.states.get(tracker).state == STATE_UNKNOWN)  # type: ignore[union-attr]
    assert state_of(hass, uid("solarcharger/288", "State")).state == STATE_UNKNOWN  # type: ignore[union-attr]
    await publisher.async_stop()
    assert source.client.callback_errors == 0
    assert source.push_errors == 0
    assert entry.state is ConfigEntryState.LOADED


async def test_wrong_password_at_runtime_starts_reauth(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The GX's password changes while running: the broker refuses the reconnect, entities are
    unavailable and a reauth flow asks for the new password; with it the GX is live again."""
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    broker.users[USER] = "new-password"
    broker.restart()
    flows: list[Any] = []

    def reauth_flows() -> list[Any]:
        flows[:] = [
            f
            for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
            if f["context"]["source"] == SOURCE_REAUTH
        ]
        return flows

    await wait_for(reauth_flows, timeout=10, what="reauth flow")
    assert flows[0]["step_id"] == "reauth_confirm"
    assert state_of(hass, uid("battery/275", "Soc")).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert "refused the credentials" in (entry.runtime_data.client.last_error or "")

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {"username": USER, "password": "new-password"}
    )
    assert result["reason"] == "reauth_successful"
    await hass.async_block_till_done()
    assert entry.data["password"] == "new-password"
    await _live(hass, entry)
    assert state_of(hass, uid("battery/275", "Soc")).state == "100"  # type: ignore[union-attr]


async def test_setup_with_bad_password_raises_auth_failed(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """At setup, refused credentials start reauth (ConfigEntryAuthFailed); an unreachable broker
    retries (ConfigEntryNotReady)."""
    entry = await setup_entry(hass, broker, password="wrong", expect_loaded=False)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert any(
        f["context"]["source"] == SOURCE_REAUTH
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    )
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id="0123456789ab",
        data={**entry.data, "port": 1, "portal_id": "0123456789ab"},
    )
    other.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(other.entry_id)
    assert other.state is ConfigEntryState.SETUP_RETRY


async def test_pinned_certificate_accepted_wrong_pin_rejected(
    hass: HomeAssistant, fast: None, tls_broker: MosquittoBroker, tls_gx: GxSimulator
) -> None:
    """TLS with the broker's SHA-256 pinned works end to end (MQTT 5 here); another pin is
    refused before any credentials are sent."""
    cert = tls_broker.certificate
    assert cert is not None
    entry = await setup_entry(
        hass, tls_broker, tls_mode="pinned", fingerprint=cert.sha256_colons, protocol="5"
    )
    await _live(hass, entry)
    assert entry.runtime_data.client.peer_fingerprint == cert.sha256
    await hass.config_entries.async_unload(entry.entry_id)

    wrong = "ab" * 32
    client = MqttClient(
        MqttSettings(HOST, tls_broker.port, tls=TlsMode.PINNED, fingerprint=wrong), [], print
    )
    with pytest.raises(Exception, match="another fingerprint"):
        await client.async_connect()
    hass.config_entries.async_update_entry(entry, data={**entry.data, "fingerprint": wrong})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics_redact_secrets_and_list_every_topic(  # noqa: PLR0917
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fast: None,
    monkeypatch: pytest.MonkeyPatch,
    broker: MosquittoBroker,
    gx: GxSimulator,
) -> None:
    """Counters, devices and the latest value of every topic; password, portal id, serials and
    the position redacted."""
    # no retry of the full publish (`fast` asks again after 2 s, which a loaded machine reaches
    # before the 2,609 topics are in): one request, one full publish, one completion
    monkeypatch.setattr(venus_source, "FULL_PUBLISH_RETRY", 3600.0)
    entry = await setup_entry(hass, broker)
    await _live(hass, entry)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    text = json.dumps(diagnostics)
    assert PORTAL not in text.lower()
    assert PASSWORD not in text
    assert "HQ2019JHULS" not in text  # the SmartShunt's serial
    assert "39.06" not in text  # the boat's latitude
    source = diagnostics["source"]
    assert source["connection"]["connected"] is True
    assert source["parser"]["errors"] == 0
    assert source["gx"]["full_publishes_requested"] == 1
    assert source["gx"]["full_publishes_completed"] == 1
    assert gx.full_publishes == 1
    assert source["gx"]["devices"] == len(EXPECTED_DEVICES) + 1
    assert len(source["devices"]) == len(EXPECTED_DEVICES) + 1
    topics = source["topics"]
    assert len(topics) == len(gx.topics)  # every topic the GX has, once
    assert topics["battery/275/Dc/0/Voltage"] == 13.7
    assert topics["battery/289/Soc"] is None
    assert topics["battery/275/Serial"] == "**REDACTED**"
    assert diagnostics["entry"]["data"]["password"] == "**REDACTED**"


async def test_write_interval_limits_writes(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Recording detailed, 5 s interval: a fast-changing value is written once, then its latest
    value at the end of the interval; enum states are written at once."""
    entry = await setup_entry(
        hass, broker, options={CONF_WRITE_INTERVAL: 5, CONF_RECORDING: Recording.DETAILED}
    )
    await _live(hass, entry)
    voltage = entity_id(hass, uid("battery/275", "Dc/0/Voltage"))
    writes: list[str] = []

    def record(event: Event[Any]) -> None:
        if event.data["entity_id"] == voltage:
            writes.append(event.data["new_state"].state)

    unsub = hass.bus.async_listen(EVENT_STATE_CHANGED, record)
    gx.set_value("battery/275/Dc/0/Voltage", 13.0)  # written at once or at its interval's end
    await wait_for(lambda: writes == ["13.0"], timeout=10, what="13.0 written")
    for n in range(1, 20):  # within 5 s of that write: held back
        gx.set_value("battery/275/Dc/0/Voltage", 13.0 + n / 100)
    gx.set_value("solarcharger/288/State", 3)
    await wait_for(lambda: state_of(hass, uid("solarcharger/288", "State")).state == "bulk")  # type: ignore[union-attr]
    assert writes == ["13.0"]
    # the interval ends: the latest value, once
    await wait_for(lambda: len(writes) == 2, timeout=10, what="the interval's write")
    assert writes == ["13.0", "13.19"]
    unsub()
    await hass.config_entries.async_unload(entry.entry_id)


async def test_a_message_updates_the_entities_that_read_its_path(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The GX publishes a path when it changes: a push names the paths received, and of the
    device's sensors only those whose row read one of them are evaluated (the others' values
    cannot have changed); listeners of other kinds hear every push. The state still follows.
    (A keep-alive's full publish may land in the same moment: it names every path, and then
    every reader is evaluated, as it should be; the expected set follows the pushes seen.)"""
    entry = await setup_entry(
        hass, broker, options={CONF_WRITE_INTERVAL: 0, CONF_RECORDING: Recording.DETAILED}
    )
    await _live(hass, entry)
    coordinator = entry.runtime_data.devices[f"{PORTAL}_battery_275"]
    heard: set[int] = set()
    reads: dict[int, set[str] | None] = {}
    for number, (update, context) in list(coordinator._listeners.items()):

        def counted(update: Callable[[], None] = update, number: int = number) -> None:
            heard.add(number)
            update()

        coordinator._listeners[number] = (counted, context)
        reads[number] = context.read if isinstance(context, DataReads) else None
    voltage_readers = {n for n, read in reads.items() if read and "Dc/0/Voltage" in read}
    others = {n for n, read in reads.items() if read is None}
    assert voltage_readers and len(reads) > len(voltage_readers) + len(others) + 10
    named: list[set[str]] = []
    push = coordinator.async_push

    def recording_push(data: Any, changed: Any = None) -> None:
        named.append(set(changed) if changed is not None else set(data))
        push(data, changed)

    coordinator.async_push = recording_push
    gx.set_value("battery/275/Dc/0/Voltage", 12.34)
    await wait_for(lambda: _number(hass, "battery/275", "Dc/0/Voltage") == 12.34)
    assert {"Dc/0/Voltage"} in named
    received = set().union(*named)
    expected = others | {n for n, read in reads.items() if read and read & received}
    assert heard == expected
    if received == {"Dc/0/Voltage"}:  # the usual case: nothing else arrived meanwhile
        assert heard == voltage_readers | others
    await hass.config_entries.async_unload(entry.entry_id)


async def test_simulator_on_tls_with_custom_ca(
    hass: HomeAssistant, fast: None, tls_broker: MosquittoBroker, tls_gx: GxSimulator
) -> None:
    """TLS verified against a custom CA (the GX's own certificate as CA)."""
    cert = tls_broker.certificate
    assert cert is not None
    entry = await setup_entry(hass, tls_broker, tls_mode="ca", ca_cert=cert.cert_path.read_text())
    await _live(hass, entry)
    assert state_of(hass, uid("battery/275", "Soc")).state == "100"  # type: ignore[union-attr]


async def test_second_gx_on_the_same_broker_is_ignored(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Another GX on the same broker: only our portal's topics are routed."""
    async with simulator(broker, portal_id="0123456789ab"):
        entry = await setup_entry(hass, broker)
        await _live(hass, entry)
        devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
        assert len(devices) == len(EXPECTED_DEVICES) + 1
