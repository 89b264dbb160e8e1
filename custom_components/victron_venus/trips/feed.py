"""Home Assistant states in, detector events out: the one path for live data and recorder replays.

`LogbookFeed` holds the latest `State` of every entity a Logbook follows and turns changes into
`detector.Sample`s. The live runtime (sources/logbook.py) and the rebuild from recorder history
(trips/replay.py) drive it the same way, so they find the same trips:

* `apply(entity_id, state)` for each changed state, then `flush(time)` once per group of changes
  that belong together (the same event-loop turn live, the same timestamp in history);
* `tick(now)` about once a minute; `commit_pair(now)` when `pair_deadline` has passed.

Samples are made when the position changes; speed, power, engine and anchor changes ride along
with the next fix. Only when the position has not changed for `STALE_S` (a moored boat, or a GPS
that reports only on change) does such a change, or a tick, make a sample on its own: the last
position repeated at the current time (what `TripDetector.tick(hold=True)` does, but with the
latest values). That keeps speed-only samples from sitting between two fixes a few milliseconds
apart, where the detector would see a jump of several hundred knots. A change that rode along but
met no fix before the position went stale is not lost: the next tick first samples it at its own
time (no fix came in between, so that is safe), then the boat at rest at the tick's time; without
such a change, the first stale tick (within a couple of ticks of going stale, i.e. while Home
Assistant was watching) also samples the boat one bucket after its last fix (nothing changed
since, so it was there), so a stop is dated from the last fix, not a minute later.

Home Assistant's wall clock can step back (NTP setting the clock of a boat's computer that booted
without network): the states then carry times older than the last sample. The feed keeps its own
clock running on instead of squeezing them 1 ms apart (the detector took those fixes for jumps of
thousands of knots and dropped them, with their distance): after a step back of more than
`CLOCK_STEP_S` it adds `clock_offset` to every time, chosen so the first sample after the step
follows the last one by their usual spacing, so the intervals between fixes stay the real ones.
The offset stays while data flows (the trip's times stay consistent) and is dropped at the first
data gap longer than the detector's `gap_s` (the detector starts afresh there anyway). It is saved
with the rest of the feed's clock (`to_dict`). Smaller reorders (changes stamped the same instant)
are still spaced 1 ms apart.

A latitude/longitude sensor pair is committed when both have changed, or `PAIR_WAIT_S` after the
first did (a boat heading due north changes only its latitude), so a fix never mixes a new
latitude with an old longitude (an L-shaped path, up to 41 % too long).

Units: speed states are converted to m/s and power to W with Home Assistant's unit converters
(unit_of_measurement of the state); battery power (Victron: positive = charging) is negated so
the detector sees the power drawn.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import math
from typing import Any, Final

from homeassistant.const import (
    ATTR_LATITUDE,
    ATTR_LONGITUDE,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    UnitOfPower,
    UnitOfSpeed,
)
from homeassistant.core import State
from homeassistant.util.unit_conversion import PowerConverter, SpeedConverter

from .detector import Event, Sample, TripDetector
from .settings import LogbookSettings

STALE_S: Final = 60.0
"""Seconds without a new position after which a value change or a tick makes its own sample."""
PAIR_WAIT_S: Final = 2.0
"""Seconds a latitude (or longitude) change waits for its partner before it is committed alone."""
TICK_S: Final = 30.0
"""Seconds between two ticks (live timer and replay)."""
MIN_SPACING_S: Final = 10.0
"""A value-only sample at most this often (one detector bucket)."""
CLOCK_STEP_S: Final = 5.0
"""A time more than this many seconds before the last sample is Home Assistant's clock stepping
back. Less is a reorder of the feed's own making (a latitude/longitude pair committed alone at its
deadline, PAIR_WAIT_S after its first half, then its partner stamped earlier), spaced 1 ms; a
step this small squeezes at most a few fixes, whose distance the next accepted fix still counts."""

_MISSING = (STATE_UNAVAILABLE, STATE_UNKNOWN)
_ON_STATES = frozenset({STATE_ON, "true", "home", "open", "armed", "running"})
_OFF_STATES = frozenset({"off", "false", "not_home", "closed", "disarmed", "stopped"})


def _parse_time(value: Any) -> datetime | None:
    """An ISO time saved by `LogbookFeed.to_dict`, None when missing or unreadable."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def number(state: State | None) -> float | None:
    """The state as a finite float, None when missing, unavailable or not a number."""
    if state is None or state.state in _MISSING:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def speed_ms(state: State | None) -> float | None:
    """A speed state in m/s (its unit_of_measurement; m/s when it has none)."""
    value = number(state)
    if value is None or state is None:
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfSpeed.METERS_PER_SECOND
    if unit not in SpeedConverter.VALID_UNITS:
        return None
    return float(SpeedConverter.convert(value, unit, UnitOfSpeed.METERS_PER_SECOND))


