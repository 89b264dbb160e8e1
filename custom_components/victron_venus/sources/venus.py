"""Venus GX source: every D-Bus service of a GX as Home Assistant devices, over its MQTT broker.

MQTT message (``transport.mqtt``, on the event loop) -> ``protocol.venus.parse_message`` -> the
service's snapshot dict, routed by (service type, instance) -> once per batch of messages, a push
into the service's ``DeviceCoordinator`` -> entities (rate-limited writes). The per-message work
is a parse (cached topic split, one JSON scan), two dict lookups and a dict store; pushes happen
once per burst of messages (``loop.call_soon``), not per message.

GX protocol (protocols.md §3):

* on every connect: subscribe ``N/<portal id>/#`` and ask for a full publish with our own echo
  token (``R/<id>/keepalive``
  ``{"keepalive-options":[{"full-publish-completed-echo":"<token>"}]}``); then
  ``{"keepalive-options":["suppress-republish"]}`` every 30 s keeps the GX publishing changes
  without republishing everything (its keep-alive lasts 60 s).
* ``full_publish_completed`` with our token: every service the GX has was just published, so
  services first seen since are created as devices (their names are complete), and services we
  know but the GX did not publish are gone (removed with their devices: no stale devices). Values
  that arrive after it (the recording has 33) are ordinary changes.
* a value that does not change is never republished and never goes unavailable; the GX as a whole
  is "lost" when the broker connection drops or nothing at all (not even the 3 s heartbeat) came
  for ``GX_TIMEOUT`` seconds: then every entity is unavailable (logged once) until data flows
  again, when a full publish refreshes everything.
* a service whose topics get empty payloads disappeared from the GX: its device is removed from
  the device registry (and its entities with it).
* a path that was only ever null makes no entity (L2/L3 on a single-phase system); a value that
  turns null later shows "unknown".

Bounds (whoever publishes on the GX's broker - a LAN client, a bridge, a fault - cannot make us
grow without limit): payloads and topics are capped by the parser (protocol.venus); at most
``MAX_DEVICES`` devices per GX; the stored topics (values of every service, devices or not) are
accounted in bytes and capped at ``MAX_STORED_BYTES``, new topics beyond it are dropped and
counted. Each cap, when hit, is logged once and raises a repair issue that says what to do; the
next full publish removes services and paths the GX did not republish (unknown service types
included), and the issue goes away once the GX's own data fits again.

Devices: one per service instance of an included service type, identifier
``<portal id>_<service type>_<instance>`` (stable: the GX keeps a device's instance), name from
CustomName or ProductName, model from ProductId (protocol.vedirect.model_for_pid) or ProductName,
serial, firmware; all linked by via_device to the GX device (identifier = portal id), which
carries the ``system`` service's entities.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import timedelta
import json
import logging
import math
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT, CONF_USERNAME, Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.event import async_track_time_interval

from ..const import DOMAIN, MANUFACTURER
from ..descriptions.venus import (
    BINARY_SENSORS,
    IDENTITY_PATHS,
    KNOWN_PATHS,
    SENSORS,
    SERVICE_LABELS,
    SERVICE_TYPES,
    TRACKERS,
)
from ..entity import DeviceCoordinator, VictronEntityDescription, update_interval_of
from ..protocol.vedirect import model_for_pid
from ..protocol.venus import (
    SERIAL_TOPIC_FILTER,
    MessageKind,
    VenusMessage,
    VenusStats,
    keepalive_payload,
    keepalive_topic,
    notification_filter,
    parse_message,
    read_topic,
)
from ..transport.mqtt import (
    MqttAuthError,
    MqttClient,
    MqttError,
    MqttProtocol,
    MqttSettings,
    TlsMode,
)
from .base import Source

_LOGGER = logging.getLogger(__name__)

# entry.data keys (host, port, username, password are Home Assistant's CONF_*)
CONF_TLS_MODE: Final = "tls_mode"
CONF_CA_CERT: Final = "ca_cert"
CONF_FINGERPRINT: Final = "fingerprint"
CONF_PORTAL_ID: Final = "portal_id"
CONF_PROTOCOL: Final = "protocol"
DATA_MODEL: Final = "model"
DATA_FIRMWARE: Final = "firmware"
# options
CONF_SERVICE_TYPES: Final = "service_types"

DEFAULT_PORT: Final = 1883
DEFAULT_TLS_PORT: Final = 8883

PROBE_TIMEOUT = 10.0
"""Seconds the config flow waits for the GX's serial after connecting (module attribute)."""
PROBE_DETAILS_TIMEOUT = 2.0
"""Seconds the config flow waits for the GX's model and firmware (optional)."""
KEEPALIVE_INTERVAL = 30.0
"""Seconds between keep-alives (the GX's keep-alive lasts 60 s)."""
FULL_PUBLISH_RETRY = 30.0
"""Seconds after which an unanswered full-publish request is sent again."""
GX_TIMEOUT = 15.0
"""Seconds without any message (heartbeats come every 3 s) after which the GX counts as lost."""
SETTLE = 2.0
"""Seconds a new service may take to publish its name before its device is created anyway (when
no full publish completes first)."""
TICK = timedelta(seconds=1)

