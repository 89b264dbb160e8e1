"""The shared write path's floor for total_increasing counters with Home Assistant's real recorder
(in-memory SQLite): after Home Assistant is killed, a counter is never written lower than what the
recorder already has, though the restore cache is older and the source restarts lower (issue 8 §2).
The fixtures and the test source are test_entity_write_path.py's."""

from __future__ import annotations

from typing import Any

from homeassistant.components.recorder.core import Recorder
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import mock_restore_cache_with_extra_data
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.victron_venus.const import DOMAIN
from tests.components.test_entity_write_path import (
    IDENTIFIER,
    YIELD_TOTAL,
    _entry,
    _errors,
    _push,
    _restored,
    _setup,
    _state,
    _warnings_about,
    use_test_source,  # noqa: F401  (the fixture)
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is resolved before `hass` (ha_testing.md §3.2), then the integration."""


@pytest.fixture
def recorder_config() -> dict[str, Any]:
    """Commit at once, so what was written is in the database when the test looks."""
    return {"commit_interval": 0}


@pytest.mark.usefixtures("use_test_source")
async def test_restart_after_a_kill_never_writes_below_the_recorder(
    hass: HomeAssistant, caplog: pytest.LogCaptureFixture
) -> None:
    """Home Assistant killed: its restore cache is up to 15 minutes old (80.0), the recorder has
    the last value written (84.0), the source restarts from its own older save (82.72). The
    recorder's value is the floor. Home Assistant's start writes the "restored" unavailable
    placeholder before the entity is back, so the recorder's last row is not a number."""
    entry = _entry()
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{IDENTIFIER}_yield_total",
        suggested_object_id="test_device_yield_total",
        config_entry=entry,
    )
    hass.states.async_set(YIELD_TOTAL, "83.5", {"unit_of_measurement": "kWh"})
    hass.states.async_set(YIELD_TOTAL, "84.0", {"unit_of_measurement": "kWh"})
    hass.states.async_set(YIELD_TOTAL, "unavailable", {"restored": True})
    await async_wait_recording_done(hass)
    mock_restore_cache_with_extra_data(hass, [_restored(YIELD_TOTAL, 80.0)])

    coordinator = await _setup(hass, entry=entry)
    assert _state(hass, YIELD_TOTAL) == "84.0"
    assert coordinator.decreases_refused == 1
    assert len(_warnings_about(caplog, YIELD_TOTAL)) == 1
    await _push(hass, coordinator, yield_total=84.25)
    assert _state(hass, YIELD_TOTAL) == "84.25"
    assert _errors(caplog) == []


@pytest.mark.usefixtures("use_test_source")
async def test_recorded_value_in_the_users_display_unit_is_converted(hass: HomeAssistant) -> None:
    """The user shows the counter in Wh: the recorder has 84 000 Wh, the floor is 84.0 kWh."""
    entry = _entry()
    entry.add_to_hass(hass)
    registry = er.async_get(hass)
    registry.async_get_or_create(
        "sensor",
        DOMAIN,
        f"{IDENTIFIER}_yield_total",
        suggested_object_id="test_device_yield_total",
        config_entry=entry,
    )
    registry.async_update_entity_options(YIELD_TOTAL, "sensor", {"unit_of_measurement": "Wh"})
    hass.states.async_set(YIELD_TOTAL, "84000.0", {"unit_of_measurement": "Wh"})
    hass.states.async_set(YIELD_TOTAL, "unavailable", {"restored": True})
    await async_wait_recording_done(hass)

    coordinator = await _setup(hass, entry=entry)
    assert _state(hass, YIELD_TOTAL) == "84000.0"
    assert coordinator.decreases_refused == 1
