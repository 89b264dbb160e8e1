"""Control of a Venus GX: writes through `VenusSession.write`, confirmed by the GX's N/ echo.

`VenusControl` is the part of a `VenusSource` that carries out writes (`control.ControlSource`):

* which control rows a device has (`descriptions`): its service type's rows
  (descriptions/venus_controls.py `DEVICE_CONTROLS`), one per output of a switch service
  (`switch_rows`), and the GX's own controls (`GX_CONTROLS`) on a coordinator of their own
  (identifier ``<portal id>_controls``, on the GX device) whose data are the paths those rows
  read from the GX's ``system``, ``settings`` and ``generator`` services, keyed
  ``<type>/<instance>/<path>``;
* `async_write`: refuses at once what cannot be written (Control off, a value outside the
  limits the GX reports, a path the GX says is not adjustable now, a GX that is not connected),
  else builds the W/ message with the session, publishes it, logs it once at INFO (entity, path,
  old -> new) and waits for the session's verdict: `WriteConfirmed` (the GX published the value
  back) or `WriteTimedOut` (nothing within the session's write timeout, default 5 s: not
  confirmed; the GX answered another value: refused);
* the last 20 writes and their outcomes for the diagnostics (`control.WriteLog`).

With Control off nothing here publishes: `async_write` raises before the session is asked.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
import logging
from typing import Any, Final, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import DOMAIN
from ..control import (
    CONFIRMED,
    CONTROL_OFF,
    NOT_CONFIRMED,
    NOT_CONNECTED,
    OUT_OF_RANGE,
    REFUSED,
    VictronButtonEntityDescription,
    VictronControlEntityDescription,
    VictronNumberEntityDescription,
    VictronSelectEntityDescription,
    VictronSwitchEntityDescription,
    VictronTimeEntityDescription,
    WriteLog,
    accepted,
    check_range,
    error,
    number_limits,
    writable,
)
from ..coordinator import DeviceCoordinator, write_interval_of
from ..descriptions.venus_controls import (
    DEVICE_CONTROLS,
    GX_CONTROLS,
    GX_KEYS,
    GX_SERVICES,
    switch_rows,
)
from ..protocol import venus as protocol, venus_services as gx
from ..transport.mqtt import MqttClient

_LOGGER = logging.getLogger(__name__)

CONF_CONTROL: Final = "control"
"""The entry option that turns control on (off by default)."""

CONTROL_PLATFORMS: Final = (
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SWITCH,
    Platform.BUTTON,
    Platform.TIME,
)
_ROW_TYPES: Final[dict[Platform, type[VictronControlEntityDescription]]] = {
    Platform.NUMBER: VictronNumberEntityDescription,
    Platform.SELECT: VictronSelectEntityDescription,
    Platform.SWITCH: VictronSwitchEntityDescription,
    Platform.BUTTON: VictronButtonEntityDescription,
    Platform.TIME: VictronTimeEntityDescription,
}
GX_CONTROLS_SUFFIX: Final = "controls"
"""The GX's own controls coordinator: identifier ``<portal id>_controls``."""
_GX_SERVICE_KEYS: Final = frozenset(
    (kind, int(instance)) for kind, instance in (s.split("/") for s in GX_SERVICES)
)
SAFETY_MARGIN: Final = 2.0
"""Seconds a write waits beyond the session's write timeout before it gives up by itself (the
session's tick stops while the broker connection is down)."""


class GxOwner(Protocol):
    """What `VenusControl` uses of its `VenusSource` (no import of it: no cycle)."""

    hass: HomeAssistant
    entry: ConfigEntry
    portal_id: str
    client: MqttClient
    session: protocol.VenusSession[DeviceCoordinator]

    def async_add_device(self, coordinator: DeviceCoordinator) -> None:
        """Register a device and tell the platforms about it."""
        ...

    def flush_now(self) -> None:
        """Push what changed now."""
        ...


def control_enabled(options: Any) -> bool:
    """Whether an entry's options turn Control on."""
    return bool(options.get(CONF_CONTROL, False))


