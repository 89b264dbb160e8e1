"""The devices of a Venus GX: one Home Assistant device per service of an included type.

`VenusDevices` is the part of a `VenusSource` that keeps Home Assistant's device registry in
step with the GX session (``protocol.venus.VenusSession``): the GX device itself (identifier =
portal id), a coordinator and a device per settled service (identifier
``<portal id>_<type>_<instance>``, via the GX device), their names, models, serials and
firmware as the GX reports them (``protocol.venus_services.service_identity``), the devices of
a full publish one per loop turn, and the removal of devices the GX forgot, the options
exclude, or a full publish no longer shows. It logs under the source's logger
(``sources.venus``).
"""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections.abc import Mapping, Sequence
import logging
import math
from typing import Any, cast

from homeassistant.core import callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import DOMAIN, MANUFACTURER
from ..coordinator import DeviceCoordinator, write_interval_of
from ..descriptions import venus as rows
from ..protocol import venus as protocol, venus_services as gx
from .base import Source

_LOGGER = logging.getLogger(__name__.removesuffix("_devices"))  # the source's own logger

# entry.data keys with the GX's details (besides the connection's)
DATA_MODEL = "model"
DATA_FIRMWARE = "firmware"

type _Service = gx.Service[DeviceCoordinator]


class VenusDevices(Source):
    """The device registry side of `sources.venus.VenusSource` (its base class: the source sets
    the attributes declared here and implements `_handle`, which carries out session events)."""

    portal_id: str
    included: frozenset[str]
    session: protocol.VenusSession[DeviceCoordinator]
    _loop: asyncio.AbstractEventLoop
    _types: dict[str, str]  # device identifier -> service type
    _gx_device_id: str | None
    _announce_handle: asyncio.Handle | None
    devices_removed: int

    @abstractmethod
    def _handle(self, events: Sequence[protocol.Event[DeviceCoordinator]]) -> None:
        """Carry out the session's events (the source's)."""

    def _register_gx_device(self) -> None:
        """Create (or update) the GX device from the entry: title, model, firmware, portal id."""
        entry = self.entry
        gx_device = dr.async_get(self.hass).async_get_or_create(
            config_entry_id=entry.entry_id,
            identifiers={(DOMAIN, self.portal_id)},
            manufacturer=MANUFACTURER,
            name=entry.title,
            model=entry.data.get(DATA_MODEL),
            sw_version=entry.data.get(DATA_FIRMWARE),
            serial_number=self.portal_id,
        )
        self._gx_device_id = gx_device.id

    @callback
    def _announce_next(self) -> None:
        """Create one device of a full publish per loop turn (Home Assistant adds its entities at
        once), then remove registry devices the GX no longer has and update the GX device."""
        self._announce_handle = None
        if (service := self.session.next_device_due()) is not None:
            self._announce(service)
        self._handle(self.session.events())  # the device cap, if reached
        if self.session.devices_due:
            self._announce_handle = self._loop.call_soon(self._announce_next)
            return
        if self.session.complete_publish:
            self._remove_registry_devices(keep_excluded=True)
        self._update_registry(self.portal_id, gx.gx_details(self.session.services))

    @callback
    def _announce(self, service: _Service) -> None:
        """Create the service's coordinator and device; its entities follow its data."""
        identifier = gx.device_identifier(self.portal_id, service)
        coordinator = DeviceCoordinator(
            self.hass,
            self.entry,
            identifier=identifier,
            device_info=self._device_info(service, identifier),
            write_interval=write_interval_of(self.entry),
            freshness_timeout=math.inf,  # a constant value never goes stale; the GX does
        )
        self.session.attach(service, coordinator)
        self._types[identifier] = service.service_type
        service.take_received()  # the first push evaluates every entity: all of it is in there
        coordinator.async_push(service.data)
        self.async_add_device(coordinator)

    def _device_info(self, service: _Service, identifier: str) -> DeviceInfo:
        info = DeviceInfo(identifiers={(DOMAIN, identifier)}, manufacturer=MANUFACTURER)
        if service.service_type == "system":
            return info | DeviceInfo(name=self.entry.title, serial_number=self.portal_id)
        taken = {
            c.device_info.get("name")
            for c in self.devices.values()
            if c.identifier not in (identifier, self.portal_id)
        }
        assert self._gx_device_id is not None
        identity = gx.service_identity(service, taken, rows.SERVICE_LABELS)
        return cast(DeviceInfo, {**info, **identity, "via_device_id": self._gx_device_id})

    @callback
    def _update_identity(self, service: _Service, coordinator: DeviceCoordinator) -> None:
        """A name, model, serial or firmware changed: update the device registry."""
        service.identity_changed = False
        info = self._device_info(service, coordinator.identifier)
        if info != coordinator.device_info:
            coordinator.device_info.update(info)  # the entities share this dict
            fields = {field: info.get(field) for field in gx.IDENTITY_FIELDS}
            self._update_registry(coordinator.identifier, fields)

    def _registry_device(self, identifier: str) -> tuple[dr.DeviceRegistry, dr.DeviceEntry | None]:
        registry = dr.async_get(self.hass)
        key = (DOMAIN, identifier)
        return registry, registry.async_get_device_by_identifier(key, self.entry.entry_id)

    def _update_registry(self, identifier: str, fields: Mapping[str, Any]) -> None:
        """Set the registry device's `fields` (name, model, ...) that differ."""
        registry, device = self._registry_device(identifier)
        if device is not None:
            changed: dict[str, Any] = {k: v for k, v in fields.items() if getattr(device, k) != v}
            if changed:
                registry.async_update_device(device.id, **changed)

    @callback
    def _remove_device(self, service: _Service, reason: str) -> None:
        """The session forgot a service: remove its device (and so its entities)."""
        coordinator, service.coordinator = service.coordinator, None
        if coordinator is None:
            return
        _LOGGER.info("%s: %s; removing the device", coordinator.name, reason)
        coordinator.async_mark_unavailable()  # logged just above
        self.devices.pop(coordinator.identifier, None)
        self._types.pop(coordinator.identifier, None)
        registry, device = self._registry_device(coordinator.identifier)
        if device is not None:
            registry.async_remove_device(device.id)
        self.devices_removed += 1

    @callback
    def _remove_registry_devices(self, *, keep_excluded: bool) -> None:
        """Remove registry devices of this entry that no longer belong: at start those of
        service types the options exclude; after a full publish (keep_excluded) also those of
        services the GX did not publish (gone while Home Assistant was not running)."""
        registry = dr.async_get(self.hass)
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            identifiers = {value for domain, value in device.identifiers if domain == DOMAIN}
            devices = self.devices if keep_excluded else None
            if gx.stale_device(identifiers, self.portal_id, self.included, devices):
                registry.async_remove_device(device.id)
                self.devices_removed += 1
