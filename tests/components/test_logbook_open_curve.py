"""The efficiency curve shows the open trip's steady-state samples (issue 12 §1): before the
first trip ends, the image said "No steady-state samples yet" and `get_efficiency` had no
points. Table A's electric boat (tests/trips/test_efficiency.py), its motor power as an entity."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.image import async_get_image
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.trips import EVENT_TRIP_ENDED, EVENT_TRIP_STARTED
from tests.components.logbook_helpers import (
    ENGINE,
    POWER,
    drive,
    entity_id,
    logbook_entry,
    setup_logbook,
)
from tests.trips.test_efficiency import electric_boat


async def _efficiency(hass: HomeAssistant) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN, "get_efficiency", {}, blocking=True, return_response=True
    )
    assert response is not None
    return dict(response)


async def test_the_curve_shows_the_open_trip(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory
) -> None:
    """Part-way through the first trip (two of table A's speeds motored), the curve has those
    speeds' bins from the open trip and the image draws them; at the trip's end the finished
    trip's samples replace them (the same trip, counted once)."""
    samples = electric_boat()[::2]
    freezer.move_to(samples[0].time)
    entry = await setup_logbook(
        hass, logbook_entry(data={"power": POWER, "engine": ENGINE}, options={"fit_max_speed": 4.8})
    )
    started = async_capture_events(hass, EVENT_TRIP_STARTED)
    ended = async_capture_events(hass, EVENT_TRIP_ENDED)
    image_id = entity_id(hass, entry, "efficiency_version", "image")
    start = samples[0].time
    # moored 10 min, then 760 s at each of table A's first two speeds (3.0 kn, its samples on
    # both sides of 3.0, and 3.7 kn)
    half = [s for s in samples if s.time < start + timedelta(minutes=10, seconds=2 * 760)]
    await drive(hass, freezer, half)
    assert len(started) == 1 and not ended

    curve = await _efficiency(hass)
    assert curve["trips"] == [started[0].data["trip_id"]]
    assert [p["bin_low_kn"] for p in curve["points"]] == [2.5, 3.0, 3.5]
    image = await async_get_image(hass, image_id)
    assert b"No steady-state samples yet" not in image.content
    assert image.content.count(b"<circle") == 3

    await drive(hass, freezer, samples[len(half) :])
    assert len(ended) == 1
    curve = await _efficiency(hass)
    assert curve["trips"] == [ended[0].data["trip_id"]]
    assert [p["bin_low_kn"] for p in curve["points"]] == [2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5]
