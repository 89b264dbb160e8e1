"""Venus GX source: every D-Bus service of a GX as Home Assistant devices, over its MQTT broker.

MQTT message (``transport.mqtt``) -> ``protocol.venus.VenusSession.receive`` -> once per burst of
messages (``loop.call_soon``), a push into each changed service's ``DeviceCoordinator`` ->
entities. The session (pure, sans-I/O) owns the GX protocol (protocols.md §3). This module is
the Home Assistant wiring: the MQTT client, a 1 s timer calling ``session.tick``, a coordinator
and a device per service of an included type (identifier ``<portal id>_<type>_<instance>``, via
the GX device, identifier = portal id, which has the ``system`` service's entities; the device
registry side is ``sources.venus_devices``), writes (``sources.venus_control``), repair issues
for the caps (``MAX_DEVICES``, ``MAX_STORED_BYTES``) and the logs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_time_interval

from ..const import DOMAIN
from ..control import VictronControlEntityDescription, VictronNumberEntityDescription
from ..coordinator import DeviceCoordinator
from ..descriptions import venus as rows
from ..descriptions.venus import SERVICE_TYPES
from ..descriptions.venus_controls import CONTROL_SERVICE_TYPES
from ..entity import VictronEntityDescription
from ..protocol import venus as protocol, venus_services as gx
from ..protocol.venus_probe import GxProbe, NotAGx, ProbeResult
from ..transport.mqtt import (
    MqttAuthError,
    MqttClient,
    MqttError,
    MqttSettings,
    async_run_probe,
    settings_from,
)
from .venus_control import CONF_CONTROL, CONTROL_PLATFORMS, VenusControl
from .venus_devices import DATA_FIRMWARE, DATA_MODEL, VenusDevices

_LOGGER = logging.getLogger(__name__)

# entry.data keys besides the connection's (transport.mqtt.settings_from)
CONF_PORTAL_ID: Final = "portal_id"
CONF_SERVICE_TYPES: Final = "service_types"  # an option

PROBE_TIMEOUT = 10.0
"""Seconds the config flow waits for the GX's serial after connecting (module attribute)."""
PROBE_DETAILS_TIMEOUT = 2.0
"""Seconds the config flow waits for the GX's model and firmware (optional)."""
TICK = timedelta(seconds=1)
# The session's timing and caps, read from here when a source starts (tests shorten them).
KEEPALIVE_INTERVAL = protocol.KEEPALIVE_INTERVAL
FULL_PUBLISH_RETRY = protocol.FULL_PUBLISH_RETRY
GX_TIMEOUT = protocol.GX_TIMEOUT
SETTLE = protocol.SETTLE
WRITE_TIMEOUT = protocol.WRITE_TIMEOUT
MAX_DEVICES = gx.MAX_DEVICES
MAX_STORED_BYTES = gx.MAX_STORED_BYTES
PATH_BYTES = gx.PATH_BYTES

_TABLES: Final[dict[Platform, Mapping[str, Sequence[VictronEntityDescription]]]] = {
    Platform.SENSOR: rows.SENSORS,
    Platform.BINARY_SENSOR: rows.BINARY_SENSORS,
    Platform.DEVICE_TRACKER: rows.TRACKERS,
}


async def async_probe(
    settings: MqttSettings, portal_id: str | None = None, timeout: float | None = None
) -> ProbeResult:
    """Find the GX (`portal_id`: only that one) on the broker within `timeout` s (default 10),
    and its model and firmware (``protocol.venus_probe.GxProbe``). Raises NotAGx, or the
    transport's MqttConnectError / MqttTlsError / MqttAuthError / MqttProtocolError."""
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    probe = GxProbe(portal_id, timeout, PROBE_DETAILS_TIMEOUT)
    await async_run_probe(settings, probe)
    return probe.result()