def power_w(state: State | None) -> float | None:
    """A power state in W (its unit_of_measurement; W when it has none)."""
    value = number(state)
    if value is None or state is None:
        return None
    unit = state.attributes.get(ATTR_UNIT_OF_MEASUREMENT) or UnitOfPower.WATT
    if unit not in PowerConverter.VALID_UNITS:
        return None
    return float(PowerConverter.convert(value, unit, UnitOfPower.WATT))


def on_off(state: State | None) -> bool | None:
    """True/False for on/off-like states; numeric states: > 0 is on; None when unknown."""
    if state is None or state.state in _MISSING:
        return None
    text = state.state.lower()
    if text in _ON_STATES:
        return True
    if text in _OFF_STATES:
        return False
    value = number(state)
    return None if value is None else value > 0


def tracker_position(state: State | None) -> tuple[float, float] | None:
    """(latitude, longitude) from a device_tracker's attributes, None without a fix."""
    if state is None or state.state in _MISSING:
        return None
    lat = state.attributes.get(ATTR_LATITUDE)
    lon = state.attributes.get(ATTR_LONGITUDE)
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if isinstance(lat, bool) or isinstance(lon, bool):
        return None
    return float(lat), float(lon)


def condition(state: State | None) -> dict[str, Any] | None:
    """A small JSON-safe record of an entity's state for a trip's start/end conditions.

    Sensors: {"state", "unit"}; weather entities also give temperature, wind speed and bearing,
    pressure and humidity with their units. None when the entity has no usable state.
    """
    if state is None or state.state in _MISSING:
        return None
    out: dict[str, Any] = {"state": state.state}
    attrs = state.attributes
    if (unit := attrs.get(ATTR_UNIT_OF_MEASUREMENT)) is not None:
        out["unit"] = unit
    if state.entity_id.startswith("weather."):
        for key in (
            "temperature",
            "temperature_unit",
            "wind_speed",
            "wind_speed_unit",
            "wind_bearing",
            "wind_gust_speed",
            "pressure",
            "pressure_unit",
            "humidity",
        ):
            if (value := attrs.get(key)) is not None:
                out[key] = value
    return out


