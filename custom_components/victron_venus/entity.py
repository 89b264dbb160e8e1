"""The shared entity layer: device info, availability from the coordinator, the write policy.

Every source (VE.Direct, Venus GX, JBD, bank, logbook) pushes each device's latest decoded values
into the device's `DeviceCoordinator` (coordinator.py, which also owns freshness). Entities are
rows of description tables (`descriptions/`), never classes per field, and do no I/O; an entity is
available exactly when its coordinator is.

The write policy (what reaches the state machine, and so the recorder) is decided here, per
quantity, from the entry's recording option (const.Recording) and the row (`write_policy`):

- at once: the first value, availability, a discrete value (an enum state, error, alarm, binary
  sensor), attributes, a value that becomes or stops being a number, and a large step (ten
  thresholds);
- detailed: every other change, at most once per write interval (the entry's `write_interval`,
  default 5 s; 0: every change at once), always the latest value (the behaviour before 1.3);
- balanced (the default): a number is written when it has moved by its threshold from the
  written value (at most once per write interval), or when the time-integral of its difference
  from the written value (its area) reaches threshold x 60 s (a value that sits just under the
  threshold is written within minutes, so hourly means stay true), and at the latest 15 minutes
  after it changed (the maximum silence). An area write takes a reading beyond the mean since
  the last write (on the area's side; past twice the limit, the latest), so the written values
  straddle the mean and their errors cancel: a value that flips between two levels (a pump, a
  charger cycling, a full battery's current) writes each level for its share of the time.
  Thresholds by device class (`CLASS_THRESHOLDS`): two displayed steps
  (10^-suggested_display_precision), and for noisy quantities a part of the value:

  | class | threshold (balanced) |
  |---|---|
  | voltage | 2 steps or 0.1 % (a 12 V battery: 0.02 V; a cell: 3 mV; mains: 0.23 V) |
  | current, power, apparent power | 5 steps or 1 % (0.05 A, 5 W; 1 % above 5 A / 500 W) |
  | battery (state of charge) | 1 step (0.1 % or 1 %, as displayed) |
  | temperature, humidity, pressure, frequency, speed, distance, volume | 2 steps |
  | duration | 2 steps or 1 % |
  | any other number with a display precision | 2 steps |
  | a number without display precision or class | every change |

  A row may name its own (`write_threshold`, `write_relative`, in its native unit). Two parts
  follow the value itself: the threshold is at least 2.5 times its noise (the running mean
  absolute difference of successive readings: mains voltage, a GPS course at rest, a noisy
  current) while the value moves (once it has held still for three reading intervals the plain
  threshold applies again, so a burst's last value is written), and at least 1.5 % of its
  range (this hour's so far, or the last hour's fading out as this hour passes: a value that
  travels far, such as a remaining capacity or a time-to-go, moves in steps of 1.5 % of its
  range, so its hourly mean stays within about 0.75 % of that range, also in the hour after a
  faster one; hours are the wall clock's, as the statistics' are). A ramp's own steps count
  as noise up to 2 % of the range (its mean lags by half its step: a count that climbs a
  displayed step per change is written every two steps, not three). A noisy value (its noise,
  less the mean of its differences so that a ramp is not noise, sets its threshold) carries its
  area over its writes, its area limit is at most 9 s of this hour's range so far, and each of
  its writes (but a large step or the maximum silence) must be a reading beyond the mean on the
  side its area needs: its area stays within the limit, so its hourly mean within 0.5 % of the
  range, however far its noise raised its threshold;
- lean: as balanced with five times the thresholds (noise x5, 5 % of the range), threshold x
  300 s (at most 45 s of the range) and one hour of silence;
- a position (a device_tracker, balanced and lean): written when it is 10 m (lean 50 m) off
  where the course and speed of its last two written positions put the boat now (dead
  reckoning), when it has moved that far from the written one and 30 s have passed (so the
  Logbook, which takes a position silent for a minute as a boat at rest, sees a moving boat
  move), and at the maximum silence: a boat on a steady course writes its position every 30 s
  and its turns, a boat at anchor only when it swings, not each fix's jitter (plaka's first
  hour under way: 338 of 1,800 fixes written, every fix within 6.2 m of the written track);
- a value written on change whose row names `write_settle` (balanced and lean): once it has held
  that long (lean: five times), so a value that flips within the noise (which cell is the
  lowest) is not written at every flip;
- energy counters and every other sum (state class total_increasing or total) are exact in
  every policy: long-term statistics take a sum's last state in each 5-minute statistics period,
  so a counter that changed is written 2 s before each period ends (`PeriodEnds`), and every
  change in those last 2 s at once; a counter that falls (a daily yield's reset) writes its last
  value before the fall and the new one at once. Between period ends balanced and lean write no
  counter rows (detailed: every change, as before).

Guarantees of the write path, for every source (they all write through `VictronEntity`):
- A total_increasing counter never goes down (`is_monotonic`): a value lower than what the entity
  last wrote is refused (the entity keeps showing the last written value), counted in the
  coordinator's `decreases_refused` and logged at WARNING once per entity per episode. After a
  restart the floor is the restored state and the recorder's last value (sensor.py), so a source
  that restarts from an older save, or another device on the port, cannot write less than Home
  Assistant already has. Availability does not touch the floor. Counters that reset by design (a
  day's yield) say `monotonic=False` in their row.
- No value of any type raises in a write: each platform coerces a value to what it can show
  (`_coerce`; non-finite numbers, numbers too large for a float, text where a number is expected,
  an enum value outside the options, attributes that are not JSON, a value_fn that raises ...
  become None, shown as unknown), counts it in the coordinator's `bad_values` and logs it once per
  entity; a write that still fails is retried as unknown. Nothing escapes into Home Assistant's
  listener or loop machinery.
- A new key in a device's data always gets its entity: the coordinator counts changes of its key
  set (`keys_version`), whether the source pushes a new dict or edits its dict in place.
- `homeassistant.update_entity` writes the latest pushed data now; a push coordinator never fetches.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
import logging
import math
import time
from typing import Any, ClassVar, Final, cast

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.device_tracker.entity import TrackerEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN, STATISTICS_PERIOD, Recording
from .coordinator import (
    DataReads,
    DeviceCoordinator as DeviceCoordinator,  # noqa: PLC0414  (re-exported: see below)
    DeviceData as DeviceData,  # noqa: PLC0414
    VictronConfigEntry,
    async_track_freshness as async_track_freshness,  # noqa: PLC0414
    signal_new_device,
    write_interval_of,
)
from .trips.trip import EARTH_RADIUS_M

_LOGGER = logging.getLogger(__package__)

# The coordinator's names (DeviceCoordinator, DeviceData, async_track_freshness) stay importable
# from here for one release; their home is coordinator.py.
update_interval_of = write_interval_of
"""Old name of `coordinator.write_interval_of`, for one release."""

BAD: Final = object()
"""What `_coerce` returns for a value the entity cannot show (counted, then shown as unknown)."""

LARGEST_EXACT_INT: Final = 2**53
"""Integers beyond this are shown as floats (a state is at most 255 characters)."""


def finite_number(value: Any) -> Any:
    """`value` as a number a state can hold (int, float or Decimal), or `BAD`.

    int (not bool), float and Decimal must be finite; an int beyond 2**53 becomes a float (BAD
    when it overflows one); text is parsed as a float (BAD unless finite). Anything else is BAD.
    """
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else BAD
    if kind is Decimal:
        return value if value.is_finite() else BAD
    if kind is int:
        if -LARGEST_EXACT_INT <= value <= LARGEST_EXACT_INT:
            return value
        try:
            as_float = float(value)
        except OverflowError:
            return BAD
        return as_float if math.isfinite(as_float) else BAD
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return BAD
        return parsed if math.isfinite(parsed) else BAD
    return BAD


@dataclass(frozen=True, kw_only=True)
class VictronEntityDescription(EntityDescription):
    """What every row of a description table has beyond Home Assistant's own description.

    `value_fn` turns the device's data into the state (default: `data.get(key)`);
    `exists_fn` decides from the data whether the device has this entity (default: the key is
    present; it is asked again whenever the data's key set changes, so it must depend on the keys
    only); `discrete` entities write at once on change; `attributes_fn` gives the state
    attributes (small JSON-safe values; a change writes at once); `monotonic` says whether the
    value never goes down (default: a sensor whose state class is total_increasing; False for a
    counter that resets by design, such as a day's yield). `write_threshold` (native unit; 0:
    every change) and `write_relative` (part of the value) replace the balanced threshold that
    `write_policy` derives from the row's class and display precision (lean: five times them).
    `write_settle` (s): a value of a row without a threshold (written on change) is written only
    once it has held this long, in balanced (lean: five times as long; detailed: every change),
    for a value that flips with noise, such as which cell is the lowest.
    """

    value_fn: Callable[[DeviceData], Any] | None = None
    exists_fn: Callable[[DeviceData], bool] | None = None
    discrete: bool = False
    attributes_fn: Callable[[DeviceData], Mapping[str, Any] | None] | None = None
    monotonic: bool | None = None
    write_threshold: float | None = None
    write_relative: float | None = None
    write_settle: float | None = None


@dataclass(frozen=True, kw_only=True)
class VictronSensorEntityDescription(VictronEntityDescription, SensorEntityDescription):
    """A sensor row of a description table."""


@dataclass(frozen=True, kw_only=True)
class VictronBinarySensorEntityDescription(VictronEntityDescription, BinarySensorEntityDescription):
    """A binary sensor row of a description table."""


@dataclass(frozen=True, kw_only=True)
class VictronTrackerEntityDescription(VictronEntityDescription, TrackerEntityDescription):
    """A device_tracker row: `value_fn` gives (latitude °, longitude °, accuracy m) or None."""


@dataclass(frozen=True, kw_only=True)
class VictronImageEntityDescription(VictronEntityDescription):
    """An image row: `value_fn` gives a version (a new value = a new image), `image_fn` the
    image bytes (None = no image) of type `content_type`."""

    image_fn: Callable[[DeviceData], bytes | None]
    content_type: str = "image/svg+xml"


def is_monotonic(description: EntityDescription) -> bool:
    """Whether the row's value never goes down: its `monotonic` if set, else whether it is a
    total_increasing sensor."""
    monotonic = getattr(description, "monotonic", None)
    if monotonic is not None:
        return bool(monotonic)
    return getattr(description, "state_class", None) == SensorStateClass.TOTAL_INCREASING


# --- the write policy ---------------------------------------------------------------------------

STEP_FACTOR: Final = 10.0
"""A change of this many thresholds is a large step: written at once, whatever the interval."""

LEAN_FACTOR: Final = 5.0
"""Lean's thresholds are this many times balanced's."""

CLOSING_SECONDS: Final = 2.0
"""A changed counter is written this long before each statistics period ends, and every change of
it at once from then until the period ends."""


@dataclass(frozen=True, slots=True)
class WritePolicy:
    """What of one entity's values reaches the state machine, and so the recorder.

    `threshold` (native unit) and `relative` (part of |written value|): the larger of the two is
    the change from the written value that is worth a write; both 0: every change.
    `heartbeat`: seconds after the last write at which a value that differs from the written one
    is written anyway (None: no limit). `area`: seconds; a value is also written when the
    time-integral of its difference from the written value reaches threshold x area (0: off).
    `counter`: a sum for long-term statistics, exact at every statistics period's end.
    `distance`: metres; a position (a tracker's (latitude, longitude, accuracy)) is written when
    it is this far from where the course and speed of its last two written positions put it
    (dead reckoning), or has moved this far from the written one MOVING_SILENCE ago (0: every
    change).
    `settle`: seconds a changed value must hold before it is written (a value written on change,
    whose row names `write_settle`; 0: at once).
    `noise`: the threshold is at least this many times the value's own noise (the mean absolute
    difference of successive readings); `span`: at least this part of the value's range over the
    last hour (so a quantity that moves far moves in fewer, larger steps: its hourly mean stays
    within half of it). `area_span`: seconds; the area limit is at most this many seconds of
    the value's range in this hour so far (but not below the threshold without its noise and
    range parts x `area`), so a value whose noise raised its threshold above its range (one that
    flips between two levels, or the last hour's range: a calm hour after a dawn ramp) still
    has its hourly mean within about 2 x area_span / 3600 of the hour's range (0: no such
    limit). Hours are the wall clock's, as the statistics' are.
    """

    threshold: float = 0.0
    relative: float = 0.0
    heartbeat: float | None = None
    area: float = 0.0
    counter: bool = False
    noise: float = 0.0
    span: float = 0.0
    area_span: float = 0.0
    distance: float = 0.0
    settle: float = 0.0

    @property
    def every_change(self) -> bool:
        """Whether every change is worth a write (detailed, or a row without a threshold)."""
        return self.threshold <= 0 and self.relative <= 0 and self.distance <= 0

    def threshold_at(self, written: float, noise: float = 0.0, span: float = 0.0) -> float:
        """The change worth a write from the written value `written`, for a value whose noise
        (mean absolute difference of successive readings) and hourly range are as given."""
        return max(
            self.threshold, self.relative * abs(written), self.noise * noise, self.span * span
        )


CLASS_THRESHOLDS: Final[dict[str, tuple[float, float]]] = {
    SensorDeviceClass.VOLTAGE: (2, 0.001),
    SensorDeviceClass.CURRENT: (5, 0.01),
    SensorDeviceClass.POWER: (5, 0.01),
    SensorDeviceClass.APPARENT_POWER: (5, 0.01),
    SensorDeviceClass.REACTIVE_POWER: (5, 0.01),
    SensorDeviceClass.BATTERY: (1, 0.0),
    SensorDeviceClass.DURATION: (2, 0.01),
}
"""Balanced thresholds per device class: (displayed steps, part of the value); the larger wins.
Any other class, and rows without one, take two displayed steps (DEFAULT_STEPS)."""

DEFAULT_STEPS: Final = 2.0

FALLBACK_PRECISION: Final[dict[str, int]] = {
    SensorDeviceClass.VOLTAGE: 2,
    SensorDeviceClass.CURRENT: 2,
    SensorDeviceClass.POWER: 0,
    SensorDeviceClass.APPARENT_POWER: 0,
    SensorDeviceClass.BATTERY: 0,
    SensorDeviceClass.TEMPERATURE: 1,
    SensorDeviceClass.DURATION: 0,
}
"""The displayed precision a row of these classes is taken to have when it names none."""

NOISE: Final[dict[Recording, float]] = {Recording.BALANCED: 2.5, Recording.LEAN: 5.0}
"""The threshold is at least this many times the value's noise, per policy."""