MAX_DEVICES = 200
"""Devices per GX, the GX's own device included. The boat recording has 14; a large system (three
phases of Quattros, a dozen MPPTs, a Lynx BMS with batteries, tanks, sensors, EV charger, grid
meter, generator) stays well under 60. When reached, no more devices are created (repair
issue ``venus_too_many_devices``)."""
MAX_STORED_BYTES = 16 * 1024 * 1024
"""Bytes of stored topics per GX, as accounted by ``SERVICE_BYTES``, ``PATH_BYTES`` and large
payloads. The boat recording accounts 0.74 MiB (26 services, 2,609 value topics): the cap is
over 20 times that. New topics beyond it are dropped and counted (repair issue
``venus_too_much_data``); decoded values of large payloads may take a few times their bytes."""
SERVICE_BYTES: Final = 1024
"""Accounted per stored service: the _Service object and its dicts (~0.8 KiB measured with
tracemalloc, with one path)."""
PATH_BYTES: Final = 256
"""Accounted per stored topic besides its path's length: the dict slot, the path string and a
small value (a payload up to ``LARGE_PAYLOAD`` bytes); a numeric value measures ~100 bytes."""
LARGE_PAYLOAD: Final = 256
"""Payloads longer than this (12 of the recording's 2,611) are accounted by their length too,
the largest seen per topic; the per-message check is one comparison."""
ISSUE_DEVICES: Final = "too_many_devices"
ISSUE_DATA: Final = "too_much_data"

REMOVAL_PATHS: Final = frozenset({"DeviceInstance", "ProductId", "ProductName", "Connected"})
"""An empty payload on one of these means the whole service is gone."""
PLATFORM_MODEL: Final = "Device/Model"
PLATFORM_FIRMWARE: Final = "Firmware/Installed/Version"
_REDACTED: Final = "**REDACTED**"
_REDACT_SUFFIXES: Final = (
    "Serial",
    "SerialNumber",
    "UniqueId",
    "N2kUniqueNumber",
    "Position/Latitude",
    "Position/Longitude",
    "Network/Services",
    "LinkLocalIpAddress",
)

_MISSING: Final = object()
_VALUE: Final = MessageKind.VALUE
_REMOVED: Final = MessageKind.REMOVED
_HEARTBEAT: Final = MessageKind.HEARTBEAT
_COMPLETED: Final = MessageKind.FULL_PUBLISH_COMPLETED
_KEEPALIVE: Final = MessageKind.KEEPALIVE


class NotAGx(Exception):
    """The broker answered but nothing arrived on ``N/+/system/0/Serial`` in time.

    ``others``: portal ids of other GX devices seen on the broker while a given id was wanted.
    """

    def __init__(self, message: str, others: Sequence[str] = ()) -> None:
        """A probe that found no (or not the wanted) GX."""
        super().__init__(message)
        self.others = tuple(others)


def settings_from(data: Mapping[str, Any]) -> MqttSettings:
    """The MQTT settings of a Venus entry's data (or of a config flow's input)."""
    return MqttSettings(
        host=str(data[CONF_HOST]).strip(),
        port=int(data.get(CONF_PORT, DEFAULT_PORT)),
        tls=TlsMode(data.get(CONF_TLS_MODE, TlsMode.OFF)),
        ca_cert=data.get(CONF_CA_CERT) or None,
        fingerprint=data.get(CONF_FINGERPRINT) or None,
        username=data.get(CONF_USERNAME) or None,
        password=data.get(CONF_PASSWORD) or None,
        protocol=MqttProtocol(data.get(CONF_PROTOCOL, MqttProtocol.V311)),
    )


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the config flow learns from a GX: its portal id, model and firmware."""

    portal_id: str
    model: str | None = None
    firmware: str | None = None

    @property
    def title(self) -> str:
        """Entry title, also the GX device's name: its model ("Cerbo GX"), else "Venus GX"."""
        return self.model or "Venus GX"


