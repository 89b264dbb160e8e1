"""The shared entity layer: one push coordinator per device, freshness, recorder-friendly writes.

Every source (VE.Direct, Venus GX, JBD, bank) hands each of its devices a `DeviceCoordinator` and
pushes the device's latest decoded values into it. Entities are rows of description tables
(`descriptions/`), never classes per field, and do no I/O.

Freshness: a device whose last verified data is older than its freshness timeout (10 s for
VE.Direct) becomes unavailable; this is logged once when lost and once when back.

Recorder-friendly writes: an entity writes its state at most once per update interval (default
5 s; 0 = every change), always the latest value, and at once when availability or a discrete value
(an enum state, error, alarm or a binary sensor) changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
import logging
import time
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntityDescription
from homeassistant.components.sensor import SensorEntityDescription
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DEFAULT_UPDATE_INTERVAL, FRESHNESS_TIMEOUT

_LOGGER = logging.getLogger(__package__)

type DeviceData = Mapping[str, Any]


class DeviceCoordinator(DataUpdateCoordinator[DeviceData]):
    """Latest values of one device, pushed by its source; no polling.

    `data` maps a value key (a protocol label such as "V" or "SOC", or a D-Bus path) to its
    decoded value in SI units. `last_update_success` is the device's freshness: False once no
    verified data arrived for `freshness_timeout` seconds, True again with the next push.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        identifier: str,
        device_info: DeviceInfo,
        update_interval: float,
        freshness_timeout: float = FRESHNESS_TIMEOUT,
    ) -> None:
        """Create the coordinator of the device with the stable `identifier` (its serial)."""
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=str(device_info.get("name") or identifier)
        )
        self.identifier = identifier
        self.device_info = device_info
        #: Seconds between two state writes of one entity (0 = every change).
        self.write_interval = float(update_interval)
        self.freshness_timeout = freshness_timeout
        self.data = {}
        self.last_update_success = False
        self.last_seen: float | None = None  # time.monotonic() of the last push
        self.updates = 0

    @callback
    def async_push(self, data: DeviceData) -> None:
        """Take the device's latest values (a verified record) and notify its entities."""
        self.data = data
        self.updates += 1
        self.last_seen = time.monotonic()
        if not self.last_update_success:
            self.last_update_success = True
            if self.updates > 1:
                self.logger.info("%s: data is back, entities available again", self.name)
        self.async_update_listeners()

    @callback
    def async_check_fresh(self, now: float | None = None) -> None:
        """Mark the device unavailable when its data is older than the freshness timeout."""
        if not self.last_update_success:
            return
        now = time.monotonic() if now is None else now
        if self.last_seen is None or now - self.last_seen > self.freshness_timeout:
            self.last_update_success = False
            self.logger.info(
                "%s: no verified data for %.0f s, entities unavailable until it returns",
                self.name,
                self.freshness_timeout,
            )
            self.async_update_listeners()

    @callback
    def async_mark_unavailable(self, reason: str) -> None:
        """Make every entity of the device unavailable at once (connection lost, service gone)."""
        if self.last_update_success:
            self.last_update_success = False
            self.logger.info("%s: %s, entities unavailable", self.name, reason)
            self.async_update_listeners()


@callback
def async_track_freshness(
    hass: HomeAssistant, coordinators: Callable[[], list[DeviceCoordinator]]
) -> CALLBACK_TYPE:
    """Check every second that each coordinator is fresh; returns the unsubscribe callback."""
    from datetime import timedelta

    @callback
    def _check(_now: Any) -> None:
        now = time.monotonic()
        for coordinator in coordinators():
            coordinator.async_check_fresh(now)

    return async_track_time_interval(hass, _check, timedelta(seconds=1), cancel_on_shutdown=True)


def update_interval_of(entry: ConfigEntry) -> float:
    """The entry's update interval option in seconds (default 5; 0 = every change)."""
    return float(entry.options.get("update_interval", DEFAULT_UPDATE_INTERVAL))


@dataclass(frozen=True, kw_only=True)
class VictronEntityDescription(EntityDescription):
    """What every row of a description table has beyond Home Assistant's own description.

    `value_fn` turns the device's data into the state (default: `data.get(key)`);
    `exists_fn` decides from the first data that holds it whether the device has this entity
    (default: the key is present); `discrete` entities write at once on change;
    `attributes_fn` gives the state attributes (small JSON-safe values; a change writes at once).
    """

    value_fn: Callable[[DeviceData], Any] | None = None
    exists_fn: Callable[[DeviceData], bool] | None = None
    discrete: bool = False
    attributes_fn: Callable[[DeviceData], Mapping[str, Any] | None] | None = None


@dataclass(frozen=True, kw_only=True)
class VictronSensorEntityDescription(VictronEntityDescription, SensorEntityDescription):
    """A sensor row of a description table."""


@dataclass(frozen=True, kw_only=True)
class VictronBinarySensorEntityDescription(VictronEntityDescription, BinarySensorEntityDescription):
    """A binary sensor row of a description table."""