SPAN: Final[dict[Recording, float]] = {Recording.BALANCED: 0.015, Recording.LEAN: 0.05}
"""The threshold is at least this part of the value's range over the last hour, per policy."""

NOISE_WEIGHT: Final = 1 / 32
"""Weight of the newest difference in the running noise estimate (about the last 32 readings)."""

STILL_READINGS: Final = 3
"""The noise part applies while the value moves: once it has held still this many reading
intervals (at least STILL_SECONDS), the plain threshold applies, so a burst's last value is
written."""
STILL_SECONDS: Final = 2.0

HEARTBEAT: Final[dict[Recording, float]] = {Recording.BALANCED: 900.0, Recording.LEAN: 3600.0}
"""Maximum silence (s) of a value that differs from the written one, per policy."""

RAMP_SPAN: Final = 4 / 3
"""A ramp's steps raise its threshold to at most this many times the policy's part of the
range (balanced: 2 % of the hour's range, so its hourly mean lags by 1 % at most)."""

AREA: Final[dict[Recording, float]] = {Recording.BALANCED: 60.0, Recording.LEAN: 300.0}
"""Seconds of one threshold's difference after which a value is written, per policy."""

AREA_SPAN: Final[dict[Recording, float]] = {Recording.BALANCED: 9.0, Recording.LEAN: 45.0}
"""The area limit is at most this many seconds of the value's range in this hour so far (0.25 % of
it for an hour, in balanced), per policy: a noisy value's carried area stays within it either way,
so its hourly mean within 0.5 % of the hour's range."""