async def async_probe(
    settings: MqttSettings, portal_id: str | None = None, timeout: float | None = None
) -> ProbeResult:
    """Connect and wait (default 10 s) for the GX's retained ``N/<id>/system/0/Serial``.

    With `portal_id` given, only that GX counts, and a suppress-republish keep-alive after 1 s
    also accepts its heartbeat (for brokers that do not retain the serial). Then reads the GX's
    model and firmware (``platform/0``) for up to 2 s.
    Raises MqttConnectError / MqttTlsError / MqttAuthError / MqttProtocolError (transport) or
    NotAGx.
    """
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    loop = asyncio.get_running_loop()
    found: asyncio.Future[str] = loop.create_future()
    details: dict[str, Any] = {}
    details_done = asyncio.Event()
    others: set[str] = set()

    def on_message(topic: str, payload: bytes) -> None:
        message = parse_message(topic, payload)
        if message is None:
            return
        if portal_id is not None and message.portal_id != portal_id:
            others.add(message.portal_id)
            return
        if found.done():
            if message.service_type == "platform":
                details[message.path] = message.value
                if PLATFORM_MODEL in details and PLATFORM_FIRMWARE in details:
                    details_done.set()
            return
        if (
            message.service_type == "system" and message.path == "Serial"
        ) or message.kind is _HEARTBEAT:
            found.set_result(message.portal_id)

    platform = [f"N/+/platform/0/{PLATFORM_MODEL}", f"N/+/platform/0/{PLATFORM_FIRMWARE}"]
    subscriptions = [SERIAL_TOPIC_FILTER, *platform]
    if portal_id is not None:
        subscriptions.append(f"N/{portal_id}/heartbeat")
    client = MqttClient(settings, subscriptions, on_message)
    try:
        await client.async_connect()
        try:
            async with asyncio.timeout(timeout):
                if portal_id is not None:
                    done, _ = await asyncio.wait({found}, timeout=min(1.0, timeout / 2))
                    if not done:
                        client.publish(
                            keepalive_topic(portal_id), keepalive_payload(suppress_republish=True)
                        )
                portal = await found
        except TimeoutError:
            raise NotAGx(
                f"no GX serial on {SERIAL_TOPIC_FILTER} within {timeout:.0f} s", sorted(others)
            ) from None
        for path in (PLATFORM_MODEL, PLATFORM_FIRMWARE):
            client.publish(read_topic(portal, "platform", 0, path))
        try:
            async with asyncio.timeout(PROBE_DETAILS_TIMEOUT):
                await details_done.wait()
        except TimeoutError:
            pass
    finally:
        await client.async_stop()
    model, firmware = details.get(PLATFORM_MODEL), details.get(PLATFORM_FIRMWARE)
    return ProbeResult(
        portal,
        model if isinstance(model, str) and model else None,
        firmware if isinstance(firmware, str) and firmware else None,
    )


def firmware_text(value: Any) -> str | None:
    """A service's FirmwareVersion as text: 0x416 (1046) -> "4.16"; strings as they are."""
    if isinstance(value, str):
        return value or None
    if type(value) is int and 0 < value <= 0xFFFF:
        return f"{value >> 8:x}.{value & 0xFF:02x}"
    if type(value) is int and value > 0:
        return str(value)
    return None


class _Service:
    """One GX service instance: its latest values and, for device types, its coordinator."""

    __slots__ = (
        "coordinator",
        "data",
        "device",
        "dirty",
        "first_seen",
        "fresh",
        "identity_changed",
        "instance",
        "key",
        "large",
        "nulls",
        "removed",
        "seen",
        "service_type",
    )

    def __init__(self, service_type: str, instance: int | str, device: bool, now: float) -> None:
        self.service_type = service_type
        self.instance = instance
        self.key = (service_type, instance)
        self.device = device
        self.data: dict[str, Any] = {}  # path -> value; paths that ever had a value
        self.nulls: dict[str, None] = {}  # paths that were only ever null (never in data)
        self.large: dict[str, int] = {}  # path -> accounted bytes of its largest payload
        self.fresh: set[str] = set()  # paths seen since our last full-publish request
        self.coordinator: DeviceCoordinator | None = None
        self.dirty = False
        self.identity_changed = False
        self.removed = False
        self.seen = 0  # the full-publish epoch in which a message last arrived
        self.first_seen = now


