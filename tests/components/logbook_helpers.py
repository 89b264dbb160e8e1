"""Helpers shared by the Logbook tests (plain functions, no fixtures).

`drive()` plays detector Samples into Home Assistant as state changes at their recorded times: the
frozen clock moves to each sample's time, the speed sensor (knots, as an NMEA instrument gives it),
power and engine states are set, then the device tracker's position, as a GPS integration would
write them; then due timers fire (the logbook's 30 s tick).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.victron_venus.const import CONF_ENTRY_TYPE, CONF_WRITE_INTERVAL, DOMAIN
from custom_components.victron_venus.trips.detector import KNOT, Sample
from custom_components.victron_venus.trips.settings import default_options
from tests.shared import fixture_path
from tests.trips.nmea import load_nmea

TRACKER = "device_tracker.boat_gps"
SPEED = "sensor.boat_sog"
POWER = "sensor.motor_power"
ENGINE = "binary_sensor.motor_running"
ANCHOR = "binary_sensor.anchor_alarm"
WIND = "sensor.true_wind_speed"
SOC = "sensor.house_soc"
TITLE = "Aurora"


def plaka() -> list[Sample]:
    """The real 4-hour track (GLL positions every 2 s, VTG speed over ground)."""
    return load_nmea(fixture_path("gps", "plaka.nmea"))


def tracker_attributes(sample: Sample) -> dict[str, Any]:
    """What a GPS device tracker carries."""
    return {
        "latitude": sample.latitude,
        "longitude": sample.longitude,
        "gps_accuracy": 5,
        "source_type": "gps",
    }


def set_sample_states(hass: HomeAssistant, sample: Sample) -> None:
    """Write one sample's states (speed first, the position last, like a GPS driver)."""
    if sample.speed is not None:
        hass.states.async_set(SPEED, f"{sample.speed / KNOT:.2f}", {"unit_of_measurement": "kn"})
    if sample.power is not None:
        hass.states.async_set(POWER, f"{sample.power:.1f}", {"unit_of_measurement": "W"})
    if sample.engine_on is not None:
        hass.states.async_set(ENGINE, "on" if sample.engine_on else "off")
    if sample.anchor_alarm is not None:
        hass.states.async_set(ANCHOR, "on" if sample.anchor_alarm else "off")
    hass.states.async_set(TRACKER, "not_home", tracker_attributes(sample))


async def drive(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    samples: Iterable[Sample],
    *,
    tick_every: float = 10.0,
) -> datetime | None:
    """Play samples as state changes at their times; due timers fire every `tick_every` s of
    recorded time. Returns the last sample's time."""
    last_fire: datetime | None = None
    when: datetime | None = None
    quiet(hass)
    for sample in samples:
        when = sample.time
        freezer.move_to(when)
        set_sample_states(hass, sample)
        await hass.async_block_till_done()
        if last_fire is None or (when - last_fire).total_seconds() >= tick_every:
            async_fire_time_changed(hass)
            await hass.async_block_till_done()
            last_fire = when
    return when


def quiet(hass: HomeAssistant) -> None:
    """The frozen clock jumps seconds between two loop turns: keep asyncio's debug mode from
    logging every turn as a slow callback."""
    hass.loop.slow_callback_duration = 1.0e9


async def let_time_pass(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, start: datetime, minutes: float
) -> datetime:
    """Advance the frozen clock in 10 s steps, firing due timers; nothing changes meanwhile."""
    when = start
    quiet(hass)
    for _ in range(round(minutes * 6)):
        when += timedelta(seconds=10)
        freezer.move_to(when)
        async_fire_time_changed(hass)
        await hass.async_block_till_done()
    return when


def logbook_entry(
    *, data: dict[str, Any] | None = None, options: dict[str, Any] | None = None
) -> MockConfigEntry:
    """A Logbook entry on TRACKER and SPEED (plus `data`), writing every change."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=TITLE,
        unique_id=f"logbook_{TRACKER}",
        data={
            CONF_ENTRY_TYPE: "logbook",
            "position": TRACKER,
            "speed": SPEED,
            "conditions": [WIND],
            **(data or {}),
        },
        options={CONF_WRITE_INTERVAL: 0, **default_options(), **(options or {})},
    )


async def setup_logbook(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add and set up a Logbook entry."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


def entity_id(hass: HomeAssistant, entry: MockConfigEntry, key: str, domain: str = "sensor") -> str:
    """The entity id of a logbook row by its key."""
    found = er.async_get(hass).async_get_entity_id(
        domain, DOMAIN, f"logbook_{entry.entry_id}_{key}"
    )
    assert found is not None, key
    return found


def state(hass: HomeAssistant, entry: MockConfigEntry, key: str, domain: str = "sensor") -> str:
    """The state string of a logbook row."""
    current = hass.states.get(entity_id(hass, entry, key, domain))
    assert current is not None, key
    return current.state