AREA_FALLBACK: Final = 2.0
"""An area write waits for a reading beyond the interval's mean (so the written values straddle
the mean, and their errors cancel) until the area reaches this many limits; then the latest."""

POSITION_DISTANCE: Final[dict[Recording, float]] = {Recording.BALANCED: 10.0, Recording.LEAN: 50.0}
"""Metres a position may be off its dead-reckoned place before it is written, per policy (a GX
reports no accuracy; a GPS fix is good to a few metres)."""

MOVING_SILENCE: Final = 30.0
"""Seconds: a position that has moved at least its distance from the written one is written at
least this often (0: at every write interval), so a boat that moves is seen moving by whatever
follows its tracker (the Logbook takes a position silent for STALE_S = 60 s as a boat at rest,
trips/feed.py; a trip's time runs to its latest fix, as its distance does)."""

RECKON_MIN_SECONDS: Final = 1.0
"""Two written positions closer in time than this give no course and speed (a fix's jitter
over a fraction of a second would reckon a speed of tens of m/s); nor do two closer in space
than the policy's distance (a boat at anchor: jitter over 15 minutes)."""

EARTH_RADIUS: Final = EARTH_RADIUS_M
"""Metres: the mean radius of the earth (IUGG), for distances between nearby positions (the
Logbook's, trips/trip.py)."""

