"""The shared entity layer: device info, availability from the coordinator, the write policy.

Every source (VE.Direct, Venus GX, JBD, bank, logbook) pushes each device's latest decoded values
into the device's `DeviceCoordinator` (coordinator.py, which also owns freshness). Entities are
rows of description tables (`descriptions/`), never classes per field, and do no I/O; an entity is
available exactly when its coordinator is.

Recorder-friendly writes (the write policy): an entity writes its state at most once per write
interval (the entry's `write_interval` option, default 5 s; 0 = every change), always the latest
value, and at once when availability or a discrete value (an enum state, error, alarm or a binary
sensor) changes.

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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
import logging
import math
import time
from typing import Any, Final, cast

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.device_tracker.entity import TrackerEntityDescription
from homeassistant.components.sensor import SensorEntityDescription, SensorStateClass
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.json import json_bytes
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import (
    DeviceCoordinator as DeviceCoordinator,  # noqa: PLC0414  (re-exported: see below)
    DeviceData as DeviceData,  # noqa: PLC0414
    VictronConfigEntry,
    async_track_freshness as async_track_freshness,  # noqa: PLC0414
    signal_new_device,
    write_interval_of,
)

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
    counter that resets by design, such as a day's yield).
    """

    value_fn: Callable[[DeviceData], Any] | None = None
    exists_fn: Callable[[DeviceData], bool] | None = None
    discrete: bool = False
    attributes_fn: Callable[[DeviceData], Mapping[str, Any] | None] | None = None
    monotonic: bool | None = None


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


class VictronEntity(CoordinatorEntity[DeviceCoordinator]):
    """Base entity: device info, freshness as availability, rate-limited and guarded writes.

    Platforms override `_coerce` (what their state can hold); counter sensors override
    `_async_restored_floor` (the value Home Assistant already has for them).
    """

    _attr_has_entity_name = True
    entity_description: VictronEntityDescription

    def __init__(
        self, coordinator: DeviceCoordinator, description: VictronEntityDescription
    ) -> None:
        """Create the entity for one row of a description table (its value is read when added)."""
        super().__init__(coordinator)
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
        self._timer: Any = None
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
            value = self._coerce(self._value_fn(self.coordinator.data))
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
        """The state attributes for the coordinator's data: a JSON-safe mapping or None."""
        if self._attrs_fn is None:
            return None
        try:
            attrs = self._attrs_fn(self.coordinator.data)
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
        """Write at once on availability or discrete changes, else at most once per interval."""
        try:
            available = self.coordinator.last_update_success
            value = self._evaluate()
            if self._attrs_fn is None:
                attrs = None
                attrs_changed = False
            else:
                attrs = self._evaluate_attrs()
                attrs_changed = attrs != self._attrs
            self._pending = (available, value, attrs)
            written = self._written
            if written is not None and written == (available, value) and not attrs_changed:
                return
            interval = self.coordinator.write_interval
            elapsed = time.monotonic() - self._last_write
            if (
                written is None
                or written[0] != available
                or interval <= 0
                or elapsed >= interval
                or attrs_changed
                or (self._discrete and written[1] != value)
            ):
                self._write(available, value, attrs)
            elif self._timer is None:
                self._timer = self.hass.loop.call_later(interval - elapsed, self._deferred_write)
        except Exception:  # never into Home Assistant's listener loop
            self._internal_error()

    @callback
    def _deferred_write(self) -> None:
        """The write the rate limit held back: the latest update's value, if it still differs."""
        self._timer = None
        try:
            pending = self._pending
            if pending is not None and self._written != pending[:2]:
                self._write(*pending)  # a value that flipped back costs no write
        except Exception:  # never into the event loop's exception handler
            self._internal_error()

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The attributes of the last write (rows with an `attributes_fn` only)."""
        return self._attrs

    @callback
    def _set(self, available: bool, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """Make `value` and `attrs` what the next state write shows."""
        self._value = value
        self._attrs = attrs
        self._written = (available, value)
        self._pending = (available, value, attrs)
        self._last_write = time.monotonic()
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
