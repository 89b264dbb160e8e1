"""What a user sees of a Venus GX (issue 12 §1), with real parts: mosquitto and the GX simulator
replaying the real boat recording (portal c0619ab4e25c).

The GPS position is the GPS device's main entity (not diagnostic); time to go reads in hours
(the GX says 863,999.9 s); the boat's speed in knots while the state machine's native unit stays
m/s; VE.Bus error 0 is "no_error" and the off reason 0 "none" (enum states with labels, not raw
values); charge cycles count in "cycles"; the history and energy paths core victron_gx enables
are entities at once; the load output is a plain on/off.
"""

from __future__ import annotations

from homeassistant.components.sensor import SensorStateClass
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.victron_venus.const import DOMAIN
from tests.components.venus_support import (  # fixtures are imported by name
    broker,
    fast,
    gx,
    recording,
    setup_entry,
    state_of,
    uid,
    wait_for,
)
from tests.fakes.gx_simulator import GxSimulator
from tests.fakes.mosquitto import MosquittoBroker

__all__ = ["broker", "fast", "gx"]  # fixtures used by name below


async def test_what_the_boat_recording_shows(
    hass: HomeAssistant, fast: None, broker: MosquittoBroker, gx: GxSimulator
) -> None:
    """Units, enum states, categories and default-enabled rows of the recording's entities."""
    entry = await setup_entry(hass, broker)
    source = entry.runtime_data
    await wait_for(lambda: source.full_publishes_completed >= 1, what="full publish")
    await wait_for(lambda: state_of(hass, uid("gps/93", "Position"), "device_tracker") is not None)
    await wait_for(lambda: state_of(hass, uid("vebus/274", "VebusError")) is not None)
    await hass.async_block_till_done()
    rec = recording()
    registry = er.async_get(hass)

    tracker = registry.async_get_entity_id("device_tracker", DOMAIN, uid("gps/93", "Position"))
    assert tracker is not None
    assert registry.async_get(tracker).entity_category is None  # type: ignore[union-attr]

    ttg = state_of(hass, uid("battery/275", "TimeToGo"))
    assert ttg is not None
    assert ttg.attributes["unit_of_measurement"] == "h"
    assert float(ttg.state) == pytest.approx(round(rec["battery/275/TimeToGo"]) / 3600)  # 240 h
    system_ttg = state_of(hass, uid("system/0", "Dc/Battery/TimeToGo"))
    assert system_ttg is not None
    assert system_ttg.attributes["unit_of_measurement"] == "h"

    speed = state_of(hass, uid("gps/93", "Speed"))
    assert speed is not None
    assert (float(speed.state), speed.attributes["unit_of_measurement"]) == (0.0, "kn")
    entity = registry.async_get(speed.entity_id)
    assert entity is not None
    assert entity.options["sensor.private"]["suggested_unit_of_measurement"] == "kn"

    vebus_error = state_of(hass, uid("vebus/274", "VebusError"))
    assert vebus_error is not None
    assert vebus_error.state == "no_error"  # the recording's 0
    off_reason = state_of(hass, uid("solarcharger/288", "DeviceOffReason"))
    assert off_reason is not None
    assert (off_reason.state, off_reason.attributes["reasons"]) == ("none", [])
    low_voltage = state_of(hass, uid("battery/275", "Alarms/LowVoltage"))
    assert low_voltage is not None
    assert low_voltage.state == "ok"

    cycles = state_of(hass, uid("battery/275", "History/ChargeCycles"))
    assert cycles is not None
    assert (cycles.state, cycles.attributes["unit_of_measurement"]) == ("18", "cycles")
    maximum = state_of(hass, uid("solarcharger/288", "History/Daily/1/MaxPower"))
    assert maximum is not None
    assert (maximum.state, maximum.attributes.get("state_class")) == ("310", None)
    satellites = state_of(hass, uid("gps/93", "NrOfSatellites"))
    assert satellites is not None
    assert (satellites.state, satellites.attributes.get("state_class")) == ("31", None)
    # enabled by default like core victron_gx (they were disabled: no state at all)
    deepest = state_of(hass, uid("battery/275", "History/DeepestDischarge"))
    assert deepest is not None
    assert float(deepest.state) == pytest.approx(
        rec["battery/275/History/DeepestDischarge"], abs=0.1
    )
    ac_in_2 = state_of(hass, uid("vebus/274", "Energy/AcIn2ToAcOut"))
    assert ac_in_2 is not None
    assert ac_in_2.attributes["state_class"] == SensorStateClass.TOTAL_INCREASING
    load = state_of(hass, uid("solarcharger/288", "Load/State"), "binary_sensor")
    assert load is not None
    assert (load.state, load.attributes.get("device_class")) == ("off", None)

    await hass.config_entries.async_unload(entry.entry_id)
    assert entry.state is ConfigEntryState.NOT_LOADED