_SUM_CLASSES: Final = frozenset({SensorStateClass.TOTAL_INCREASING, SensorStateClass.TOTAL})


def _metres_from(origin: tuple[float, ...], point: tuple[float, ...]) -> tuple[float, float]:
    """`point` (latitude °, longitude °, ...) in metres east and north of `origin` (the same
    shape), on a plane tangent at `origin`: within 0.1 % for the few kilometres a position
    moves between two writes, across the antimeridian too."""
    east = (point[1] - origin[1] + 180.0) % 360.0 - 180.0
    return (
        math.radians(east) * EARTH_RADIUS * math.cos(math.radians(origin[0])),
        math.radians(point[0] - origin[0]) * EARTH_RADIUS,
    )


def write_policy(description: EntityDescription, recording: Recording) -> WritePolicy:
    """The write policy of a row under `recording` (the table in this module's docstring).

    A sum (state class total_increasing or total) is a counter in every policy. Detailed, and
    rows that are not numbers with a known display step, write every change. Otherwise the
    threshold is the row's own (`write_threshold` / `write_relative`) or its class's, in
    displayed steps of 10^-suggested_display_precision; lean multiplies it by LEAN_FACTOR.
    """
    counter = getattr(description, "state_class", None) in _SUM_CLASSES
    if recording is Recording.DETAILED:
        return WritePolicy(counter=counter)
    if isinstance(description, VictronTrackerEntityDescription):
        return WritePolicy(distance=POSITION_DISTANCE[recording], heartbeat=HEARTBEAT[recording])
    own = getattr(description, "write_threshold", None)
    own_relative = getattr(description, "write_relative", None)
    device_class = getattr(description, "device_class", None)
    steps, relative = CLASS_THRESHOLDS.get(device_class or "", (DEFAULT_STEPS, 0.0))
    if own is not None:
        threshold = float(own)
    else:
        precision = getattr(description, "suggested_display_precision", None)
        if precision is None:
            precision = FALLBACK_PRECISION.get(device_class or "")
        numeric = (
            getattr(description, "native_unit_of_measurement", None) is not None
            or getattr(description, "state_class", None) is not None
            or device_class is not None
        )
        if precision is None or not numeric or getattr(description, "options", None):
            threshold, relative = 0.0, 0.0
        else:
            threshold = steps * 10.0**-precision
    if own_relative is not None:
        relative = float(own_relative)
    factor = LEAN_FACTOR if recording is Recording.LEAN else 1.0
    if threshold <= 0 and relative <= 0:
        settle = getattr(description, "write_settle", None) or 0.0
        return WritePolicy(counter=counter, settle=settle * factor)
    return WritePolicy(
        threshold=threshold * factor,
        relative=relative * factor,
        heartbeat=HEARTBEAT[recording],
        area=AREA[recording],
        counter=counter,
        noise=NOISE[recording],
        span=SPAN[recording],
        area_span=AREA_SPAN[recording],
    )


class PeriodEnds:
    """Writes changed counters before each statistics period ends (one per Home Assistant).

    Long-term statistics of a sum take its last state in each STATISTICS_PERIOD (UTC-aligned);
    `CLOSING_SECONDS` before a period ends every registered entity writes its latest value if it
    changed, and `closing` is True until the period ends (counters then write every change at
    once), so the last state of each period is the same as with every change written. Runs
    only while an entity is registered.
    """

    def __init__(self, hass: HomeAssistant) -> None:
        """Create the clock of `hass` (`PeriodEnds.of`)."""
        self.hass = hass
        self.closing = False
        self._entities: set[VictronEntity] = set()
        self._timer: asyncio.TimerHandle | None = None
        self._end = 0.0  # the end (time.time()) of the period being waited for
        #: Period ends whose flush ran late (after the period had ended), for diagnostics.
        self.late = 0

    @staticmethod
    def of(hass: HomeAssistant) -> PeriodEnds:
        """The clock of `hass`, created on first use."""
        clock: PeriodEnds | None = hass.data.get(_PERIOD_ENDS)
        if clock is None:
            clock = hass.data[_PERIOD_ENDS] = PeriodEnds(hass)
        return clock

    @callback
    def add(self, entity: VictronEntity) -> Callable[[], None]:
        """Register a counter entity; returns the callback that removes it."""
        self._entities.add(entity)
        if self._timer is None:
            self._schedule()

        @callback
        def remove() -> None:
            self._entities.discard(entity)
            if not self._entities and self._timer is not None:
                self._timer.cancel()
                self._timer = None
                self.closing = False

        return remove

    def _schedule(self) -> None:
        """Wait for the next event: the closing window's start, or the period's end."""
        now = time.time()
        if not self.closing:
            self._end = (math.floor(now / STATISTICS_PERIOD) + 1) * STATISTICS_PERIOD
        at = self._end if self.closing else self._end - CLOSING_SECONDS
        self._timer = self.hass.loop.call_later(max(at - now, 0.0), self._fire)

    @callback
    def _fire(self) -> None:
        """Open the closing window (flush every changed counter), or close it at the period's
        end; a timer that fires early (the wall clock was set back) waits again."""
        self._timer = None
        now = time.time()
        if self.closing:
            if now >= self._end:
                self.closing = False
        elif now >= self._end:  # the window was missed (a blocked loop): flush late, count it
            self.late += 1
            self._flush()
        elif now >= self._end - CLOSING_SECONDS:
            self.closing = True
            self._flush()
        if self._entities:
            self._schedule()

    def _flush(self) -> None:
        for entity in list(self._entities):
            entity.flush_counter()


_PERIOD_ENDS: Final = f"{DOMAIN}_period_ends"


