"""The options flow (issue 12): one step per entry type, each with its own title, description and
labels in strings.json; the logbook's fields in sections (advanced ones collapsed) stored flat."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, section
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.selector import BooleanSelector
import probatio
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.victron_venus.const import CONF_WRITE_INTERVAL, DOMAIN, EntryType
from custom_components.victron_venus.flows import logbook as logbook_flow, vedirect as vedirect_flow
from custom_components.victron_venus.trips.settings import (
    EXTRA_OPTIONS,
    THRESHOLDS,
    default_options,
)
from tests.components.logbook_helpers import TRACKER, logbook_entry, setup_logbook

pytestmark = pytest.mark.usefixtures("enable_bluetooth")

STRINGS: dict[str, Any] = json.loads(
    (Path(__file__).parents[2] / "custom_components/victron_venus/strings.json").read_text()
)
#: an entry of each type, as its config flow stores it
ENTRIES: dict[EntryType, dict[str, Any]] = {
    EntryType.VEDIRECT: {"entry_type": "vedirect", "serial_port": "/dev/ttyUSB0"},
    EntryType.VENUS: {"entry_type": "venus", "host": "192.0.2.1", "port": 1883},
    EntryType.JBD: {"entry_type": "jbd", "transport": "bluetooth", "address": "A4:C1:37:00:00:01"},
    EntryType.BLE_BATTERY: {
        "entry_type": "ble_battery",
        "address": "AA:BB:CC:90:00:01",
        "family": "ant_bms",
    },
    EntryType.BANK: {"entry_type": "bank", "members": [], "wiring": "parallel", "capacities": {}},
    EntryType.LOGBOOK: {"entry_type": "logbook", "position": TRACKER},
}
#: the logbook's advanced sections, collapsed
COLLAPSED = {"trip_start", "trip_stop", "trip_filter"}


async def _options(hass: HomeAssistant, kind: EntryType) -> ConfigFlowResult:
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=kind.value, data=ENTRIES[kind], options={"write_interval": 5}
    )
    entry.add_to_hass(hass)
    return await hass.config_entries.options.async_init(entry.entry_id)


def _fields(schema: probatio.Schema) -> dict[str, Any]:
    """field -> its selector, sections as nested dicts."""
    return {
        str(key): _fields(value.schema) if isinstance(value, section) else value
        for key, value in schema.schema.items()
    }


@pytest.mark.parametrize("kind", list(EntryType))
async def test_each_entry_type_has_its_own_options_step_with_text(
    hass: HomeAssistant, kind: EntryType
) -> None:
    """The step id is the entry type; strings.json gives it a title, a description and a label
    and a description for every field, section by section."""
    result = await _options(hass, kind)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == kind.value
    text = STRINGS["options"]["step"][kind.value]
    assert text["title"] and text["description"]
    fields = _fields(result["data_schema"])  # type: ignore[arg-type]
    assert {"recording", CONF_WRITE_INTERVAL} <= set(fields)
    for name, value in fields.items():
        if isinstance(value, dict):
            part = text["sections"][name]
            assert part["name"] and part["description"], name
            missing = [
                k for k in value if k not in part["data"] or k not in part["data_description"]
            ]
        else:
            missing = [
                k for k in [name] if k not in text["data"] or k not in text["data_description"]
            ]
        assert missing == [], (kind, name)
    # help lines no longer say which entry type they are for
    for description in text["data_description"].values():
        assert not description.startswith(("Logbooks:", "Battery banks:", "JBD and", "Batteries"))


def test_no_shared_options_step_is_left() -> None:
    assert set(STRINGS["options"]["step"]) == {kind.value for kind in EntryType}


async def test_entry_type_fields_come_from_options_fields(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A field a type's flows/<type>.py adds to its `options_fields` is on its step (the VE.Direct
    control option added beside this change)."""

    def fields(entry: Any) -> dict[Any, Any]:
        return {probatio.Required("control", default=False): BooleanSelector()}

    monkeypatch.setattr(vedirect_flow, "options_fields", fields, raising=False)
    result = await _options(hass, EntryType.VEDIRECT)
    assert set(_fields(result["data_schema"])) == {"recording", CONF_WRITE_INTERVAL, "control"}  # type: ignore[arg-type]


async def test_logbook_fields_are_grouped_in_sections(hass: HomeAssistant) -> None:
    """Every logbook option is in exactly one section; the detector thresholds are collapsed,
    the boat's engine and efficiency fields open."""
    result = await _options(hass, EntryType.LOGBOOK)
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    sections = {str(k): v for k, v in schema.items() if isinstance(v, section)}
    assert set(sections) == {"boat", *COLLAPSED}
    assert {name for name, s in sections.items() if s.options["collapsed"]} == COLLAPSED
    grouped = [str(k) for s in sections.values() for k in s.schema.schema]
    assert sorted(grouped) == sorted([*THRESHOLDS, *EXTRA_OPTIONS])
    assert set(logbook_flow.OPTION_SECTIONS) == set(sections)
    # as the frontend gets it: no default for a section (the frontend would show it empty), a
    # default for each of its fields (the entry's value)
    serialized = probatio.to_field_list(
        result["data_schema"], custom_serializer=cv.custom_serializer
    )
    expandable: list[dict[str, Any]] = [
        field
        for field in serialized
        if isinstance(field, dict) and field.get("type") == "expandable"
    ]
    assert [field["name"] for field in expandable] == [
        "boat",
        "trip_start",
        "trip_stop",
        "trip_filter",
    ]
    assert not any("default" in field for field in expandable)
    assert all("default" in inner for field in expandable for inner in field["schema"])


async def test_logbook_options_are_stored_flat_and_existing_entries_keep_theirs(
    hass: HomeAssistant,
) -> None:
    """An entry stored before the sections shows its flat options as the sections' values; a
    submit stores them flat again (only what was changed changes)."""
    hass.states.async_set(TRACKER, "not_home", {"latitude": 60.1, "longitude": 24.9})
    entry = await setup_logbook(hass, logbook_entry(options={"start_distance": 250}))
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "logbook"
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    start = next(v for k, v in schema.items() if str(k) == "trip_start")
    defaults = {str(k): k.default() for k in start.schema.schema}
    assert defaults["start_distance"] == 250
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "recording": "balanced",
            CONF_WRITE_INTERVAL: 10,
            "trip_filter": {"min_trip_duration": 1},
            "boat": {"house_load": 45},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    expected = {
        **default_options(),
        "recording": "balanced",
        CONF_WRITE_INTERVAL: 10,
        "start_distance": 250,
        "min_trip_duration": 1,
        "house_load": 45,
    }
    assert entry.options == expected
    assert not any(isinstance(value, dict) for value in entry.options.values())
    assert entry.runtime_data.settings.config.min_trip_s == 60