class VenusSource(Source):
    """One GX: its MQTT connection, its services, one coordinator per device service."""

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR, Platform.DEVICE_TRACKER)

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Prepare the source of `entry`; nothing connects before `async_start`."""
        super().__init__(hass, entry)
        assert entry.unique_id is not None
        self.portal_id: str = entry.unique_id
        self.settings = settings_from(entry.data)
        included = entry.options.get(CONF_SERVICE_TYPES)
        self.included: frozenset[str] = frozenset(
            SERVICE_TYPES if included is None else included
        ) & frozenset(SERVICE_TYPES)
        self.stats = VenusStats()
        self.client = MqttClient(
            self.settings,
            [notification_filter(self.portal_id)],
            self._on_message,
            self._on_connection,
            name=entry.title,
        )
        self._loop = hass.loop
        self._services: dict[tuple[str, int | str], _Service] = {}
        self._types: dict[str, str] = {}  # device identifier -> service type
        self._dirty: list[_Service] = []
        self._flush_handle: asyncio.Handle | None = None
        self._announce_queue: list[_Service] = []
        self._announce_handle: asyncio.Handle | None = None
        self._after_announce = False
        self._unsub_tick: CALLBACK_TYPE | None = None
        self._gx_device_id: str | None = None
        self._epoch = 0
        self._echo: str | None = None
        self._echo_counter = 0
        self._full_publish_epoch = 0
        self._full_publish_sent = 0.0
        self._last_keepalive = 0.0
        self._last_message = 0.0
        self._gx_lost = False
        # counters for diagnostics
        self.keepalives_sent = 0
        self.full_publishes_requested = 0
        self.full_publishes_completed = 0
        self.heartbeats = 0
        self.devices_added = 0
        self.devices_removed = 0
        self.push_errors = 0
        self.stored_bytes = 0
        self.topics_dropped = 0
        self._limits_hit: set[str] = set()

    # --- Source -------------------------------------------------------------------------------

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform
    ) -> Sequence[VictronEntityDescription]:
        """The rows of the coordinator's service type on `platform`."""
        service_type = self._types.get(coordinator.identifier, "")
        if platform is Platform.SENSOR:
            return SENSORS.get(service_type, ())
        if platform is Platform.BINARY_SENSOR:
            return BINARY_SENSORS.get(service_type, ())
        if platform is Platform.DEVICE_TRACKER:
            return TRACKERS.get(service_type, ())
        return ()

    async def async_start(self) -> None:
        """Register the GX device, connect (ConfigEntryAuthFailed on bad credentials,
        ConfigEntryNotReady when unreachable), then keep the connection up."""
        registry = dr.async_get(self.hass)
        data = self.entry.data
        gx = registry.async_get_or_create(
            config_entry_id=self.entry.entry_id,
            identifiers={(DOMAIN, self.portal_id)},
            manufacturer=MANUFACTURER,
            name=self.entry.title,
            model=data.get(DATA_MODEL),
            sw_version=data.get(DATA_FIRMWARE),
            serial_number=self.portal_id,
        )
        self._gx_device_id = gx.id
        for issue in (ISSUE_DEVICES, ISSUE_DATA):  # a reload starts afresh
            ir.async_delete_issue(self.hass, DOMAIN, f"{issue}_{self.entry.entry_id}")
        self._remove_registry_devices(keep_excluded=False)
        try:
            await self.client.async_connect()
        except MqttAuthError as err:
            raise ConfigEntryAuthFailed(str(err)) from err
        except MqttError as err:
            raise ConfigEntryNotReady(str(err)) from err
        self.client.async_start(
            lambda coro: self.entry.async_create_background_task(
                self.hass, coro, f"{DOMAIN} Venus GX {self.entry.entry_id}"
            )
        )
        self._unsub_tick = async_track_time_interval(
            self.hass, self._tick, TICK, cancel_on_shutdown=True
        )

    async def async_stop(self) -> None:
        """Disconnect and stop every timer."""
        await super().async_stop()
        if self._unsub_tick is not None:
            self._unsub_tick()
            self._unsub_tick = None
        for handle in (self._flush_handle, self._announce_handle):
            if handle is not None:
                handle.cancel()
        self._flush_handle = self._announce_handle = None
        await self.client.async_stop()

    # --- the per-message path -----------------------------------------------------------------

    @callback
    def _on_message(self, topic: str, payload: bytes) -> None:
        """One MQTT message; never raises (bad input is counted in `stats`)."""
        message = parse_message(topic, payload, self.stats)
        if message is None:
            return
        kind = message.kind
        if kind is _VALUE:
            service = self._services.get((message.service_type, message.instance))
            path = message.path
            if service is not None and path in service.data:  # a known topic: the hot path
                if len(payload) > LARGE_PAYLOAD and not self._fits_large(
                    service, path, len(payload)
                ):
                    return
                service.data[path] = message.value
            else:
                service = self._store_new(service, message, len(payload))
                if service is None:
                    return
            if self._echo is not None:  # a full publish is on its way: note what it has
                service.fresh.add(path)
            service.seen = self._epoch
            if path in IDENTITY_PATHS:
                service.identity_changed = True
            if not service.dirty:
                service.dirty = True
                self._dirty.append(service)
                if self._flush_handle is None:
                    self._flush_handle = self._loop.call_soon(self._flush)
        elif kind is _REMOVED:
            self._on_removed(message.service_type, message.instance, message.path)
        elif kind is _HEARTBEAT:
            self.heartbeats += 1
            self._alive()
        elif kind is _COMPLETED:
            self._alive()
            self._on_full_publish_completed(message.echo)
        elif kind is _KEEPALIVE:
            # the GX's MQTT plugin (re)started: it knows nothing of our keep-alive
            _LOGGER.debug("%s: the GX announced a restart of its MQTT plugin", self.entry.title)
            self._request_full_publish()

    def _store_new(
        self, service: _Service | None, message: VenusMessage, size: int
    ) -> _Service | None:
        """Store a topic the service does not have in ``data`` (or a new service): account its
        bytes; None (dropped, counted) when it does not fit in ``MAX_STORED_BYTES``."""
        path, value = message.path, message.value
        if service is not None and path in service.nulls:
            if value is None:
                return service  # still null: nothing new
            if size > LARGE_PAYLOAD and not self._fits_large(service, path, size):
                return None
            del service.nulls[path]  # accounted already: it moves to data
            service.data[path] = value
            return service
        cost = PATH_BYTES + len(path) + (size if size > LARGE_PAYLOAD else 0)
        if service is None:
            cost += SERVICE_BYTES
        if self.stored_bytes + cost > MAX_STORED_BYTES:
            self.topics_dropped += 1
            self._limit_hit(ISSUE_DATA)
            return None
        if service is None:
            service_type, instance = message.service_type, message.instance
            device = service_type in self.included
            service = _Service(service_type, instance, device, self._loop.time())
            self._services[service.key] = service
        self.stored_bytes += cost
        if size > LARGE_PAYLOAD:
            service.large[path] = size
        if value is None:
            service.nulls[path] = None
        else:
            service.data[path] = value
        return service

    def _fits_large(self, service: _Service, path: str, size: int) -> bool:
        """Account a payload over LARGE_PAYLOAD bytes of a stored topic; False (dropped,
        counted) when its growth does not fit in MAX_STORED_BYTES."""
        grown = size - service.large.get(path, 0)
        if grown <= 0:
            return True
        if self.stored_bytes + grown > MAX_STORED_BYTES:
            self.topics_dropped += 1
            self._limit_hit(ISSUE_DATA)
            return False
        service.large[path] = size
        self.stored_bytes += grown
        return True

    def _forget_path(self, service: _Service, path: str) -> bool:
        """Remove one topic of a service and give back its bytes; True if it had a value."""
        service.fresh.discard(path)
        had_value = service.data.pop(path, _MISSING) is not _MISSING
        if had_value or service.nulls.pop(path, _MISSING) is not _MISSING:
            self.stored_bytes -= PATH_BYTES + len(path) + service.large.pop(path, 0)
        return had_value

    def measure_stored_bytes(self) -> int:
        """``stored_bytes`` counted afresh from the stored services (a check of the running
        count: both must always be equal)."""
        return sum(
            SERVICE_BYTES
            + sum(PATH_BYTES + len(path) for path in (*service.data, *service.nulls))
            + sum(service.large.values())
            for service in self._services.values()
        )

    # --- limits ---------------------------------------------------------------------------------

    @callback
    def _limit_hit(self, limit: str) -> None:
        """A cap was reached: log it once and raise its repair issue (until it clears)."""
        if limit in self._limits_hit:
            return
        self._limits_hit.add(limit)
        title = self.entry.title
        if limit == ISSUE_DEVICES:
            amount = str(MAX_DEVICES)
            _LOGGER.warning(
                "%s: the GX publishes more than %d devices; no more devices are created. Is "
                "another MQTT client publishing N/ topics on the GX's broker?",
                title,
                MAX_DEVICES,
            )
        else:
            amount = str(MAX_STORED_BYTES // (1024 * 1024))
            _LOGGER.warning(
                "%s: the GX's topics exceed %s MiB; new topics are dropped. Is another MQTT "
                "client publishing N/ topics on the GX's broker?",
                title,
                amount,
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

    @callback
    def _limits_cleared(self) -> None:
        """After a full publish: delete the issues of caps the GX's own data fits again."""
        if not self._limits_hit:
            return
        wanted = sum(
            1 for s in self._services.values() if s.device and s.data and s.service_type != "system"
        )
        cleared = set()
        if ISSUE_DEVICES in self._limits_hit and wanted <= MAX_DEVICES - 1:
            cleared.add(ISSUE_DEVICES)
        if ISSUE_DATA in self._limits_hit and self.stored_bytes < MAX_STORED_BYTES * 0.9:
            cleared.add(ISSUE_DATA)
        for limit in cleared:
            ir.async_delete_issue(self.hass, DOMAIN, f"{limit}_{self.entry.entry_id}")
            _LOGGER.info("%s: the GX's data fits again (%s)", self.entry.title, limit)
        self._limits_hit -= cleared

    def _at_device_cap(self, service: _Service) -> bool:
        """True when `service` may not become a device: MAX_DEVICES reached (the GX's own
        device, the system service, is always created and counts)."""
        if service.service_type == "system":
            return False
        others = len(self.devices) - (self.portal_id in self.devices)
        return others >= MAX_DEVICES - 1

    @callback
    def _flush(self) -> None:
        """Push every service that changed since the last flush (once per burst of messages)."""
        self._flush_handle = None
        dirty, self._dirty = self._dirty, []
        self._alive()
        for service in dirty:
            service.dirty = False
            coordinator = service.coordinator
            if coordinator is None or service.removed:
                continue
            try:
                if service.identity_changed:
                    self._update_identity(service)
                if not coordinator.last_update_success:
                    # availability comes back with the data; the source logs that once
                    coordinator.last_update_success = True
                coordinator.async_push(service.data)
            except Exception:  # an entity's error must not stop the other devices
                self.push_errors += 1
                if self.push_errors == 1:
                    _LOGGER.exception("Error updating %s", coordinator.name)

    # --- GX state -------------------------------------------------------------------------------

    @callback
    def _alive(self) -> None:
        self._last_message = self._loop.time()
        if self._gx_lost:
            self._gx_lost = False
            _LOGGER.info("%s: data from the GX is back", self.entry.title)
            if self._echo is None:
                self._request_full_publish()

    @callback
    def _on_connection(self, connected: bool, error: MqttError | None) -> None:
        if connected:
            self._last_message = self._loop.time()
            self._request_full_publish()
            return
        self._mark_all_unavailable(f"connection to the GX lost ({error})")
        if isinstance(error, MqttAuthError):
            self.entry.async_start_reauth(self.hass)

    @callback
    def _mark_all_unavailable(self, reason: str) -> None:
        """Every entity unavailable now; logged once for the GX, not per device."""
        if not self._gx_lost:
            self._gx_lost = True
            _LOGGER.warning("%s: %s; its entities are unavailable", self.entry.title, reason)
        for coordinator in list(self.devices.values()):
            if coordinator.last_update_success:
                coordinator.last_update_success = False
                coordinator.async_update_listeners()

    @callback
    def _request_full_publish(self) -> None:
        """Ask the GX to publish every topic, then full_publish_completed with a new token."""
        self._echo_counter += 1
        self._echo = f"{self.client.client_id}-{self._echo_counter}"
        for service in self._services.values():
            service.fresh.clear()
        self._epoch += 1
        self._full_publish_epoch = self._epoch
        now = self._loop.time()
        self._full_publish_sent = self._last_keepalive = now
        if self.client.publish(keepalive_topic(self.portal_id), keepalive_payload(self._echo)):
            self.full_publishes_requested += 1
            self.keepalives_sent += 1

    @callback
    def _tick(self, _now: Any = None) -> None:
        """Once a second: keep-alive, retries, devices of settled services, GX liveness."""
        if not self.client.connected:
            return
        now = self._loop.time()
        if self._echo is not None and now - self._full_publish_sent >= FULL_PUBLISH_RETRY:
            self._request_full_publish()
        elif now - self._last_keepalive >= KEEPALIVE_INTERVAL:
            if self.client.publish(
                keepalive_topic(self.portal_id), keepalive_payload(suppress_republish=True)
            ):
                self.keepalives_sent += 1
            self._last_keepalive = now
        if now - self._last_message > GX_TIMEOUT:
            if not self._gx_lost:
                self._mark_all_unavailable(f"no data from the GX for {GX_TIMEOUT:.0f} s")
                self._request_full_publish()  # a keep-alive that lapsed starts again
            return
        for service in list(self._services.values()):
            if (
                service.device
                and service.coordinator is None
                and not service.removed
                and service.data
                and now - service.first_seen >= SETTLE
            ):
                if self._at_device_cap(service):
                    self._limit_hit(ISSUE_DEVICES)
                    continue
                self._announce(service)

    @callback
    def _on_full_publish_completed(self, echo: str | None) -> None:
        """Our full publish is complete: create new devices, remove the ones the GX lacks.

        With our echo, everything the GX did not republish is gone: services (devices or not,
        unknown service types too) and the paths of the others. Venus OS before 3.50 sends no
        echo: then devices are created but nothing is removed (another client's full publish
        cannot be told from ours).
        """
        if self._echo is None or (echo is not None and echo != self._echo):
            return
        self._echo = None
        self.full_publishes_completed += 1
        for service in list(self._services.values()):
            if echo is not None:
                if service.seen < self._full_publish_epoch:
                    self._remove_service(service, "not published by the GX any more")
                else:
                    self._forget_stale_paths(service)
            service.fresh = set()
        if echo is not None:
            self._limits_cleared()
        self._announce_queue.extend(
            service
            for service in sorted(self._services.values(), key=_order)
            if service.device and service.coordinator is None and service.data
        )
        self._after_announce = echo is not None
        if self._announce_handle is None:
            self._announce_next()

    @callback
    def _forget_stale_paths(self, service: _Service) -> None:
        """Drop the paths of a republished service that the full publish did not have."""
        fresh = service.fresh
        if len(fresh) >= len(service.data) + len(service.nulls):
            return
        stale = [path for path in (*service.data, *service.nulls) if path not in fresh]
        changed = False
        for path in stale:
            changed |= self._forget_path(service, path)
        if changed and not service.dirty:
            service.dirty = True
            self._dirty.append(service)
            if self._flush_handle is None:
                self._flush_handle = self._loop.call_soon(self._flush)

    @callback
    def _announce_next(self) -> None:
        """Create one queued device per loop turn (Home Assistant adds its entities at once),
        then remove registry devices the GX no longer has and update the GX device."""
        self._announce_handle = None
        if self._announce_queue:
            service = self._announce_queue.pop(0)
            if service.coordinator is None and not service.removed:
                self._announce(service)
        if self._announce_queue:
            self._announce_handle = self._loop.call_soon(self._announce_next)
            return
        if self._after_announce:
            self._remove_registry_devices(keep_excluded=True)
        self._update_gx_device()

    # --- devices --------------------------------------------------------------------------------

    def _identifier(self, service: _Service) -> str:
        if service.service_type == "system":
            return self.portal_id
        return f"{self.portal_id}_{service.service_type}_{service.instance}"

    @callback
    def _announce(self, service: _Service) -> None:
        """Create the service's coordinator and device; its entities follow its data. Nothing
        when MAX_DEVICES is reached (logged once, with a repair issue)."""
        if self._at_device_cap(service):
            self._limit_hit(ISSUE_DEVICES)
            return
        identifier = self._identifier(service)
        coordinator = DeviceCoordinator(
            self.hass,
            self.entry,
            identifier=identifier,
            device_info=self._device_info(service, identifier),
            update_interval=update_interval_of(self.entry),
            freshness_timeout=math.inf,  # a constant value never goes stale; the GX does
        )
        service.coordinator = coordinator
        service.identity_changed = False
        self._types[identifier] = service.service_type
        coordinator.async_push(service.data)
        self.devices_added += 1
        self.async_add_device(coordinator)

    def _device_info(self, service: _Service, identifier: str) -> DeviceInfo:
        data = service.data
        if service.service_type == "system":
            return DeviceInfo(
                identifiers={(DOMAIN, identifier)},
                manufacturer=MANUFACTURER,
                name=self.entry.title,
                serial_number=self.portal_id,
            )
        custom, product = data.get("CustomName"), data.get("ProductName")
        product = product if isinstance(product, str) and product else None
        pid = data.get("ProductId")
        model = (model_for_pid(pid) if type(pid) is int else None) or product
        name = custom.strip() if isinstance(custom, str) and custom.strip() else product
        name = name or f"{service.service_type} {service.instance}"
        taken = {
            c.device_info.get("name")
            for c in self.devices.values()
            if c.identifier not in (identifier, self.portal_id)
        }
        if name in taken:
            name = f"{name} {SERVICE_LABELS.get(service.service_type, service.service_type)}"
        serial, hardware = data.get("Serial"), data.get("HardwareVersion")
        assert self._gx_device_id is not None
        return DeviceInfo(
            identifiers={(DOMAIN, identifier)},
            manufacturer=MANUFACTURER,
            name=name,
            model=model,
            model_id=f"0x{pid:04X}" if type(pid) is int else None,
            serial_number=serial if isinstance(serial, str) and serial else None,
            sw_version=firmware_text(data.get("FirmwareVersion")),
            hw_version=hardware if isinstance(hardware, str) and hardware else None,
            via_device_id=self._gx_device_id,
        )

    @callback
    def _update_identity(self, service: _Service) -> None:
        """A name, model, serial or firmware changed: update the device registry."""
        service.identity_changed = False
        coordinator = service.coordinator
        assert coordinator is not None
        info = self._device_info(service, coordinator.identifier)
        if info == coordinator.device_info:
            return
        coordinator.device_info.update(info)  # the entities share this dict
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, coordinator.identifier), self.entry.entry_id
        )
        if device is not None:
            registry.async_update_device(
                device.id,
                name=info.get("name"),
                model=info.get("model"),
                model_id=info.get("model_id"),
                serial_number=info.get("serial_number"),
                sw_version=info.get("sw_version"),
                hw_version=info.get("hw_version"),
            )

    @callback
    def _update_gx_device(self) -> None:
        """The GX's own model and firmware, from its platform service."""
        platform = self._services.get(("platform", 0))
        if platform is None or self._gx_device_id is None:
            return
        model, firmware = platform.data.get(PLATFORM_MODEL), platform.data.get(PLATFORM_FIRMWARE)
        registry = dr.async_get(self.hass)
        device = registry.async_get(self._gx_device_id)
        if not isinstance(device, dr.DeviceEntry):
            return
        updates: dict[str, Any] = {}
        if isinstance(model, str) and model and device.model != model:
            updates["model"] = model
        if isinstance(firmware, str) and firmware and device.sw_version != firmware:
            updates["sw_version"] = firmware
        if updates:
            registry.async_update_device(device.id, **updates)

    @callback
    def _on_removed(self, service_type: str, instance: int | str, path: str) -> None:
        """An empty payload: the path, and with an identity path the service, is gone."""
        service = self._services.get((service_type, instance))
        if service is None:
            return
        self._forget_path(service, path)
        if path in REMOVAL_PATHS or not service.data:
            self._remove_service(service, "removed from the GX")

    @callback
    def _remove_service(self, service: _Service, reason: str) -> None:
        """Forget a service; remove its device (and so its entities) from the registries."""
        service.removed = True
        if self._services.pop(service.key, None) is service:
            self.stored_bytes -= (
                SERVICE_BYTES
                + sum(PATH_BYTES + len(path) for path in (*service.data, *service.nulls))
                + sum(service.large.values())
            )
        coordinator = service.coordinator
        service.coordinator = None
        if coordinator is None:
            return
        _LOGGER.info("%s: %s; removing the device", coordinator.name, reason)
        coordinator.last_update_success = False
        coordinator.async_update_listeners()
        self.devices.pop(coordinator.identifier, None)
        self._types.pop(coordinator.identifier, None)
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, coordinator.identifier), self.entry.entry_id
        )
        if device is not None:
            registry.async_remove_device(device.id)
        self.devices_removed += 1

    @callback
    def _remove_registry_devices(self, *, keep_excluded: bool) -> None:
        """Remove registry devices of this entry that no longer belong.

        At start (keep_excluded False) only devices of service types the options exclude; after
        a full publish also devices of services the GX did not publish (gone while Home
        Assistant was not running).
        """
        registry = dr.async_get(self.hass)
        prefix = f"{self.portal_id}_"
        for device in dr.async_entries_for_config_entry(registry, self.entry.entry_id):
            identifiers = {value for domain, value in device.identifiers if domain == DOMAIN}
            if self.portal_id in identifiers:
                continue
            if keep_excluded:
                if not identifiers & set(self.devices):
                    registry.async_remove_device(device.id)
                    self.devices_removed += 1
                continue
            types = {i.removeprefix(prefix).rsplit("_", 1)[0] for i in identifiers}
            if not types & self.included:
                registry.async_remove_device(device.id)
                self.devices_removed += 1

    # --- diagnostics ------------------------------------------------------------------------------

    def unknown_paths(self) -> int:
        """Distinct paths of device services that no row reads (counted, ignored)."""
        count = 0
        for service in self._services.values():
            if service.device:
                known = KNOWN_PATHS.get(service.service_type, frozenset())
                count += sum(
                    1 for path in service.data if path not in known and path not in IDENTITY_PATHS
                )
        return count

    def _secrets(self) -> dict[str, str]:
        """The portal id and every serial number the GX published, each with its own stand-in
        (they also appear inside other topics' paths and values, e.g.
        settings/0/Settings/Devices/vedirect_<serial>/ClassAndVrmInstance)."""
        found = {self.portal_id}
        for service in self._services.values():
            for path, value in service.data.items():
                if path.endswith(_REDACT_SUFFIXES) and isinstance(value, str) and len(value) >= 4:
                    found.add(value.lower())
        found.discard(self.portal_id)
        secrets = {self.portal_id: "**portal_id**"}
        for n, secret in enumerate(sorted(found, key=lambda s: (-len(s), s)), 1):
            secrets[secret] = f"**serial_{n}**"
        return secrets

    @staticmethod
    def _scrub(text: str, secrets: dict[str, str]) -> str:
        lowered = text.lower()
        if not any(secret in lowered for secret in secrets):
            return text
        for secret, stand_in in secrets.items():
            lowered = lowered.replace(secret, stand_in)
        return lowered

    def diagnostics(self) -> dict[str, Any]:
        """Connection and parser counters, devices, and the latest value of every topic
        (serials, positions and the portal id redacted)."""
        client = self.client
        topics: dict[str, Any] = {}
        secrets = self._secrets()
        for service in sorted(self._services.values(), key=_order):
            prefix = f"{service.service_type}/{service.instance}/"
            values = {**service.nulls, **service.data}
            for path in sorted(values):
                value = values[path]
                if path.endswith(_REDACT_SUFFIXES):
                    value = _REDACTED
                elif isinstance(value, str):
                    value = self._scrub(value, secrets)
                elif isinstance(value, (list, dict)):
                    value = json.loads(self._scrub(json.dumps(value), secrets))
                topics[self._scrub(prefix + path, secrets)] = value
        return {
            "connection": {
                "port": self.settings.port,
                "tls": self.settings.tls.value,
                "protocol": self.settings.protocol.value,
                "connected": client.connected,
                "connects": client.connects,
                "disconnects": client.disconnects,
                "messages_received": client.messages_received,
                "messages_sent": client.messages_sent,
                "callback_errors": client.callback_errors,
                "last_error": client.last_error,
                "peer_fingerprint": client.peer_fingerprint,
            },
            "parser": {**asdict(self.stats), "errors": self.stats.errors},
            "gx": {
                "lost": self._gx_lost,
                "seconds_since_last_message": round(self._loop.time() - self._last_message, 1)
                if self._last_message
                else None,
                "heartbeats": self.heartbeats,
                "keepalives_sent": self.keepalives_sent,
                "full_publishes_requested": self.full_publishes_requested,
                "full_publishes_completed": self.full_publishes_completed,
                "services": len(self._services),
                "devices": len(self.devices),
                "devices_added": self.devices_added,
                "devices_removed": self.devices_removed,
                "unknown_paths": self.unknown_paths(),
                "push_errors": self.push_errors,
                "services_without_device": sum(
                    1
                    for s in self._services.values()
                    if s.device and s.coordinator is None and s.data
                ),
                "topics_dropped": self.topics_dropped,
                "stored_bytes": self.stored_bytes,
                "limits_hit": sorted(self._limits_hit),
                "included_service_types": sorted(self.included),
            },
            "devices": {
                identifier: {
                    "service": self._types.get(identifier),
                    "available": coordinator.last_update_success,
                    "updates": coordinator.updates,
                    "paths": len(coordinator.data),
                }
                for identifier, coordinator in self.devices.items()
            },
            "topics": topics,
        }


def _order(service: _Service) -> tuple[str, str]:
    """A stable order of services: by type, then instance (numbers before names)."""
    instance = service.instance
    text = f"{instance:012d}" if isinstance(instance, int) else str(instance)
    return (service.service_type, text)


__all__ = [
    "CONF_CA_CERT",
    "CONF_FINGERPRINT",
    "CONF_PORTAL_ID",
    "CONF_PROTOCOL",
    "CONF_SERVICE_TYPES",
    "CONF_TLS_MODE",
    "DEFAULT_PORT",
    "DEFAULT_TLS_PORT",
    "NotAGx",
    "ProbeResult",
    "VenusSource",
    "async_probe",
    "firmware_text",
    "settings_from",
]