class VictronEntity(CoordinatorEntity[DeviceCoordinator]):
    """Base entity: device info, freshness as availability, rate-limited and guarded writes.

    Platforms override `_coerce` (what their state can hold); counter sensors override
    `_async_restored_floor` (the value Home Assistant already has for them).
    """

    _attr_has_entity_name = True
    entity_description: VictronEntityDescription
    #: Whether a push that names its changed keys notifies this entity only when one of them is
    #: a key its row read (`DataReads`): entities whose state is their row's value and attributes
    #: alone (sensors, binary sensors, trackers; not the control entities, which read limits).
    notify_by_reads: ClassVar[bool] = False

    def __init__(
        self, coordinator: DeviceCoordinator, description: VictronEntityDescription
    ) -> None:
        """Create the entity for one row of a description table (its value is read when added)."""
        #: The device's data as the row's functions see it: the keys they read.
        self._reads = DataReads()
        super().__init__(coordinator, self._reads if self.notify_by_reads else None)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.identifier}_{description.key}"
        self._attr_device_info = coordinator.device_info
        self._value_fn = description.value_fn or _getter(description.key)
        self._discrete = description.discrete
        self._attrs_fn = description.attributes_fn
        self._monotonic = is_monotonic(description)
        self._value: Any = None
        self._attrs: Mapping[str, Any] | None = None
        #: (available, value) of the last write; None before the first.
        self._written: tuple[bool, Any] | None = None
        #: (available, value, attributes) of the latest update, for the deferred write.
        self._pending: tuple[bool, Any, Mapping[str, Any] | None] | None = None
        self._last_write = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0  # loop time the timer fires at
        #: What of its values this entity writes (the entry's recording option, the row).
        self.write_policy = write_policy(description, coordinator.recording)
        #: The time-integral (unit x s) of the difference between the latest value and the
        #: written one since the last write, up to `_area_at` (loop time); `_area_value` is the
        #: latest numeric value (None: not a number).
        self._area = 0.0
        self._area_at = 0.0
        self._area_value: float | None = None
        #: A noisy value's area before the last write, carried over it (`_decide`): the
        #: time-integral of its difference from the written values since the noise began.
        self._carry = 0.0
        #: Running noise (mean absolute difference of successive numeric readings) and the
        #: value's range: lowest and highest in the current hour (of the wall clock, as the
        #: statistics' hours are; the loop's clock counts from boot), the previous hour's range.
        self._noise = 0.0
        self._drift = 0.0  # running mean of the signed differences (a ramp's step)
        self._gap = 0.0  # running mean time between readings (s)
        self._read_at = self._changed_at = 0.0  # loop times: last reading, last change
        self._hour = -1
        self._low = self._high = 0.0
        self._last_span = 0.0
        self._pending_at = 0.0  # loop time the pending value last changed (`settle` rows)
        #: A position's written position before the last one: (loop time, value) or None.
        self._fix_before: tuple[float, tuple[float, ...]] | None = None
        self._period_ends: PeriodEnds | None = None  # counters: the statistics period clock
        #: A counter's floor: the last value written (or restored); never written lower.
        self._floor: Any = None
        self._refusing = False
        self._bad_logged = False
        self._bad_push = -1  # the coordinator push a bad value was last counted for
        self._refused_push = -1
        self._errors_logged = False

    @property
    def current_value(self) -> Any:
        """The value this entity last wrote (the state machine's view)."""
        return self._value

    async def async_added_to_hass(self) -> None:
        """Take the floor (counters), then the first value; the rate limit starts from it."""
        if self._monotonic:
            try:
                floor = await self._async_restored_floor()
            except Exception:  # no floor is better than no entity
                _LOGGER.debug("%s: could not read its last value", self.entity_id, exc_info=True)
            else:
                if floor is not None:
                    self._floor = floor
        await super().async_added_to_hass()
        available = self.coordinator.last_update_success
        self._set(available, self._evaluate(), self._evaluate_attrs())
        self.async_on_remove(self._cancel_timer)
        if self.write_policy.counter:
            self._period_ends = PeriodEnds.of(self.hass)
            self.async_on_remove(self._period_ends.add(self))

    async def _async_restored_floor(self) -> Any:
        """The value Home Assistant already has for this counter (None: nothing known)."""
        return None

    async def async_update(self) -> None:
        """`homeassistant.update_entity`: take the latest pushed data now (Home Assistant writes
        the state right after). A push source has nothing to fetch."""
        self._cancel_timer()
        available = self.coordinator.last_update_success
        self._set(available, self._evaluate(), self._evaluate_attrs())

    @callback
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # --- values --------------------------------------------------------------------------------

    def _coerce(self, value: Any) -> Any:
        """`value` as this entity's state can hold it, or `BAD`. Base: non-finite floats are BAD."""
        if type(value) is float and not math.isfinite(value):
            return BAD
        return value

    def _evaluate(self) -> Any:
        """The value to show for the coordinator's data: read, coerced, floored (counters)."""
        try:
            value = self._coerce(self._value_fn(self._reads.track(self.coordinator.data)))
        except Exception as err:  # a bad value never escapes the write path
            self._bad(f"{type(err).__name__} while reading it")
            return None
        if value is BAD:
            self._bad("a value it cannot show")
            return None
        if self._monotonic and value is not None and self._floor is not None:
            return self._floored(value)
        return value

    def _evaluate_attrs(self) -> Mapping[str, Any] | None:
        """The state attributes for the coordinator's data: a JSON-safe mapping or None. Called
        right after `_evaluate` (the keys it reads join those the value read)."""
        if self._attrs_fn is None:
            return None
        try:
            attrs = self._attrs_fn(self._reads)
            if attrs is None or attrs == self._attrs:
                return self._attrs if attrs is not None else None
            if not isinstance(attrs, Mapping):
                raise TypeError("attributes are not a mapping")
            json_bytes(attrs)  # what the recorder and the frontend will do with them
        except Exception as err:
            self._bad(f"attributes it cannot show ({type(err).__name__})")
            return None
        return attrs

    def _bad(self, what: str) -> None:
        """Count a value that cannot be shown (once per push); log it once per entity."""
        coordinator = self.coordinator
        if self._bad_push != coordinator.updates:
            self._bad_push = coordinator.updates
            coordinator.bad_values += 1
            if not self._bad_logged:
                self._bad_logged = True
                _LOGGER.warning(
                    "%s: its source gave %s; shown as unknown (counted in diagnostics, "
                    "logged once)",
                    self.entity_id,
                    what,
                )

    def _floored(self, value: Any) -> Any:
        """A counter's value, or its floor when the value is lower (refused, counted, logged)."""
        floor = self._floor
        try:
            lower = floor is not None and value < floor
        except TypeError:  # not comparable: not a number, no floor to keep
            return value
        if not lower:
            if self._refusing:
                self._refusing = False
                _LOGGER.info("%s: rose to %s, past its last value again", self.entity_id, value)
            return value
        coordinator = self.coordinator
        if self._refused_push != coordinator.updates:
            self._refused_push = coordinator.updates
            coordinator.decreases_refused += 1
        if not self._refusing:
            self._refusing = True
            _LOGGER.warning(
                "%s: refused %s, lower than its last value %s (a total_increasing counter "
                "never goes down: another device on the port, or a source restarted from an "
                "older save?); it keeps %s until the value rises again (counted in diagnostics)",
                self.entity_id,
                value,
                floor,
                floor,
            )
        return floor

    # --- writes --------------------------------------------------------------------------------

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write at once what must be (availability, discrete values, attributes, the first
        value); the rest as the write policy says (`_decide`)."""
        try:
            available = self.coordinator.last_update_success
            value = self._evaluate()
            if self._attrs_fn is None:
                attrs = None
                attrs_changed = False
            else:
                attrs = self._evaluate_attrs()
                attrs_changed = attrs != self._attrs
            previous = self._pending
            self._pending = (available, value, attrs)
            if self.write_policy.settle and (previous is None or previous[1] != value):
                self._pending_at = self.hass.loop.time()
            written = self._written
            if self._area_value is not None or type(value) in _NUMBERS:
                self._integrate(value)
            if written is not None and written == (available, value) and not attrs_changed:
                return
            if (
                written is None
                or written[0] != available
                or attrs_changed
                or (self._discrete and written[1] != value)
            ):
                self._write(available, value, attrs)
            else:
                self._decide(previous)
        except Exception:  # never into Home Assistant's listener loop
            self._internal_error()

    def _integrate(self, value: Any, reading: bool = True) -> None:
        """Add the difference of the latest value from the written one since the last update to
        the area; `value` becomes the latest (None when it is not a number). A `reading` (not a
        timer) also updates the noise and range estimates."""
        now = self.hass.loop.time()
        written: Any = self._written[1] if self._written is not None else None
        latest = self._area_value
        if latest is not None and type(written) in _NUMBERS:
            self._area += (latest - written) * (now - self._area_at)
        self._area_at = now
        if not reading:
            return
        if type(value) in _NUMBERS:
            self._area_value = value
            if latest is not None:
                self._noise += (abs(value - latest) - self._noise) * NOISE_WEIGHT
                self._drift += (value - latest - self._drift) * NOISE_WEIGHT
                if value != latest:
                    self._changed_at = now
                if self._read_at:
                    self._gap += (now - self._read_at - self._gap) * NOISE_WEIGHT
            self._read_at = now
            # the statistics' hours: the wall clock's (the loop's clock counts from boot)
            hour = int(time.time() // 3600)
            if hour != self._hour:
                if self._hour >= 0:
                    self._last_span = self._high - self._low if hour == self._hour + 1 else 0.0
                self._hour = hour
                self._low = self._high = value
            elif value < self._low:
                self._low = value
            elif value > self._high:
                self._high = value
        else:
            self._area_value = None

    def _decide(
        self,
        previous: tuple[bool, Any, Mapping[str, Any] | None] | None = None,
        now: float | None = None,
    ) -> None:
        """Write the pending value now, later (a timer), or not, as the write policy says.

        `previous` is the update before this one (a counter that falls writes it first); `now`
        the loop time (default: the loop's clock; a timer passes the time it was set for).
        """
        pending = self._pending
        written = self._written
        if pending is None or written is None or written == pending[:2]:
            return  # nothing to write (a value that flipped back costs no write)
        available, value, attrs = pending
        policy = self.write_policy
        if now is None:
            now = self.hass.loop.time()
        due = self._last_write + self.coordinator.write_interval
        numbers = type(value) in _NUMBERS and type(written[1]) in _NUMBERS
        if policy.counter:
            if self._period_closing():
                self._write(available, value, attrs)
                return
            if numbers and value < written[1]:  # a reset: the last value before it, then it
                if previous is not None and previous[:2] != written and previous[0] == available:
                    self._write(*previous)
                self._write(available, value, attrs)
                return
            if not policy.every_change and numbers:
                return  # written at the period's end (PeriodEnds)
        if policy.distance > 0 and type(value) is tuple and type(written[1]) is tuple:
            self._decide_position(available, value, attrs, now, due)
            return
        if policy.every_change or not numbers:
            if policy.settle > 0:  # a value that flips with noise: once it has held
                due = max(due, self._pending_at + policy.settle)
            if now >= due:
                self._write(available, value, attrs)
            else:
                self._schedule(due)
            return
        # the range: this hour's so far, or the last hour's, fading as this hour passes (a
        # value that slows down gets steps in proportion to its new pace by the hour's end);
        # hours of the wall clock, as the statistics' are
        fade = 1.0 - (time.time() % 3600.0) / 3600.0
        span = max(self._last_span * fade, self._high - self._low)
        still_at = self._changed_at + max(STILL_SECONDS, STILL_READINGS * self._gap)
        noise = self._noise if now < still_at else 0.0
        drift = abs(self._drift)
        # `threshold_at`'s parts, each once (this runs at every reading of every number)
        row = max(policy.threshold, policy.relative * abs(written[1]))  # the row's own
        base = max(row, policy.span * span)
        plain = base * _TOLERANCE
        threshold = max(base, policy.noise * noise) * _TOLERANCE
        if threshold > plain and drift:
            # a ramp's steps count as noise, but raise its threshold to RAMP_SPAN of the range
            # at most (a ramp's hourly mean lags by half its step): a count that climbs one
            # displayed step a minute is written at two, not three
            net = max(base, policy.noise * (noise - drift)) * _TOLERANCE
            cap = max(plain, RAMP_SPAN * policy.span * span * _TOLERANCE)
            threshold = max(net, min(threshold, cap))
        # a noisy value (its noise, not its step or a ramp, sets the threshold) carries its
        # area over writes: each write must be a reading beyond the mean on the side the
        # carried area needs, so the written values straddle the mean and the area stays
        # within the limit
        noisy = policy.noise * (self._noise - drift) > plain  # not a ramp's steps
        delta = abs(value - written[1])
        # a large step is large against the noise even while the value holds still (a level
        # that flips after a pause is no step)
        step = max(base, policy.noise * self._noise) * _TOLERANCE if noisy else threshold
        if delta >= STEP_FACTOR * step:
            self._write(available, value, attrs)
            return
        error = self._area + self._carry if noisy else self._area
        limit = threshold * policy.area
        if policy.area_span > 0:  # this hour's range so far: the hour's mean is judged by it
            limit = min(limit, max(row * policy.area, policy.area_span * (self._high - self._low)))
        if abs(error) <= _SETTLED * limit:  # paid back (a carried area cancelled, in floats)
            error = 0.0
        balanced = self._beyond_mean(value, written[1], now, error)
        area_due = (
            limit > 0 and abs(error) >= limit and (balanced or abs(error) >= AREA_FALLBACK * limit)
        )
        threshold_due = delta >= threshold and (balanced or not noisy)
        if (
            threshold_due
            or area_due
            or (policy.heartbeat is not None and now >= self._last_write + policy.heartbeat)
        ):
            if now >= due:
                self._write(available, value, attrs)
                if noisy:
                    self._carry = error
            else:
                self._schedule(due)
            return
        # not yet: the heartbeat, or when the area reaches its limit (or, past it, the
        # fallback), or when the value has held still (the noise part no longer applies)
        at = math.inf if policy.heartbeat is None else self._last_write + policy.heartbeat
        if noise and delta >= plain:
            at = min(at, max(still_at, due))
        if limit > 0 and delta > 0:
            growing = (error >= 0) == (value > written[1])
            size = abs(error)
            target = limit if size < limit else AREA_FALLBACK * limit
            left = target - size if growing else limit + size
            at = min(at, max(now + left / delta, due))
            if delta >= threshold and not growing:  # due once the carried area changes sign
                at = min(at, max(now + size / delta, due))
        if at != math.inf:
            self._schedule(max(at, now + _MIN_WAIT))

    def _decide_position(
        self,
        available: bool,
        value: tuple[float, ...],
        attrs: Mapping[str, Any] | None,
        now: float,
        due: float,
    ) -> None:
        """A position (latitude °, longitude °, ...) that differs from the written one: written
        when it is `distance` off where the course and speed of the last two written positions
        put the boat now (dead reckoning: a boat on a steady course and speed writes none), when
        it has moved `distance` from the written one and MOVING_SILENCE has passed, or at the
        heartbeat; else a timer for when that may first hold."""
        policy = self.write_policy
        written = cast(tuple[float, ...], self._written[1] if self._written else value)
        since = now - self._last_write
        x, y = _metres_from(written, value)
        moved = math.hypot(x, y)
        off, speed = moved, 0.0
        distance = policy.distance
        before = self._fix_before
        if before is not None and self._last_write - before[0] >= RECKON_MIN_SECONDS:
            bx, by = _metres_from(written, before[1])  # the way it came, reversed
            came = math.hypot(bx, by)
            if came >= distance:  # closer: a fix's jitter, no course and speed
                took = self._last_write - before[0]
                speed = came / took
                scale = since / took
                off = math.hypot(x + bx * scale, y + by * scale)
        heartbeat = math.inf if policy.heartbeat is None else self._last_write + policy.heartbeat
        if off >= distance or (moved >= distance and since >= MOVING_SILENCE) or now >= heartbeat:
            if now >= due:
                self._write(available, value, attrs)
            else:
                self._schedule(due)
            return
        # not yet: the reckoned place moves away from a position that holds at `speed` at most
        at = heartbeat
        if moved >= distance:
            at = min(at, self._last_write + MOVING_SILENCE)
        if speed > 0:
            at = min(at, now + (distance - off) / speed)
        if at != math.inf:
            self._schedule(max(at, due, now + _MIN_WAIT))

    def _beyond_mean(self, value: float, written: float, now: float, error: float) -> bool:
        """Whether `value` is a reading at or beyond the mean since the last write, on the side
        of `error` (the area to pay back): written, it turns the area the other way, so the
        areas cancel in the hour's mean (a value that flips between two levels writes them in
        turn, each for its share of the time). An error of 0 takes any value."""
        if error == 0:
            return True
        elapsed = now - self._last_write
        mean = written + self._area / elapsed if elapsed > 0 else written
        # at the mean counts (a step held since the write), within float rounding
        tolerance = 1e-9 * max(abs(value), abs(written), 1.0)
        return (value - mean) * math.copysign(1.0, error) >= -tolerance

    def _schedule(self, at: float) -> None:
        """Run `_deferred_write` at loop time `at` (or earlier, if already due earlier)."""
        timer = self._timer
        if timer is not None:
            if self._timer_at <= at:
                return
            timer.cancel()
        self._timer_at = at
        self._timer = self.hass.loop.call_at(at, self._deferred_write)

    @callback
    def _deferred_write(self) -> None:
        """A timer of the write policy: decide again with the latest update, at the time the
        timer was set for (a timer that runs is due)."""
        self._timer = None
        try:
            if self._area_value is not None:
                self._integrate(self._area_value, reading=False)
            self._decide(now=max(self.hass.loop.time(), self._timer_at))
        except Exception:  # never into the event loop's exception handler
            self._internal_error()

    @callback
    def flush_counter(self) -> None:
        """A statistics period is about to end (PeriodEnds): write the latest value if it is not
        the written one."""
        try:
            pending = self._pending
            if pending is not None and self._written is not None and self._written != pending[:2]:
                self._write(*pending)
        except Exception:  # never into the event loop's exception handler
            self._internal_error()

    def _period_closing(self) -> bool:
        """Whether the current statistics period ends within CLOSING_SECONDS."""
        return self._period_ends is not None and self._period_ends.closing

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The attributes of the last write (rows with an `attributes_fn` only)."""
        return self._attrs

    @callback
    def _set(self, available: bool, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Make `value` and `attrs` what the next state write shows."""
        if type(value) is tuple:  # a position: the one before it gives the course and speed
            before = self._written
            self._fix_before = (
                (self._last_write, before[1])
                if before is not None and type(before[1]) is tuple
                else None
            )
        self._value = value
        self._attrs = attrs
        self._written = (available, value)
        self._pending = (available, value, attrs)
        if self.hass is not None:
            self._last_write = self.hass.loop.time()
            self._area_at = self._last_write
        self._area = self._carry = 0.0
        self._area_value = value if type(value) in _NUMBERS else None
        if self._monotonic and value is not None:
            self._floor = value

    @callback
    def _write(self, available: bool, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Write the state; a write Home Assistant refuses is written again as unknown."""
        self._cancel_timer()
        previous = self._floor
        self._set(available, value, attrs)
        try:
            self.async_write_ha_state()
        except Exception as err:  # the last guard: what `_coerce` did not foresee
            self._floor = previous
            self._bad(f"a value Home Assistant refused ({type(err).__name__})")
            self._set(available, None, None)
            self.async_write_ha_state()

    def _internal_error(self) -> None:
        """An error of ours in the write path: logged once per entity with its traceback."""
        if not self._errors_logged:
            self._errors_logged = True
            _LOGGER.exception("%s: error writing its state (logged once)", self.entity_id)


_TOLERANCE: Final = 1 - 1e-9
"""Thresholds and areas are compared with this margin: 12.82 - 12.80 is 0.019999999999999574."""

_SETTLED: Final = 1e-6
"""An area within this part of its limit counts as 0 (a carried area and the area since the
write cancel to a float's rounding, of either sign)."""

_MIN_WAIT: Final = 0.01
"""Seconds a policy timer waits at least: an area that a timer finds a float's rounding short of
its limit would set a timer for "now" again and again before the clock moves (a busy loop)."""

_NUMBERS: Final = (int, float)
"""The value types the write policy compares (bool, Decimal and text: every change)."""


def _getter(key: str) -> Callable[[DeviceData], Any]:
    def get(data: DeviceData) -> Any:
        return data.get(key)

    return get


def exists(description: VictronEntityDescription, data: DeviceData) -> bool:
    """Whether the device whose data this is has the entity of `description`."""
    if description.exists_fn is not None:
        return description.exists_fn(data)
    return description.key in data


def _exists_guarded(description: VictronEntityDescription, coordinator: DeviceCoordinator) -> bool:
    """`exists`, with an exists_fn that raises taken as "not yet" (logged at debug)."""
    try:
        return exists(description, coordinator.data)
    except Exception:
        _LOGGER.debug(
            "%s: exists_fn of %s raised", coordinator.name, description.key, exc_info=True
        )
        return False


def async_setup_platform(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    platform: Any,
    entity_factory: Callable[[DeviceCoordinator, Any], VictronEntity],
    async_add_entities: Callable[[list[VictronEntity]], None],
) -> None:
    """Add the entities of every device of `entry` on `platform`, now and as they appear.

    A device's entities are added when their value first shows up in its data (a VE.Direct
    history block arrives after the main block; a GX service publishes paths one by one), and a
    device's entities are added when the source announces the device (dynamic devices).
    """
    source = entry.runtime_data

    @callback
    def _watch(coordinator: DeviceCoordinator) -> None:
        # every source's rows are VictronEntityDescriptions (sources.base.Source.descriptions)
        candidates = cast(
            list[VictronEntityDescription], list(source.descriptions(coordinator, platform))
        )
        seen_version = -1

        @callback
        def _check() -> None:
            """New rows when the key set changed (a counter compare per push, no scan)."""
            nonlocal seen_version
            if coordinator.keys_version == seen_version or not candidates:
                return
            seen_version = coordinator.keys_version
            new = [d for d in candidates if _exists_guarded(d, coordinator)]
            entities: list[VictronEntity] = []
            for description in new:
                candidates.remove(description)
                try:
                    entities.append(entity_factory(coordinator, description))
                except Exception:  # one broken row must not hide the others
                    _LOGGER.exception("%s: cannot create %s", coordinator.name, description.key)
            if entities:
                async_add_entities(entities)

        _check()
        entry.async_on_unload(coordinator.async_add_listener(_check))

    for coordinator in list(source.devices.values()):
        _watch(coordinator)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_new_device(entry.entry_id), _watch))