class VenusSource(VenusDevices):
    """One GX: its MQTT connection, its session, one coordinator per device service."""

    platforms: tuple[Platform, ...] = (
        Platform.SENSOR,
        Platform.BINARY_SENSOR,
        Platform.DEVICE_TRACKER,
    )

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Prepare the source of `entry`; nothing connects before `async_start`."""
        super().__init__(hass, entry)
        assert entry.unique_id is not None
        self.portal_id: str = entry.unique_id
        self.included = gx.included(entry.options.get(CONF_SERVICE_TYPES), SERVICE_TYPES)
        #: writes (control.ControlSource); with the Control option on, switch and EV charger
        #: services become devices too and the control platforms are set up
        self.control = VenusControl(self)
        if self.control.enabled:
            self.included |= CONTROL_SERVICE_TYPES
            self.platforms = (*self.platforms, *CONTROL_PLATFORMS)
        filters = [protocol.notification_filter(self.portal_id)]
        self.client = MqttClient(
            settings_from(entry.data), filters, self._on_message, self._on_connection, entry.title
        )
        self.session: protocol.VenusSession[DeviceCoordinator] = protocol.VenusSession(
            self.portal_id,
            included=self.included,
            token_prefix=self.client.client_id,
            identity_paths=rows.IDENTITY_PATHS,
            keepalive_interval=KEEPALIVE_INTERVAL,
            full_publish_retry=FULL_PUBLISH_RETRY,
            gx_timeout=GX_TIMEOUT,
            settle=SETTLE,
            write_timeout=WRITE_TIMEOUT,
            max_devices=MAX_DEVICES,
            max_stored_bytes=MAX_STORED_BYTES,
        )
        self.stats = self.session.stats
        self._services = self.session.services  # (type, instance) -> service
        self._receive = self.session.receive
        self._loop = hass.loop
        self._types: dict[str, str] = {}  # device identifier -> service type
        self._flush_handle: asyncio.Handle | None = None
        self._announce_handle: asyncio.Handle | None = None
        self._unsub_tick: CALLBACK_TYPE | None = None
        self._gx_device_id: str | None = None
        self.devices_removed = self.push_errors = 0

    # the session's counters, read here by tests and benchmarks
    heartbeats = property(lambda self: self.session.heartbeats)
    full_publishes_completed = property(lambda self: self.session.full_publishes_completed)
    stored_bytes = property(lambda self: self.session.store.stored_bytes)
    topics_dropped = property(lambda self: self.session.store.topics_dropped)

    def measure_stored_bytes(self) -> int:
        """``stored_bytes`` counted afresh (a check of the running count: always equal)."""
        return self.session.store.measure_stored_bytes()

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform
    ) -> Sequence[VictronEntityDescription]:
        """The rows of the coordinator's service type on `platform` (control rows: see
        `VenusControl.descriptions`)."""
        service_type = self._types.get(coordinator.identifier)
        if platform in CONTROL_PLATFORMS:
            return self.control.descriptions(coordinator, platform, service_type)
        return _TABLES.get(platform, {}).get(service_type or "", ())

    async def async_write(
        self,
        coordinator: DeviceCoordinator,
        row: VictronControlEntityDescription,
        value: Any,
        **log: Any,
    ) -> None:
        """Write `value` for `row` of `coordinator`'s device, confirmed by the GX; `log`: its
        entity_id, old and new (`VenusControl.async_write`; control.ControlSource)."""
        await self.control.async_write(coordinator, row, value, **log)

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """(min, max) the GX published with the row's value (control.ControlSource)."""
        return self.control.control_limits(coordinator, row)

    async def async_start(self) -> None:
        """Register the GX device, connect (ConfigEntryAuthFailed on bad credentials,
        ConfigEntryNotReady when unreachable), then keep the connection up."""
        entry = self.entry
        self._register_gx_device()
        for limit in (gx.LIMIT_DEVICES, gx.LIMIT_DATA):  # a reload starts afresh
            ir.async_delete_issue(self.hass, DOMAIN, f"{limit}_{entry.entry_id}")
        self._remove_registry_devices(keep_excluded=False)
        try:
            await self.client.async_connect()
        except MqttAuthError as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN,
                translation_key="venus_auth_failed",
                translation_placeholders={"name": entry.title, "error": str(err)},
            ) from err
        except MqttError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="venus_not_ready",
                translation_placeholders={"name": entry.title, "error": str(err)},
            ) from err
        self.client.async_start(
            lambda coro: entry.async_create_background_task(
                self.hass, coro, f"{DOMAIN} Venus GX {entry.entry_id}"
            )
        )
        self._unsub_tick = async_track_time_interval(
            self.hass, self._tick, TICK, cancel_on_shutdown=True
        )

    async def async_stop(self) -> None:
        """Disconnect and stop every timer; writes still waiting fail (not connected)."""
        await super().async_stop()
        self.control.connection_lost()
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None
        for handle in filter(None, (self._flush_handle, self._announce_handle)):
            handle.cancel()
        self._flush_handle = self._announce_handle = None
        await self.client.async_stop()

    # --- the session's input and output -------------------------------------------------------

    @callback
    def _on_message(self, topic: str, payload: bytes) -> None:
        """One MQTT message (the per-message path); never raises (bad input is counted)."""
        if events := self._receive(topic, payload, self.client.received_at):
            self._handle(events)

    @callback
    def _on_connection(self, connected: bool, error: MqttError | None) -> None:
        if connected:
            self._publish(self.session.connected(self._loop.time()))
            return
        self._handle(self.session.connection_lost(f"connection to the GX lost ({error})"))
        if isinstance(error, MqttAuthError):
            self.entry.async_start_reauth(self.hass)

    @callback
    def _tick(self, _now: Any = None) -> None:
        """Once a second: keep-alive, retries, GX liveness, devices of settled services."""
        if self.client.connected:
            messages = self.session.tick(self._loop.time())
            self._handle(self.session.events())
            self._publish(messages)

    def _publish(self, messages: list[protocol.Outgoing]) -> None:
        for topic, payload in messages:
            self.client.publish(topic, payload)

    @callback
    def _handle(self, events: Sequence[protocol.Event[DeviceCoordinator]]) -> None:
        """Carry out what the session reports, then publish what it wants sent."""
        title = self.entry.title
        for event in events:
            match event:
                case protocol.DataChanged():
                    if self._flush_handle is None:
                        self._flush_handle = self._loop.call_soon(self._flush)
                case protocol.ServiceSettled(service):
                    self._announce(service)
                case protocol.ServiceRemoved(service, reason):
                    self._remove_device(service, reason)
                case protocol.FullPublishCompleted() if self._announce_handle is None:
                    self._announce_next()
                case protocol.WriteConfirmed() | protocol.WriteTimedOut():
                    self.control.written(event)
                case protocol.GxLost(reason, first):
                    self.control.connection_lost()
                    if first:
                        _LOGGER.warning("%s: %s; its entities are unavailable", title, reason)
                    for coordinator in list(self.devices.values()):
                        coordinator.async_mark_unavailable()  # logged once above, for the GX
                case protocol.GxBack():
                    _LOGGER.info("%s: data from the GX is back", title)
                case protocol.GxRestarted():
                    _LOGGER.debug("%s: the GX announced a restart of its MQTT plugin", title)
                case protocol.LimitReached(limit):
                    self._limit_reached(limit)
                case protocol.LimitCleared(limit):
                    ir.async_delete_issue(self.hass, DOMAIN, f"{limit}_{self.entry.entry_id}")
                    _LOGGER.info("%s: the GX's data fits again (%s)", title, limit)
        self._publish(self.session.data_to_send())

    @callback
    def flush_now(self) -> None:
        """Push what changed now instead of at the next loop turn."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush()

    @callback
    def _flush(self) -> None:
        """Push every service that changed since the last flush (once per burst of messages)."""
        self._flush_handle = None
        changed = self.session.take_changed()
        for service in changed:
            coordinator = service.coordinator
            if coordinator is None or service.removed:
                continue
            try:
                if service.identity_changed:
                    self._update_identity(service, coordinator)
                coordinator.async_push(service.data, service.take_received())
            except Exception:  # an entity's error must not stop the other devices
                self.push_errors += 1
                if self.push_errors == 1:
                    _LOGGER.exception("Error updating %s", coordinator.name)
        if self.control.enabled:
            self.control.services_changed(changed)

    @callback
    def _limit_reached(self, limit: str) -> None:
        """A cap was reached (reported once by the session): log it, raise its repair issue."""
        amount, what = gx.limit_warning(limit, MAX_DEVICES, MAX_STORED_BYTES)
        title = self.entry.title
        _LOGGER.warning(
            "%s: %s. Is another MQTT client publishing N/ topics on the GX's broker?", title, what
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{limit}_{self.entry.entry_id}",
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=f"venus_{limit}",
            translation_placeholders={"name": title, "limit": amount},
        )

    # --- diagnostics ------------------------------------------------------------------------------

    def diagnostics(self) -> dict[str, Any]:
        """Connection, parser and session counters, devices, and the latest value of every topic
        (serials, positions and the portal id redacted)."""
        found = self.session.diagnostics(self._loop.time(), rows.KNOWN_PATHS, rows.IDENTITY_PATHS)
        found["gx"].update(devices_removed=self.devices_removed, push_errors=self.push_errors)
        devices = {
            identifier: {
                "service": self._types.get(identifier),
                "available": coordinator.last_update_success,
                "updates": coordinator.updates,
                "paths": len(coordinator.data),
            }
            for identifier, coordinator in self.devices.items()
        }
        return {
            "connection": self.client.diagnostics(),
            **found,
            "devices": devices,
            "control": self.control.diagnostics(),
        }


__all__ = [
    "CONF_CONTROL",
    "DATA_FIRMWARE",
    "DATA_MODEL",
    "NotAGx",
    "ProbeResult",
    "VenusSource",
    "async_probe",
    "settings_from",
]
