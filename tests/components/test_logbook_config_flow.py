"""The Logbook config flow: the menu entry, every field and error, reconfigure, and the options
(detector thresholds) applied by a reload."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONF_WRITE_INTERVAL, DOMAIN
from custom_components.victron_venus.sources.logbook import LogbookSource
from custom_components.victron_venus.trips.settings import THRESHOLDS, default_options
from tests.components.logbook_helpers import (
    ANCHOR,
    ENGINE,
    POWER,
    SOC,
    SPEED,
    TRACKER,
    WIND,
    logbook_entry,
    setup_logbook,
)

LAT = "sensor.gps_latitude"
LON = "sensor.gps_longitude"
WEATHER = "weather.home"


@pytest.fixture
def entities(hass: HomeAssistant) -> None:
    """The entities a boat's Home Assistant has."""
    hass.states.async_set(TRACKER, "not_home", {"latitude": 60.1, "longitude": 24.9})
    hass.states.async_set("device_tracker.phone", "home", {"source_type": "router"})
    hass.states.async_set(LAT, "60.1", {"unit_of_measurement": "°"})
    hass.states.async_set(LON, "24.9", {"unit_of_measurement": "°"})
    hass.states.async_set("sensor.longitude_200", "200", {"unit_of_measurement": "°"})
    hass.states.async_set("sensor.gps_text", "no fix")
    hass.states.async_set(SPEED, "5.2", {"unit_of_measurement": "kn"})
    hass.states.async_set("sensor.cabin_temperature", "21", {"unit_of_measurement": "°C"})
    hass.states.async_set(POWER, "450", {"unit_of_measurement": "W"})
    hass.states.async_set(ENGINE, "on")
    hass.states.async_set(ANCHOR, "off")
    hass.states.async_set(WIND, "12", {"unit_of_measurement": "kn"})
    hass.states.async_set(WEATHER, "sunny", {"temperature": 18, "wind_speed": 20})
    hass.states.async_set(SOC, "85", {"unit_of_measurement": "%"})
    hass.states.async_set("sensor.house_current", "-4.2", {"unit_of_measurement": "A"})
    hass.states.async_set("sensor.house_voltage", "13.1", {"unit_of_measurement": "V"})


async def _form(hass: HomeAssistant) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert "logbook" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "logbook"}
    )
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "logbook"
    return result


async def _submit(hass: HomeAssistant, flow_id: str, **fields: Any) -> ConfigFlowResult:
    data: dict[str, Any] = {"name": "Aurora", "power_kind": "propulsion", "export": {}}
    data.update(fields)
    return await hass.config_entries.flow.async_configure(flow_id, data)


@pytest.mark.usefixtures("entities")
async def test_tracker_logbook_is_created_with_default_thresholds(hass: HomeAssistant) -> None:
    form = await _form(hass)
    result = await _submit(hass, form["flow_id"], position=TRACKER, speed=SPEED)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Aurora"
    entry = result["result"]
    assert entry.unique_id == f"logbook_{TRACKER}"
    assert entry.data == {
        "entry_type": "logbook",
        "position": TRACKER,
        "speed": SPEED,
        "power_kind": "propulsion",
        "conditions": [],
    }
    assert entry.options == {CONF_WRITE_INTERVAL: 5, **default_options()}
    assert entry.options["start_distance"] == 150 and entry.options["stop_window"] == 10
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert isinstance(entry.runtime_data, LogbookSource)
    # the same position source twice: refused
    form = await _form(hass)
    again = await _submit(hass, form["flow_id"], position=TRACKER)
    assert again["type"] is FlowResultType.ABORT and again["reason"] == "already_configured"