class LogbookFeed:
    """Latest states of a Logbook's entities → detector samples → events. See the module doc."""

    def __init__(self, settings: LogbookSettings, detector: TripDetector) -> None:
        """Feed `detector` from the entities of `settings`."""
        self.settings = settings
        self.detector = detector
        self.latest: dict[str, State] = {}
        self._position_ids = frozenset(settings.position_entities)
        self._value_ids = frozenset(settings.value_entities)
        self._position: tuple[float, float] | None = None
        self._position_changed = False
        self._value_changed = False
        self._pair_lat: float | None = None
        self._pair_lon: float | None = None
        self._pair_since: datetime | None = None
        self._deferred: datetime | None = None
        #: time of the last position fed to the detector, and of the last sample of any kind
        self.last_fix: datetime | None = None
        self.last_fed: datetime | None = None
        self.samples = 0
        #: added to Home Assistant's times since its clock stepped back (see the module doc)
        self.clock_offset = timedelta(0)
        #: backwards clock steps seen
        self.clock_steps = 0
        self._spacing = timedelta(seconds=MIN_SPACING_S)  # between the last two samples

    # -- reading states ------------------------------------------------------------------------
    @property
    def position(self) -> tuple[float, float] | None:
        """The committed position (lat, lon), None before the first or while unavailable."""
        return self._position

    @property
    def pair_deadline(self) -> datetime | None:
        """When a half-changed latitude/longitude pair is committed alone (None: nothing waits)."""
        if self._pair_since is None:
            return None
        return self._pair_since + timedelta(seconds=PAIR_WAIT_S)

    def apply(self, entity_id: str, state: State | None) -> bool:
        """Take an entity's new state. True when a sample may be due (call flush)."""
        if state is None:
            self.latest.pop(entity_id, None)
        else:
            self.latest[entity_id] = state
        if entity_id in self._position_ids:
            return self._apply_position(entity_id, state)
        if entity_id in self._value_ids:
            self._value_changed = True
            return True
        return False

    def _apply_position(self, entity_id: str, state: State | None) -> bool:
        settings = self.settings
        if settings.longitude is None:
            position = tracker_position(state)
            if position != self._position:
                self._position = position
                self._position_changed = position is not None
            return True
        value = number(state)
        if value is None:
            self._position = None
            self._pair_lat = self._pair_lon = None
            self._pair_since = None
            return True
        if entity_id == settings.position:
            self._pair_lat = value
        else:
            self._pair_lon = value
        when = state.last_updated if state is not None else None
        if self._pair_since is None:
            self._pair_since = when
        if self._pair_lat is not None and self._pair_lon is not None:
            self._commit_pair()
        return True

    def _commit_pair(self) -> None:
        lat = self._pair_lat
        lon = self._pair_lon
        old = self._position
        if lat is None and old is not None:
            lat = old[0]
        if lon is None and old is not None:
            lon = old[1]
        if lat is None or lon is None:  # only one axis ever seen: wait for the other
            return
        self._pair_lat = self._pair_lon = None
        self._pair_since = None
        position = (lat, lon)
        if position != old:
            self._position = position
            self._position_changed = True

    def _state(self, entity_id: str | None) -> State | None:
        return None if entity_id is None else self.latest.get(entity_id)

    def sample(self, time: datetime) -> Sample | None:
        """A sample at `time` from the latest states; None without a position."""
        position = self._position
        if position is None:
            return None
        s = self.settings
        power = power_w(self._state(s.power))
        if power is not None and s.battery_power:
            power = -power
        if s.engine is not None:
            engine = on_off(self._state(s.engine))
        elif power is not None and s.engine_power_w > 0:
            engine = power >= s.engine_power_w
        else:
            engine = None
        anchor = on_off(self._state(s.anchor)) if s.anchor is not None else None
        return Sample(
            time,
            position[0],
            position[1],
            speed_ms(self._state(s.speed)),
            power,
            engine,
            anchor,
        )

    def conditions(self) -> dict[str, Any]:
        """entity id -> `condition()` of every conditions entity that has a usable state."""
        out: dict[str, Any] = {}
        for entity_id in self.settings.conditions:
            if (record := condition(self.latest.get(entity_id))) is not None:
                out[entity_id] = record
        return out

    # -- the feed's clock ----------------------------------------------------------------------
    def _clock(self, time: datetime) -> datetime:
        """Home Assistant's `time` on the feed's clock: plus `clock_offset`, which a backwards
        step of the wall clock grows and a data gap resets."""
        last = self.last_fed
        if last is None:
            return time
        if (time - last).total_seconds() > self.detector.config.gap_s:
            self.clock_offset = timedelta(0)  # a data gap on either clock: start afresh
            return time
        mapped = time + self.clock_offset
        if (last - mapped).total_seconds() <= CLOCK_STEP_S:
            return mapped
        self.clock_offset = last + self._spacing - time
        self.clock_steps += 1
        return last + self._spacing

    def to_dict(self) -> dict[str, Any]:
        """The feed's clock, JSON-safe (saved with the detector's snapshot)."""
        return {
            "last_fix": None if self.last_fix is None else self.last_fix.isoformat(),
            "last_fed": None if self.last_fed is None else self.last_fed.isoformat(),
            "clock_offset_s": self.clock_offset.total_seconds(),
            "spacing_s": self._spacing.total_seconds(),
        }

    def restore(self, data: Mapping[str, Any]) -> None:
        """Take back the clock of `to_dict` (missing or unreadable values keep the defaults)."""
        self.last_fix = _parse_time(data.get("last_fix"))
        self.last_fed = _parse_time(data.get("last_fed"))
        offset = data.get("clock_offset_s")
        if isinstance(offset, int | float) and math.isfinite(offset) and offset >= 0:
            self.clock_offset = timedelta(seconds=offset)
        spacing = data.get("spacing_s")
        if isinstance(spacing, int | float) and 0 < spacing <= TICK_S:
            self._spacing = timedelta(seconds=spacing)

    # -- driving the detector ------------------------------------------------------------------
    def _feed(self, time: datetime, fix: bool) -> list[Event]:
        sample = self.sample(time)
        if sample is None:
            return []
        last = self.last_fed
        if last is not None:
            if sample.time <= last:
                sample.time = last + timedelta(milliseconds=1)
            spacing = sample.time - last
            self._spacing = min(max(spacing, timedelta(milliseconds=1)), timedelta(seconds=TICK_S))
        self.last_fed = sample.time
        if fix:
            self.last_fix = sample.time
        self.samples += 1
        return self.detector.add(sample)

    def _stale(self, time: datetime) -> bool:
        return (self.last_fix is None or (time - self.last_fix).total_seconds() >= STALE_S) and (
            self.last_fed is None or (time - self.last_fed).total_seconds() >= MIN_SPACING_S
        )

    def flush(self, time: datetime) -> list[Event]:
        """After a group of `apply()`s at `time`: a sample when the position changed, or when a
        value changed while the position is stale."""
        time = self._clock(time)
        position_changed = self._position_changed
        value_changed = self._value_changed
        self._position_changed = self._value_changed = False
        if position_changed:
            self._deferred = None
            return self._feed(time, True)
        if value_changed:
            if self._stale(time):
                self._deferred = None
                return self._feed(time, False)
            if self._deferred is None:
                self._deferred = time
        return []

    def commit_pair(self, now: datetime) -> list[Event]:
        """The partner of a changed latitude/longitude did not come: commit it alone now."""
        if self._pair_since is None:
            return []
        if self._position is None:  # nothing to combine a lone axis with yet
            self._pair_lat = self._pair_lon = None
            self._pair_since = None
            return []
        self._commit_pair()
        return self.flush(now)  # flush() puts `now` on the feed's clock

    def tick(self, now: datetime) -> list[Event]:
        """Let time pass: with a position available and stale, the last position is sampled at
        `now` (the boat is still there); otherwise the detector's own tick (data gaps, the end of
        a stop's merge window)."""
        now = self._clock(now)
        if self._position is not None and self._stale(now):
            events: list[Event] = []
            deferred, self._deferred = self._deferred, None
            last = self.last_fed
            if deferred is not None and (last is None or deferred > last):
                events += self._feed(deferred, False)
            elif (
                last is not None
                and last == self.last_fix
                and 2 * MIN_SPACING_S < (now - last).total_seconds() <= STALE_S + 2 * TICK_S
            ):
                # the first tick after the last fix: nothing changed since, so the boat was
                # still there a bucket later (the stop is then dated from the last fix)
                events += self._feed(last + timedelta(seconds=MIN_SPACING_S), False)
            return events + self._feed(now, False)
        return self.detector.tick(now)

    def position_available(self) -> bool:
        """True while the position entity (or pair) has a usable value."""
        return self._position is not None

    def seed(self, states: Mapping[str, State | None]) -> None:
        """Take the current states without making samples (setup, the start of a replay)."""
        for entity_id, state in states.items():
            self.apply(entity_id, state)
        if self._pair_since is not None:
            self._commit_pair()
        self._position_changed = self._value_changed = False
