"""Control of a Venus GX with real parts: mosquitto, the GX simulator (dbus-flashmq's W/ semantics)
replaying the boat recording, Home Assistant's number/select/switch/button/time services.

Every control row writes its W/ topic with the right payload and ends in the state the GX reports;
a GX that does not answer, refuses, is not connected, or a value out of range each give their
translated error and leave the state as the GX reports it; with Control off there are no control
entities and nothing is ever published on W/.
"""

from __future__ import annotations

import asyncio
from datetime import time as dt_time
import json
import logging
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import entity_registry as er
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import CONF_WRITE_INTERVAL, DOMAIN
from custom_components.victron_venus.control import (
    VictronNumberEntityDescription,
    VictronSelectEntityDescription,
    VictronSwitchEntityDescription,
)
from custom_components.victron_venus.descriptions import venus_controls as rows
from custom_components.victron_venus.sources import venus as venus_source
from custom_components.victron_venus.sources.venus_control import CONF_CONTROL
from tests.components.venus_support import (  # fixtures are imported by name
    HOST,
    PASSWORD,
    PORTAL,
    USER,
    broker,
    fast,
    gx,
    setup_entry,
    simulator,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker
from tests.shared import REPO

__all__ = ["broker", "fast", "gx"]

CONTROL_PLATFORMS = ("number", "select", "switch", "button", "time")
ON = {CONF_WRITE_INTERVAL: 0, CONF_CONTROL: True}

#: services the recording lacks, added to the simulated GX so that every control row has a path
EXTRA_TOPICS: dict[str, Any] = {
    "vebus/274/Hub4/L1/AcPowerSetpoint": 0,
    "vebus/274/Hub4/DisableCharge": 0,
    "vebus/274/Hub4/DisableFeedIn": 0,
    "generator/0/ManualStart": 0,
    "generator/0/ManualStartTimer": 0,
    "generator/0/AutoStartEnabled": 0,
    "generator/0/ServiceCounterReset": 0,
    "generator/0/State": 0,
    "inverter/30/ProductName": "Phoenix Inverter 12/800",
    "inverter/30/DeviceInstance": 30,
    "inverter/30/Mode": 2,
    "charger/31/ProductName": "Blue Smart IP22 Charger 12|30",
    "charger/31/DeviceInstance": 31,
    "charger/31/Mode": 1,
    "dcdc/33/ProductName": "Orion XS 12/12-50A",
    "dcdc/33/DeviceInstance": 33,
    "dcdc/33/Mode": 4,
    "multi/32/ProductName": "Multi RS Solar 48/6000",
    "multi/32/DeviceInstance": 32,
    "multi/32/Mode": 3,
    "multi/32/Ess/AcPowerSetpoint": 0,
    "evcharger/40/ProductName": "EV Charging Station",
    "evcharger/40/DeviceInstance": 40,
    "evcharger/40/Mode": 0,
    "evcharger/40/SetCurrent": 6,
    "evcharger/40/MaxCurrent": 16,
    "evcharger/40/StartStop": 0,
}


class WriteWatcher:
    """A plain MQTT client on the broker that records every W/ message (topic, payload)."""

    def __init__(self, port: int) -> None:
        """Connect and subscribe to W/# (wait with `ready`)."""
        self.messages: list[tuple[str, bytes]] = []
        self._subscribed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="w-watcher")
        client.username_pw_set(USER, PASSWORD)
        client.on_connect = lambda c, *_: c.subscribe("W/#")

        def subscribed(*_: object) -> None:
            self._loop.call_soon_threadsafe(self._subscribed.set)

        client.on_subscribe = subscribed
        client.on_message = lambda _c, _u, m: self.messages.append((m.topic, bytes(m.payload)))
        client.connect(HOST, port)
        client.loop_start()
        self.client = client

    async def ready(self) -> None:
        """Subscribed."""
        async with asyncio.timeout(5):
            await self._subscribed.wait()

    def stop(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


async def _live(hass: HomeAssistant, entry: MockConfigEntry, controls: int) -> None:
    """Wait for the full publish and for `controls` control entities of `entry`."""
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    await wait_for(lambda: len(_controls(hass, entry)) >= controls, what="control entities")
    await hass.async_block_till_done()


def _controls(hass: HomeAssistant, entry: MockConfigEntry) -> list[er.RegistryEntry]:
    return [
        e
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
        if e.domain in CONTROL_PLATFORMS
    ]


def _entity(hass: HomeAssistant, domain: str, unique_id: str) -> str:
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, unique_id
    return found


def _state(hass: HomeAssistant, entity_id: str) -> str:
    state = hass.states.get(entity_id)
    assert state is not None, entity_id
    return state.state


#: the control entities of the recording with Control on: (domain, unique id) -> state
RECORDING_CONTROLS = {
    ("select", f"{PORTAL}_vebus_274_Mode"): "on",
    ("number", f"{PORTAL}_vebus_274_Ac/In/1/CurrentLimit"): "30.0",
    ("number", f"{PORTAL}_vebus_274_Settings/AssistCurrentBoostFactor"): "2.0",
    ("switch", f"{PORTAL}_controls_settings/0/Settings/CGwacs/OvervoltageFeedIn"): STATE_OFF,
    ("switch", f"{PORTAL}_solarcharger_288_Mode"): STATE_ON,
    ("select", f"{PORTAL}_controls_settings/0/Settings/CGwacs/BatteryLife/State"): (
        "optimized_with_battery_life"
    ),
    ("select", f"{PORTAL}_controls_settings/0/Settings/CGwacs/Hub4Mode"): "total_of_all_phases",
    ("number", f"{PORTAL}_controls_settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"): (
        "10.0"
    ),
    ("number", f"{PORTAL}_controls_settings/0/Settings/CGwacs/AcPowerSetPoint"): "50.0",
    ("number", f"{PORTAL}_controls_settings/0/Settings/CGwacs/MaxDischargePower"): "-1.0",
    ("number", f"{PORTAL}_controls_settings/0/Settings/SystemSetup/MaxChargeCurrent"): "60.0",
    ("number", f"{PORTAL}_controls_settings/0/Settings/SystemSetup/MaxChargeVoltage"): "0.0",
    ("switch", f"{PORTAL}_controls_system/0/Relay/0/State"): STATE_OFF,
    ("switch", f"{PORTAL}_controls_system/0/Relay/1/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_100_SwitchableOutput/output_1/State"): STATE_ON,
    ("number", f"{PORTAL}_switch_100_SwitchableOutput/output_1/Dimming"): "51.3725490196",
    ("switch", f"{PORTAL}_switch_100_SwitchableOutput/output_2/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_100_SwitchableOutput/output_3/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_100_SwitchableOutput/output_4/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_101_SwitchableOutput/output_1/State"): STATE_ON,
    ("number", f"{PORTAL}_switch_101_SwitchableOutput/output_1/Dimming"): "6.0",
    ("switch", f"{PORTAL}_switch_101_SwitchableOutput/output_2/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_101_SwitchableOutput/output_3/State"): STATE_ON,
    ("switch", f"{PORTAL}_switch_101_SwitchableOutput/output_4/State"): STATE_ON,
    ("switch", f"{PORTAL}_switch_102_SwitchableOutput/output_1/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_102_SwitchableOutput/output_2/State"): STATE_OFF,
    ("switch", f"{PORTAL}_switch_102_SwitchableOutput/output_3/State"): STATE_OFF,
}


async def test_the_recording_has_these_controls_with_the_gx_values(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """With Control on, the boat GX's writable paths are entities showing the GX's values,
    with the limits the GX reports (the Multi's input current limit: at most 50 A)."""
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    found = {(e.domain, e.unique_id): _state(hass, e.entity_id) for e in _controls(hass, entry)}
    assert found == RECORDING_CONTROLS
    limit = hass.states.get(_entity(hass, "number", f"{PORTAL}_vebus_274_Ac/In/1/CurrentLimit"))
    assert limit is not None
    assert (limit.attributes["min"], limit.attributes["max"], limit.attributes["step"]) == (
        0.0,
        50.0,
        0.1,
    )
    soc = hass.states.get(
        _entity(
            hass,
            "number",
            f"{PORTAL}_controls_settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit",
        )
    )
    assert soc is not None and (soc.attributes["min"], soc.attributes["max"]) == (0.0, 100.0)
    # names and categories
    registry = er.async_get(hass)
    mode = registry.async_get(_entity(hass, "select", f"{PORTAL}_vebus_274_Mode"))
    assert mode is not None and mode.entity_category is None
    assert hass.states.get(mode.entity_id).attributes["options"] == [  # type: ignore[union-attr]
        "charger_only",
        "inverter_only",
        "on",
        "off",
    ]
    dvcc = registry.async_get(
        _entity(
            hass, "number", f"{PORTAL}_controls_settings/0/Settings/SystemSetup/MaxChargeVoltage"
        )
    )
    assert dvcc is not None and dvcc.entity_category == "config"
    cabin = _entity(hass, "switch", f"{PORTAL}_switch_100_SwitchableOutput/output_1/State")
    assert cabin == "switch.signal_k_1_cabin_lights"
    relay = _entity(hass, "switch", f"{PORTAL}_controls_system/0/Relay/0/State")
    assert relay == "switch.ekrano_gx_relay_1"


async def _press(hass: HomeAssistant, domain: str, entity_id: str, state: Any) -> tuple[Any, Any]:
    """Change one control through Home Assistant's own service; (value written, expected
    state). Numbers go up by one step within their limits, selects to another allowed
    option, switches flip, times become 01:30:00, buttons press."""
    current = hass.states.get(entity_id)
    assert current is not None
    if domain == "number":
        high = current.attributes["max"]
        value = float(current.state) + 1 if float(current.state) + 1 <= high else high - 1
        await hass.services.async_call(
            "number", "set_value", {"entity_id": entity_id, "value": value}, blocking=True
        )
        return value, str(float(value))
    if domain == "select":
        option = next(o for o in current.attributes["options"] if o != current.state)
        await hass.services.async_call(
            "select", "select_option", {"entity_id": entity_id, "option": option}, blocking=True
        )
        return option, option
    if domain == "switch":
        service = "turn_off" if current.state == STATE_ON else "turn_on"
        await hass.services.async_call("switch", service, {"entity_id": entity_id}, blocking=True)
        return service == "turn_on", STATE_ON if service == "turn_on" else STATE_OFF
    if domain == "time":
        await hass.services.async_call(
            "time", "set_value", {"entity_id": entity_id, "time": "01:30:00"}, blocking=True
        )
        return dt_time(1, 30), "01:30:00"
    await hass.services.async_call("button", "press", {"entity_id": entity_id}, blocking=True)
    return None, None


def _device_value(row: Any, shown: Any) -> Any:
    """What the GX must receive for `shown` (the rows' declared mappings)."""
    if isinstance(row, VictronSelectEntityDescription):
        return row.codes[shown]
    if isinstance(row, VictronSwitchEntityDescription):
        return row.on_value if shown else row.off_value
    if isinstance(row, VictronNumberEntityDescription):
        return int(shown) if row.integer and float(shown).is_integer() else float(shown)
    if isinstance(shown, dt_time):
        return shown.hour * 3600 + shown.minute * 60
    return 1  # a button


async def test_every_control_row_writes_its_topic_and_ends_confirmed(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """Each control entity of a GX that has every controllable service: Home Assistant's service
    publishes exactly one W/<portal>/<service>/<instance>/<path> {"value": X} (never retained),
    the simulator applies it and publishes N/, and the entity then shows the GX's new value.
    Each write is logged once at INFO (entity, path, old -> new)."""
    sim = simulator(broker)
    sim.add_topics(EXTRA_TOPICS)
    await sim.start()
    watcher = WriteWatcher(broker.port)
    try:
        await watcher.ready()
        entry = await setup_entry(hass, broker, options=ON)
        expected_count = len(RECORDING_CONTROLS) + 15  # EXTRA_TOPICS' rows
        await _live(hass, entry, expected_count)
        source = entry.runtime_data
        controls = _controls(hass, entry)
        assert len(controls) == expected_count
        caplog.set_level(logging.INFO, logger="custom_components.victron_venus")
        done: list[str] = []
        for reg in sorted(controls, key=lambda e: e.unique_id):
            coordinator, row = next(
                (c, r)
                for c in source.devices.values()
                for r in source.descriptions(c, Platform(reg.domain))
                if f"{c.identifier}_{r.key}" == reg.unique_id
            )
            path = source.control.path_of(coordinator, row)
            before = len(watcher.messages)
            written, state = await _press(hass, reg.domain, reg.entity_id, None)

            def grown(n: int = before) -> bool:
                return len(watcher.messages) > n

            await wait_for(grown, what=f"W/ of {path}")
            await asyncio.sleep(0.05)  # nothing else follows
            assert watcher.messages[before:] == [
                (
                    f"W/{PORTAL}/{path}",
                    json.dumps(
                        {"value": _device_value(row, written)}, separators=(",", ":")
                    ).encode(),
                )
            ], reg.entity_id
            if state is not None:
                assert _state(hass, reg.entity_id) == state, reg.entity_id
            done.append(reg.entity_id)
        assert len(done) == expected_count
        assert sim.rejected_writes == [] and sim.ignored_writes == []
        lines = [r for r in caplog.records if r.levelno == logging.INFO and " -> " in r.message]
        assert len(lines) == expected_count
    finally:
        watcher.stop()
        await sim.stop()


async def test_control_off_means_no_control_entity_and_silence_on_w(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Control off (the default): the whole recording becomes devices and entities, the session
    runs (keep-alives, a full publish), yet no control entity exists and nothing appears on W/;
    the source refuses a write outright (translated error) and still publishes nothing."""
    watcher = WriteWatcher(broker.port)
    try:
        await watcher.ready()
        entry = await setup_entry(hass, broker)  # options without Control
        source = entry.runtime_data
        await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
        await wait_for(lambda: len(source.devices) >= 14, what="devices")
        await hass.async_block_till_done()
        assert _controls(hass, entry) == []
        assert not any(p.value in CONTROL_PLATFORMS for p in source.platforms)
        # a develop-style run: heartbeats and keep-alives for a while
        heartbeats = source.heartbeats
        await wait_for(lambda: source.heartbeats >= heartbeats + 10, what="heartbeats")
        vebus = source.devices[f"{PORTAL}_vebus_274"]
        row = rows.INVERTER_CHARGER_CONTROLS[0]
        with pytest.raises(HomeAssistantError) as err:
            await source.async_write(vebus, row, 4, entity_id="select.test")
        assert err.value.translation_key == "control_off"
        assert err.value.translation_domain == DOMAIN
        await asyncio.sleep(0.2)
        assert watcher.messages == []
        assert gx.raw_writes == []
    finally:
        watcher.stop()


async def test_a_gx_that_does_not_answer_gives_not_confirmed_and_keeps_the_state(
    hass: HomeAssistant,
    fast: None,
    broker: MosquittoBroker,
    gx: GxSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The GX takes no write (ignore_writes): after the write timeout the action fails with the
    translated 'not confirmed' error naming what did not happen; the state stays the GX's."""
    monkeypatch.setattr(venus_source, "WRITE_TIMEOUT", 0.5)
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    entity_id = _entity(hass, "select", f"{PORTAL}_vebus_274_Mode")
    gx.ignore_writes = True
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "select", "select_option", {"entity_id": entity_id, "option": "off"}, blocking=True
        )
    assert err.value.translation_key == "control_not_confirmed"
    assert err.value.translation_placeholders == {
        "entity": entity_id,
        "gx": "Ekrano GX",
        "path": "vebus/274/Mode",
        "value": "off",
        "reported": "3",
        "seconds": "0.5",
    }
    assert str(err.value) == (
        f"{entity_id}: Ekrano GX did not confirm off for vebus/274/Mode within 0.5 s; the GX "
        "still reports 3. Nothing changed as far as Home Assistant knows"
    )
    assert _state(hass, entity_id) == "on"
    assert gx.ignored_writes == [("vebus/274/Mode", b'{"value":4}')]


async def test_refusals_give_the_refused_error(
    hass: HomeAssistant,
    fast: None,
    broker: MosquittoBroker,
    gx: GxSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Refused: (1) the GX reports the input current limit not adjustable any more - the write
    is refused before anything is published; (2) the GX answers the write with another value
    (it kept its own) - refused once the write timeout is over. The state stays the GX's."""
    monkeypatch.setattr(venus_source, "WRITE_TIMEOUT", 0.5)
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    limit = _entity(hass, "number", f"{PORTAL}_vebus_274_Ac/In/1/CurrentLimit")
    gx.set_value("vebus/274/Ac/In/1/CurrentLimitIsAdjustable", 0)
    source = entry.runtime_data
    vebus = source.devices[f"{PORTAL}_vebus_274"]
    await wait_for(lambda: vebus.data.get("Ac/In/1/CurrentLimitIsAdjustable") == 0)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": limit, "value": 16}, blocking=True
        )
    assert err.value.translation_key == "control_refused"
    assert gx.raw_writes == []
    assert _state(hass, limit) == "30.0"

    # the GX answers with its own value instead of taking ours
    mode = _entity(hass, "select", f"{PORTAL}_vebus_274_Mode")
    gx.ignore_writes = True
    task = hass.async_create_task(
        hass.services.async_call(
            "select", "select_option", {"entity_id": mode, "option": "charger_only"}, blocking=True
        )
    )
    await wait_for(lambda: bool(gx.ignored_writes), what="the write")
    gx.set_value("vebus/274/Mode", 3)  # the GX republishes "on"
    with pytest.raises(HomeAssistantError) as err:
        await task
    assert err.value.translation_key == "control_refused"
    assert err.value.translation_placeholders is not None
    assert err.value.translation_placeholders["reported"] == "3"
    assert _state(hass, mode) == "on"


async def test_a_gx_that_is_not_connected_fails_at_once(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """The broker is gone: the control entities are unavailable (Home Assistant's services skip
    them), and a write that still comes - from the entity itself or from another writer such as
    the bank - fails at once with 'not connected'; nothing is queued or published."""
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    source = entry.runtime_data
    relay = _entity(hass, "switch", f"{PORTAL}_controls_system/0/Relay/0/State")
    broker.stop()
    await wait_for(lambda: not source.client.connected, what="disconnected")
    await hass.async_block_till_done()
    assert _state(hass, relay) == "unavailable"
    entity = hass.data["entity_components"]["switch"].get_entity(relay)
    with pytest.raises(HomeAssistantError) as err:
        await entity.async_turn_on()
    assert err.value.translation_key == "control_not_connected"
    assert err.value.translation_placeholders == {"entity": relay, "gx": "Ekrano GX"}
    controls = source.control.gx_coordinator
    row = next(r for r in rows.GX_CONTROLS if r.key == "system/0/Relay/0/State")
    with pytest.raises(HomeAssistantError) as err:
        await source.async_write(controls, row, 1)
    assert err.value.translation_key == "control_not_connected"
    assert source.session.pending_writes == []
    assert gx.raw_writes == []


async def test_out_of_range_is_refused_before_publishing(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A value beyond the limits the GX reports (input current limit max 50 A; minimum SOC
    0-100 %) is refused with a translated ServiceValidationError - by Home Assistant's number
    service for the entity, by the source itself for any other writer (the bank) - and nothing
    is published."""
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    limit = _entity(hass, "number", f"{PORTAL}_vebus_274_Ac/In/1/CurrentLimit")
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            "number", "set_value", {"entity_id": limit, "value": 60}, blocking=True
        )
    assert err.value.translation_key == "out_of_range"
    source = entry.runtime_data
    vebus = source.devices[f"{PORTAL}_vebus_274"]
    row = next(r for r in rows.INVERTER_CHARGER_CONTROLS if r.key == "Ac/In/1/CurrentLimit")
    with pytest.raises(ServiceValidationError) as own:
        await source.async_write(vebus, row, 60, entity_id=limit)
    assert own.value.translation_key == "control_out_of_range"
    assert own.value.translation_placeholders == {
        "entity": limit,
        "value": "60",
        "min": "0",
        "max": "50",
    }
    assert (
        str(own.value)
        == f"{limit}: 60 is outside what the device allows (0 to 50); nothing was written"
    )
    await asyncio.sleep(0.1)
    assert gx.raw_writes == []
    assert _state(hass, limit) == "30.0"


async def test_diagnostics_list_the_last_writes_with_their_outcome(  # noqa: PLR0917
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fast: None,
    broker: MosquittoBroker,
    gx: GxSimulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The diagnostics show Control on and the last 20 writes (entity, path, old, new,
    outcome), oldest first; the portal id appears nowhere."""
    monkeypatch.setattr(venus_source, "WRITE_TIMEOUT", 0.3)
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    soc = _entity(
        hass, "number", f"{PORTAL}_controls_settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"
    )
    for value in range(11, 33):  # 22 confirmed writes
        await hass.services.async_call(
            "number", "set_value", {"entity_id": soc, "value": value}, blocking=True
        )
    gx.ignore_writes = True
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": soc, "value": 80}, blocking=True
        )
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    control = diagnostics["source"]["control"]
    assert control["enabled"] is True and control["writes"] == 23
    last = control["last"]
    assert len(last) == 20
    assert [(w["old"], w["new"], w["outcome"]) for w in last[-3:]] == [
        (30.0, 31.0, "confirmed"),
        (31.0, 32.0, "confirmed"),
        (32.0, 80.0, "control_not_confirmed"),
    ]
    assert last[-1]["entity_id"] == soc
    assert last[-1]["path"] == "settings/0/Settings/CGwacs/BatteryLife/MinimumSocLimit"
    assert PORTAL not in json.dumps(diagnostics)


def test_every_control_row_has_its_name_and_option_labels() -> None:
    """strings.json names every control row (by platform and translation key) and labels every
    option of a select row; the exceptions the control layer raises have their text."""
    strings = json.loads(
        (REPO / "custom_components" / "victron_venus" / "strings.json").read_text()
    )
    entity = strings["entity"]
    platforms = {
        VictronNumberEntityDescription: "number",
        VictronSelectEntityDescription: "select",
        VictronSwitchEntityDescription: "switch",
    }
    checked = 0
    for table in (
        *rows.DEVICE_CONTROLS.values(),
        rows.GX_CONTROLS,
        rows.SWITCH_ROW_TEMPLATES,
    ):
        for row in table:
            platform = next(
                (p for cls, p in platforms.items() if isinstance(row, cls)),
                "button" if "Reset" in str(row.key) else "time",
            )
            assert "name" in entity[platform][row.translation_key], row.key
            for option in getattr(row, "options", None) or ():
                assert option in entity[platform][row.translation_key]["state"], option
            checked += 1
    assert checked == 43  # vebus and multi share their table
    for key in (
        "control_not_confirmed",
        "control_not_connected",
        "control_refused",
        "control_off",
        "control_out_of_range",
    ):
        assert strings["exceptions"][key]["message"]


async def test_a_write_waiting_when_the_gx_entry_unloads_fails_at_once(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """A write still waiting for the GX's echo when the entry unloads fails with 'not
    connected' at once instead of waiting for a session that is gone."""
    entry = await setup_entry(hass, broker, options=ON)
    await _live(hass, entry, len(RECORDING_CONTROLS))
    source = entry.runtime_data
    gx.ignore_writes = True
    row = next(r for r in rows.GX_CONTROLS if r.key == "system/0/Relay/0/State")
    write = hass.async_create_task(source.async_write(source.control.gx_coordinator, row, 1))
    await wait_for(lambda: bool(gx.ignored_writes), what="the write")
    assert await hass.config_entries.async_unload(entry.entry_id)
    with pytest.raises(HomeAssistantError) as err:
        await write
    assert err.value.translation_key == "control_not_connected"
    assert source.control.log.as_list()[-1]["outcome"] == "control_not_connected"