@pytest.mark.usefixtures("entities")
async def test_sensor_pair_with_every_optional_entity(hass: HomeAssistant) -> None:
    form = await _form(hass)
    result = await _submit(
        hass,
        form["flow_id"],
        name="  ",
        position=LAT,
        longitude=LON,
        speed=SPEED,
        power=POWER,
        power_kind="battery",
        engine=ENGINE,
        anchor=ANCHOR,
        conditions=[WIND, WEATHER, WIND],
        export={"soc": SOC, "current": "sensor.house_current", "voltage": "sensor.house_voltage"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Logbook"  # a blank name
    assert result["data"] == {
        "entry_type": "logbook",
        "position": LAT,
        "longitude": LON,
        "speed": SPEED,
        "power": POWER,
        "power_kind": "battery",
        "engine": ENGINE,
        "anchor": ANCHOR,
        "conditions": [WIND, WEATHER],
        "soc": SOC,
        "current": "sensor.house_current",
        "voltage": "sensor.house_voltage",
    }
    await hass.async_block_till_done()
    source = result["result"].runtime_data
    assert source.settings.battery_power and source.settings.has_engine
    assert source.feed.position == (60.1, 24.9)


@pytest.mark.usefixtures("entities")
@pytest.mark.parametrize(
    ("fields", "errors"),
    [
        ({"position": "device_tracker.nowhere"}, {"position": "entity_not_found"}),
        ({"position": "device_tracker.phone"}, {"position": "no_position"}),
        ({"position": TRACKER, "longitude": LON}, {"longitude": "longitude_unexpected"}),
        ({"position": LAT}, {"longitude": "longitude_required"}),
        ({"position": LAT, "longitude": "sensor.gone"}, {"longitude": "entity_not_found"}),
        ({"position": LAT, "longitude": "sensor.longitude_200"}, {"position": "no_position"}),
        ({"position": "sensor.gps_text", "longitude": LON}, {"position": "no_position"}),
        ({"position": TRACKER, "speed": "sensor.cabin_temperature"}, {"speed": "speed_unit"}),
        ({"position": TRACKER, "power": SPEED}, {"power": "power_unit"}),
        ({"position": TRACKER, "speed": "sensor.gone"}, {"speed": "entity_not_found"}),
        ({"position": TRACKER, "conditions": ["sensor.gone"]}, {"conditions": "entity_not_found"}),
        ({"position": TRACKER, "export": {"soc": "sensor.gone"}}, {"soc": "entity_not_found"}),
    ],
)
async def test_form_errors(
    hass: HomeAssistant, fields: dict[str, Any], errors: dict[str, str]
) -> None:
    """Each bad choice has its own error; sensors out of range or not numbers give no position."""
    form = await _form(hass)
    result = await _submit(hass, form["flow_id"], **fields)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "logbook"
    assert result["errors"] == errors
    # fixed, the same flow goes through
    result = await _submit(hass, form["flow_id"], position=TRACKER)
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("entities")
async def test_reconfigure_changes_entities_and_name(hass: HomeAssistant) -> None:
    entry = await setup_logbook(hass, logbook_entry())
    other = MockConfigEntry(
        domain=DOMAIN,
        unique_id=f"logbook_{LAT}",
        data={"entry_type": "logbook", "position": LAT, "longitude": LON},
    )
    other.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_logbook"
    # a bad choice first
    result = await _submit(hass, result["flow_id"], position=TRACKER, power=SPEED)
    assert result["errors"] == {"power": "power_unit"}
    result = await _submit(
        hass, result["flow_id"], name="Aurora II", position=TRACKER, power=POWER, engine=ENGINE
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.title == "Aurora II"
    assert entry.data["power"] == POWER and entry.data["engine"] == ENGINE
    assert "speed" not in entry.data
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.settings.power == POWER
    # moving the logbook to a position source another logbook has: refused
    result = await entry.start_reconfigure_flow(hass)
    result = await _submit(hass, result["flow_id"], position=LAT, longitude=LON)
    assert result["type"] is FlowResultType.ABORT and result["reason"] == "already_configured"
    # to a new one: the unique id follows
    hass.states.async_set("device_tracker.new_gps", "not_home", {"latitude": 1, "longitude": 2})
    result = await entry.start_reconfigure_flow(hass)
    result = await _submit(hass, result["flow_id"], position="device_tracker.new_gps")
    assert result["reason"] == "reconfigure_successful"
    assert entry.unique_id == "logbook_device_tracker.new_gps"


@pytest.mark.usefixtures("entities")
async def test_options_set_the_detector_thresholds(hass: HomeAssistant) -> None:
    entry = await setup_logbook(hass, logbook_entry(data={"power": POWER}))
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM and result["step_id"] == "logbook"
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    shown = {str(key): value for key, value in schema.items()}
    sections = {"boat", "trip_start", "trip_stop", "trip_filter"}
    assert set(shown) == {"recording", CONF_WRITE_INTERVAL, *sections}
    grouped = {str(key) for name in sections for key in shown[name].schema.schema}
    assert grouped == {*THRESHOLDS, "engine_power", "house_load", "fit_max_speed"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_WRITE_INTERVAL: 10,
            "trip_start": {"start_distance": 300},
            "trip_stop": {"stop_window": 15, "merge_gap": 30},
            "trip_filter": {"min_trip_distance": 0.5},
            "boat": {"engine_power": 200, "house_load": 45, "fit_max_speed": 5.5},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert entry.options["start_distance"] == 300
    assert entry.options["stop_speed"] == 0.3  # a default kept
    source = entry.runtime_data
    config = source.settings.config
    assert config.start_distance_m == 300
    assert config.stop_window_s == 15 * 60 and config.merge_gap_s == 30 * 60
    assert config.min_trip_nm == 0.5
    assert source.detector.config == config
    assert source.settings.engine_power_w == 200 and source.settings.has_engine
    assert source.settings.house_load_w == 45 and source.settings.fit_max_kn == 5.5
    assert source.coordinator.write_interval == 10