class VenusControl:
    """The writes of one GX (see the module docstring); `enabled` follows the entry's option."""

    def __init__(self, source: GxOwner) -> None:
        """Control for `source` (nothing runs until a write)."""
        self.source = source
        self.enabled = control_enabled(source.entry.options)
        self.log = WriteLog()
        self.gx_coordinator: DeviceCoordinator | None = None
        self._waiting: dict[int, asyncio.Future[tuple[str, Any]]] = {}

    # --- rows ---------------------------------------------------------------------------------

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform, service_type: str | None
    ) -> Sequence[VictronControlEntityDescription]:
        """The control rows of `coordinator`'s device on `platform` (none with Control off)."""
        row_type = _ROW_TYPES.get(platform)
        if not self.enabled or row_type is None:
            return ()
        if coordinator is self.gx_coordinator:
            rows: Iterable[VictronControlEntityDescription] = GX_CONTROLS
        elif service_type == "switch":
            rows = switch_rows(coordinator.data)
        else:
            rows = DEVICE_CONTROLS.get(service_type or "", ())
        return [row for row in rows if isinstance(row, row_type)]

    # --- the GX's own controls ----------------------------------------------------------------

    @callback
    def services_changed(self, services: Iterable[gx.Service[DeviceCoordinator]]) -> None:
        """After a flush: push the GX controls' data when a GX service among `services`
        changed (and create their coordinator the first time)."""
        if not self.enabled or not any(s.key in _GX_SERVICE_KEYS for s in services):
            return
        data = self._gx_data()
        coordinator = self.gx_coordinator
        if coordinator is None:
            if not data:
                return
            portal = self.source.portal_id
            coordinator = self.gx_coordinator = DeviceCoordinator(
                self.source.hass,
                self.source.entry,
                identifier=f"{portal}_{GX_CONTROLS_SUFFIX}",
                device_info=DeviceInfo(identifiers={(DOMAIN, portal)}),
                write_interval=write_interval_of(self.source.entry),
                freshness_timeout=float("inf"),
            )
            coordinator.async_push(data)
            self.source.async_add_device(coordinator)
            return
        if data != coordinator.data or not coordinator.last_update_success:
            coordinator.async_push(data)

    def _gx_data(self) -> dict[str, Any]:
        """The values of `GX_KEYS` the GX has, keyed ``<type>/<instance>/<path>``."""
        services = self.source.session.services
        data: dict[str, Any] = {}
        for key in GX_KEYS:
            kind, instance, path = key.split("/", 2)
            service = services.get((kind, int(instance)))
            if service is not None and (value := service.data.get(path)) is not None:
                data[key] = value
        return data

    # --- where a row writes -------------------------------------------------------------------

    def _service_of(self, coordinator: DeviceCoordinator) -> gx.Service[DeviceCoordinator] | None:
        for service in self.source.session.services.values():
            if service.coordinator is coordinator:
                return service
        return None

    def path_of(self, coordinator: DeviceCoordinator, row: VictronControlEntityDescription) -> str:
        """``<type>/<instance>/<D-Bus path>`` the row writes for `coordinator`'s device."""
        path = row.path or row.key
        if coordinator is self.gx_coordinator:
            return path
        service = self._service_of(coordinator)
        if service is None:
            raise error(NOT_CONNECTED, entity=row.key, gx=self.source.entry.title)
        return f"{service.service_type}/{service.instance}/{path}"

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """(min, max) the GX published with the row's value (None, None when it did not)."""
        try:
            kind, instance, path = self.path_of(coordinator, row).split("/", 2)
        except HomeAssistantError:
            return (None, None)
        key = (kind, int(instance) if instance.isdigit() else instance)
        service = self.source.session.services.get(key)
        if service is None:
            return (None, None)
        return service.limits.get(path, (None, None))

    # --- writing ------------------------------------------------------------------------------

    async def async_write(
        self,
        coordinator: DeviceCoordinator,
        row: VictronControlEntityDescription,
        value: Any,
        *,
        entity_id: str | None = None,
        old: Any = None,
        new: Any = None,
    ) -> None:
        """Write `value` (the GX's) for `row` of `coordinator`'s device; return once the GX
        published it back. Raises (translated, see control.py): `control_off`,
        `control_out_of_range` (ServiceValidationError), `control_refused`,
        `control_not_connected`, `control_not_confirmed` - all but the last two before
        anything is published."""
        source = self.source
        who = entity_id or row.key
        shown_new = value if new is None else new
        if not self.enabled:
            self.log.add(who, row.key, old, shown_new, CONTROL_OFF)
            raise error(CONTROL_OFF, entity=who, gx=source.entry.title)
        path = self.path_of(coordinator, row)
        if isinstance(row, VictronNumberEntityDescription):
            limits = number_limits(row, coordinator.data, self.control_limits(coordinator, row))
            try:
                check_range(value, limits, who)
            except HomeAssistantError:
                self.log.add(who, path, old, shown_new, OUT_OF_RANGE)
                raise
        if not writable(row, coordinator.data):
            self.log.add(who, path, old, shown_new, REFUSED)
            raise error(
                REFUSED, entity=who, gx=source.entry.title, path=path, value=shown_new, reported=old
            )
        if not source.client.connected or source.session.lost:
            self.log.add(who, path, old, shown_new, NOT_CONNECTED)
            raise error(NOT_CONNECTED, entity=who, gx=source.entry.title)
        session = source.session
        now = source.hass.loop.time()
        topic, payload = session.write(path, value, now, accept=accepted(row, value))
        pending = next(
            w for w in reversed(session.pending_writes) if (w.topic, w.payload) == (topic, payload)
        )
        waiting = source.hass.loop.create_future()
        self._waiting[id(pending)] = waiting
        _LOGGER.info("%s: %s: %s %s -> %s", source.entry.title, who, path, old, shown_new)
        source.client.publish(topic, payload)
        try:
            async with asyncio.timeout(session.write_timeout + SAFETY_MARGIN):
                outcome, reported = await waiting
        except TimeoutError:
            outcome, reported = NOT_CONFIRMED, None
        finally:
            self._waiting.pop(id(pending), None)
        self.log.add(who, path, old, shown_new, outcome)
        if outcome == CONFIRMED:
            source.flush_now()  # the state shows the GX's report when the action returns
            return
        raise error(
            outcome,
            entity=who,
            gx=source.entry.title,
            path=path,
            value=shown_new,
            reported=reported,
            seconds=f"{session.write_timeout:g}",
        )

    @callback
    def written(self, event: protocol.WriteConfirmed | protocol.WriteTimedOut) -> None:
        """The session's verdict on a write: wake its writer."""
        waiting = self._waiting.get(id(event.write))
        if waiting is None or waiting.done():
            return
        if isinstance(event, protocol.WriteConfirmed):
            waiting.set_result((CONFIRMED, event.write.value))
        else:
            waiting.set_result((REFUSED if event.answered else NOT_CONFIRMED, event.reported))

    @callback
    def connection_lost(self) -> None:
        """The GX is lost: writes waiting for it will not be confirmed (they fail now)."""
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_result((NOT_CONNECTED, None))

    def diagnostics(self) -> dict[str, Any]:
        """Whether Control is on, the writes made and the last 20 with their outcomes."""
        return {"enabled": self.enabled, "writes": self.log.count, "last": self.log.as_list()}