@dataclass(frozen=True, kw_only=True)
class VictronTrackerEntityDescription(VictronEntityDescription):
    """A device_tracker row: `value_fn` gives (latitude °, longitude °, accuracy m) or None."""


@dataclass(frozen=True, kw_only=True)
class VictronImageEntityDescription(VictronEntityDescription):
    """An image row: `value_fn` gives a version (a new value = a new image), `image_fn` the
    image bytes (None = no image) of type `content_type`."""

    image_fn: Callable[[DeviceData], bytes | None]
    content_type: str = "image/svg+xml"


class VictronEntity(CoordinatorEntity[DeviceCoordinator]):
    """Base entity: device info, freshness as availability, rate-limited state writes."""

    _attr_has_entity_name = True
    entity_description: VictronEntityDescription

    def __init__(
        self, coordinator: DeviceCoordinator, description: VictronEntityDescription
    ) -> None:
        """Create the entity for one row of a description table."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{coordinator.identifier}_{description.key}"
        self._attr_device_info = coordinator.device_info
        self._value_fn = description.value_fn or _getter(description.key)
        self._discrete = description.discrete
        self._value: Any = self._value_fn(coordinator.data)
        self._attrs_fn = description.attributes_fn
        self._attrs: Mapping[str, Any] | None = (
            None if self._attrs_fn is None else self._attrs_fn(coordinator.data)
        )
        self._written: tuple[bool, Any] | None = None
        self._last_write = 0.0
        self._timer: Any = None

    @property
    def current_value(self) -> Any:
        """The value this entity last wrote (the state machine's view)."""
        return self._value

    async def async_added_to_hass(self) -> None:
        """Remember the first write so the rate limit starts from it."""
        await super().async_added_to_hass()
        self._written = (self.available, self._value)
        self._last_write = time.monotonic()
        self.async_on_remove(self._cancel_timer)

    @callback
    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write at once on availability or discrete changes, else at most once per interval."""
        value = self._value_fn(self.coordinator.data)
        available = self.coordinator.last_update_success
        written = self._written
        attrs_changed = (
            self._attrs_fn is not None and self._attrs_fn(self.coordinator.data) != self._attrs
        )
        if (
            written is not None
            and written[0] == available
            and written[1] == value
            and not attrs_changed
        ):
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
            self._write(value, available)
        elif self._timer is None:
            self._timer = self.hass.loop.call_later(interval - elapsed, self._deferred_write)

    @callback
    def _deferred_write(self) -> None:
        self._timer = None
        value = self._value_fn(self.coordinator.data)
        available = self.coordinator.last_update_success
        if self._written != (available, value):  # a value that flipped back costs no write
            self._write(value, available)

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The attributes of the last write (rows with an `attributes_fn` only)."""
        return self._attrs

    @callback
    def _write(self, value: Any, available: bool) -> None:
        self._cancel_timer()
        if self._attrs_fn is not None:
            self._attrs = self._attrs_fn(self.coordinator.data)
        self._value = value
        self._written = (available, value)
        self._last_write = time.monotonic()
        self.async_write_ha_state()


def _getter(key: str) -> Callable[[DeviceData], Any]:
    def get(data: DeviceData) -> Any:
        return data.get(key)

    return get


def exists(description: VictronEntityDescription, data: DeviceData) -> bool:
    """Whether the device whose data this is has the entity of `description`."""
    if description.exists_fn is not None:
        return description.exists_fn(data)
    return description.key in data


def async_setup_platform(
    hass: HomeAssistant,
    entry: ConfigEntry,
    platform: Any,
    entity_factory: Callable[[DeviceCoordinator, Any], VictronEntity],
    async_add_entities: Callable[[list[VictronEntity]], None],
) -> None:
    """Add the entities of every device of `entry` on `platform`, now and as they appear.

    A device's entities are added when their value first shows up in its data (a VE.Direct
    history block arrives after the main block; a GX service publishes paths one by one), and a
    device's entities are added when the source announces the device (dynamic devices).
    """
    from homeassistant.helpers.dispatcher import async_dispatcher_connect

    from .sources.base import signal_new_device

    source = entry.runtime_data

    @callback
    def _watch(coordinator: DeviceCoordinator) -> None:
        candidates = list(source.descriptions(coordinator, platform))
        seen_keys = -1

        @callback
        def _check() -> None:
            nonlocal seen_keys
            if len(coordinator.data) == seen_keys or not candidates:
                return
            seen_keys = len(coordinator.data)
            new = [d for d in candidates if exists(d, coordinator.data)]
            if new:
                for description in new:
                    candidates.remove(description)
                async_add_entities([entity_factory(coordinator, d) for d in new])

        _check()
        entry.async_on_unload(coordinator.async_add_listener(_check))

    for coordinator in list(source.devices.values()):
        _watch(coordinator)
    entry.async_on_unload(async_dispatcher_connect(hass, signal_new_device(entry.entry_id), _watch))
