"""The services of one GX as a pure store: latest values, byte accounting, caps, device identity.

Pure: no Home Assistant, no asyncio, no I/O; imports only the standard library and
:func:`.vedirect.model_for_pid`. :class:`.venus.VenusSession` keeps one :class:`ServiceStore`
and feeds it what :func:`.venus.parse_message` returns; the Home Assistant source reads it.
Facts: ``../shared/reference/protocols.md`` §3.2 (topics, removal by empty payloads), §3.8
(service types) and the real boat recording (``fixtures/venus_mqtt``).

A service is one D-Bus service instance, ``(service type, instance)``, e.g. ``("battery", 275)``.
Its ``data`` maps a D-Bus path (``"Dc/0/Voltage"``) to the latest value; paths that were only
ever null (L2/L3 on a single-phase system) wait in ``nulls`` and make no entity.

Bounds (whoever publishes on the GX's broker - a LAN client, a bridge, a fault - cannot make us
grow without limit): the stored topics are accounted in bytes (:data:`SERVICE_BYTES` per
service, :data:`PATH_BYTES` plus the path per topic, the length of payloads over
:data:`LARGE_PAYLOAD`) and capped at ``max_bytes`` (:data:`MAX_STORED_BYTES`); at most
:data:`MAX_DEVICES` devices per GX. A topic beyond the cap is dropped and counted
(``topics_dropped``); each cap is reported once (:meth:`ServiceStore.hit`) until
:meth:`ServiceStore.limits_cleared` finds the GX's own data fits again.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
import json
from typing import Any, Final, TypedDict

from .vedirect import model_for_pid

__all__ = [
    "IDENTITY_FIELDS",
    "LARGE_PAYLOAD",
    "LIMIT_DATA",
    "LIMIT_DEVICES",
    "MAX_DEVICES",
    "MAX_STORED_BYTES",
    "PATH_BYTES",
    "PLATFORM_FIRMWARE",
    "PLATFORM_MODEL",
    "REMOVAL_PATHS",
    "SERVICE_BYTES",
    "Identity",
    "Service",
    "ServiceStore",
    "at_device_cap",
    "device_identifier",
    "firmware_text",
    "gx_details",
    "included",
    "limit_warning",
    "service_identity",
    "service_order",
    "services_without_device",
    "stale_device",
]

type Key = tuple[str, int | str]
"""``(service type, instance)``: one GX service, one device."""

MAX_DEVICES: Final = 200
"""Devices per GX, the GX's own device included. The boat recording has 14; a large system (three
phases of Quattros, a dozen MPPTs, a Lynx BMS with batteries, tanks, sensors, EV charger, grid
meter, generator) stays well under 60. When reached, no more devices are created (reported as
:data:`LIMIT_DEVICES`)."""
MAX_STORED_BYTES: Final = 16 * 1024 * 1024
"""Bytes of stored topics per GX, as accounted by :data:`SERVICE_BYTES`, :data:`PATH_BYTES` and
large payloads. The boat recording accounts 0.74 MiB (25 services, 2,609 value topics): the cap
is over 20 times that. New topics beyond it are dropped and counted (reported as
:data:`LIMIT_DATA`); decoded values of large payloads may take a few times their bytes."""
SERVICE_BYTES: Final = 1024
"""Accounted per stored service: the Service object and its dicts (~0.8 KiB measured with
tracemalloc, with one path)."""
PATH_BYTES: Final = 256
"""Accounted per stored topic besides its path's length: the dict slot, the path string and a
small value (a payload up to :data:`LARGE_PAYLOAD` bytes); a numeric value measures ~100 bytes."""
LARGE_PAYLOAD: Final = 256
"""Payloads longer than this (12 of the recording's 2,611) are accounted by their length too,
the largest seen per topic; the per-message check is one comparison."""
LIMIT_DEVICES: Final = "too_many_devices"
"""The :data:`MAX_DEVICES` cap (its repair issue is ``venus_too_many_devices``)."""
LIMIT_DATA: Final = "too_much_data"
"""The stored-bytes cap (its repair issue is ``venus_too_much_data``)."""

REMOVAL_PATHS: Final = frozenset({"DeviceInstance", "ProductId", "ProductName", "Connected"})
"""An empty payload on one of these means the whole service is gone."""
PLATFORM_MODEL: Final = "Device/Model"
"""``platform/0`` path of the GX's own model (``"Cerbo GX"``)."""
PLATFORM_FIRMWARE: Final = "Firmware/Installed/Version"
"""``platform/0`` path of the GX's firmware (``"v3.70~9"``)."""
IDENTITY_FIELDS: Final = ("name", "model", "model_id", "serial_number", "sw_version", "hw_version")
"""The keys of :func:`service_identity` (Home Assistant's device registry fields)."""

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


class Service[C]:
    """One GX service instance: its latest values and what the session knows about it.

    ``coordinator`` is the owner's handle of the service's device (Home Assistant's
    DeviceCoordinator; None until the device is created); the store never looks inside it.
    """

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
        "limits",
        "nulls",
        "received",
        "removed",
        "seen",
        "service_type",
    )

    def __init__(self, service_type: str, instance: int | str, device: bool, now: float) -> None:
        """A service first seen at `now`; `device`: its type is one that becomes a device."""
        self.service_type = service_type
        self.instance = instance
        self.key: Key = (service_type, instance)
        self.device = device
        self.data: dict[str, Any] = {}  # path -> value; paths that ever had a value
        self.nulls: dict[str, None] = {}  # paths that were only ever null (never in data)
        self.large: dict[str, int] = {}  # path -> accounted bytes of its largest payload
        #: path -> (min, max) the GX published with the value (settings items: {"min", "max"})
        self.limits: dict[str, tuple[Any, Any]] = {}
        self.fresh: set[str] = set()  # paths seen since our last full-publish request
        #: paths received since the owner last took them (`take_received`)
        self.received: set[str] = set()
        self.coordinator: C | None = None
        self.dirty = False  # changed since the owner last took the changed services
        self.identity_changed = False  # a name, model, serial or firmware path changed
        self.removed = False
        self.seen = 0  # the latest full-publish epoch in which a message arrived
        self.first_seen = now

    def take_received(self) -> set[str]:
        """The paths a message arrived for since the last call (a value, the same value again,
        or null): the owner's push names them, so that only what depends on them is updated."""
        received, self.received = self.received, set()
        return received

    def __repr__(self) -> str:
        """``Service('battery', 275)``."""
        return f"Service({self.service_type!r}, {self.instance!r})"


class ServiceStore[C]:
    """Every service of one GX with its bytes accounted; see the module docstring.

    Args:
        included: service types that become devices (the others are stored, not shown).
        max_bytes: the cap of :attr:`stored_bytes`.

    Attributes: ``services`` (key -> :class:`Service`), ``stored_bytes`` (always equal to
    :meth:`measure_stored_bytes`), ``topics_dropped``, ``limits_hit`` (caps reported and not
    cleared yet).
    """

    def __init__(self, included: frozenset[str], max_bytes: int = MAX_STORED_BYTES) -> None:
        """An empty store."""
        self.included = included
        self.max_bytes = max_bytes
        self.services: dict[Key, Service[C]] = {}
        self.stored_bytes = 0
        self.topics_dropped = 0
        self.limits_hit: set[str] = set()

    def store_new(
        self,
        service: Service[C] | None,
        key: Key,
        path: str,
        value: Any,
        *,
        size: int,
        now: float,
    ) -> Service[C] | None:
        """Store a topic the service does not have in ``data`` (`service` None: a new service
        `key`, first seen at `now`); `size` is the payload's length. Returns the service, or
        None when the topic does not fit in ``max_bytes`` (dropped and counted)."""
        if service is not None and path in service.nulls:
            if value is None:
                return service  # still null: nothing new
            if size > LARGE_PAYLOAD and not self.fits_large(service, path, size):
                return None
            del service.nulls[path]  # accounted already: it moves to data
            service.data[path] = value
            return service
        cost = PATH_BYTES + len(path) + (size if size > LARGE_PAYLOAD else 0)
        if service is None:
            cost += SERVICE_BYTES
        if self.stored_bytes + cost > self.max_bytes:
            self.topics_dropped += 1
            return None
        if service is None:
            service = Service(key[0], key[1], key[0] in self.included, now)
            self.services[key] = service
        self.stored_bytes += cost
        if size > LARGE_PAYLOAD:
            service.large[path] = size
        if value is None:
            service.nulls[path] = None
        else:
            service.data[path] = value
        return service

    def fits_large(self, service: Service[C], path: str, size: int) -> bool:
        """Account a payload of `size` > LARGE_PAYLOAD bytes of a stored topic; False (dropped,
        counted) when its growth does not fit in ``max_bytes``."""
        grown = size - service.large.get(path, 0)
        if grown <= 0:
            return True
        if self.stored_bytes + grown > self.max_bytes:
            self.topics_dropped += 1
            return False
        service.large[path] = size
        self.stored_bytes += grown
        return True

    def forget_path(self, service: Service[C], path: str) -> bool:
        """Remove one topic of a service and give back its bytes; True if it had a value."""
        service.fresh.discard(path)
        service.limits.pop(path, None)
        had_value = service.data.pop(path, _MISSING) is not _MISSING
        if had_value or service.nulls.pop(path, _MISSING) is not _MISSING:
            self.stored_bytes -= PATH_BYTES + len(path) + service.large.pop(path, 0)
        return had_value

    def forget_stale_paths(self, service: Service[C]) -> bool:
        """Drop the paths of a republished service that the full publish did not have (those
        not in ``fresh``); True when a path with a value went."""
        fresh = service.fresh
        if len(fresh) >= len(service.data) + len(service.nulls):
            return False
        changed = False
        for path in [p for p in (*service.data, *service.nulls) if p not in fresh]:
            changed |= self.forget_path(service, path)
        return changed

    def remove(self, service: Service[C]) -> None:
        """Forget a service (``removed`` becomes True) and give back all its bytes."""
        service.removed = True
        if self.services.pop(service.key, None) is service:
            self.stored_bytes -= self._bytes_of(service)

    @staticmethod
    def _bytes_of(service: Service[C]) -> int:
        return (
            SERVICE_BYTES
            + sum(PATH_BYTES + len(path) for path in (*service.data, *service.nulls))
            + sum(service.large.values())
        )

    def measure_stored_bytes(self) -> int:
        """``stored_bytes`` counted afresh from the services (both must always be equal)."""
        return sum(self._bytes_of(service) for service in self.services.values())

    def hit(self, limit: str) -> bool:
        """Note that cap `limit` was reached; True the first time (until it clears)."""
        if limit in self.limits_hit:
            return False
        self.limits_hit.add(limit)
        return True

    def limits_cleared(self, max_devices: int = MAX_DEVICES) -> set[str]:
        """After a full publish with our echo: the caps the GX's own data fits again (forgotten
        from ``limits_hit``). Devices fit when the device services with data, besides the GX's
        own (``system``), are at most ``max_devices - 1``; bytes when under 90 % of the cap."""
        if not self.limits_hit:
            return set()
        wanted = sum(
            1 for s in self.services.values() if s.device and s.data and s.service_type != "system"
        )
        cleared = set()
        if LIMIT_DEVICES in self.limits_hit and wanted <= max_devices - 1:
            cleared.add(LIMIT_DEVICES)
        if LIMIT_DATA in self.limits_hit and self.stored_bytes < self.max_bytes * 0.9:
            cleared.add(LIMIT_DATA)
        self.limits_hit -= cleared
        return cleared

    # --- diagnostics ----------------------------------------------------------------------------

    def unknown_paths(self, known: Mapping[str, frozenset[str]], identity: Container[str]) -> int:
        """Distinct paths of device services that no row reads (`known`: service type -> the
        paths its rows read; `identity`: paths that name a device)."""
        count = 0
        for service in self.services.values():
            if service.device:
                rows = known.get(service.service_type, frozenset())
                count += sum(1 for p in service.data if p not in rows and p not in identity)
        return count

    def secrets(self, portal_id: str) -> dict[str, str]:
        """The portal id and every serial number the GX published, each with its own stand-in
        (they also appear inside other topics' paths and values, e.g.
        settings/0/Settings/Devices/vedirect_<serial>/ClassAndVrmInstance)."""
        found = {portal_id}
        for service in self.services.values():
            for path, value in service.data.items():
                if path.endswith(_REDACT_SUFFIXES) and isinstance(value, str) and len(value) >= 4:
                    found.add(value.lower())
        found.discard(portal_id)
        secrets = {portal_id: "**portal_id**"}
        for n, secret in enumerate(sorted(found, key=lambda s: (-len(s), s)), 1):
            secrets[secret] = f"**serial_{n}**"
        return secrets

    def topics(self, portal_id: str) -> dict[str, Any]:
        """``"<type>/<instance>/<path>" -> value`` of every stored topic, in a stable order, with
        serials, positions and the portal id redacted (in paths and values alike)."""
        secrets = self.secrets(portal_id)
        topics: dict[str, Any] = {}
        for service in sorted(self.services.values(), key=service_order):
            prefix = f"{service.service_type}/{service.instance}/"
            values = {**service.nulls, **service.data}
            for path in sorted(values):
                value = values[path]
                if path.endswith(_REDACT_SUFFIXES):
                    value = _REDACTED
                elif isinstance(value, str):
                    value = _scrub(value, secrets)
                elif isinstance(value, (list, dict)):
                    value = json.loads(_scrub(json.dumps(value), secrets))
                topics[_scrub(prefix + path, secrets)] = value
        return topics


def _scrub(text: str, secrets: dict[str, str]) -> str:
    lowered = text.lower()
    if not any(secret in lowered for secret in secrets):
        return text
    for secret, stand_in in secrets.items():
        lowered = lowered.replace(secret, stand_in)
    return lowered


def service_order(service: Service[Any]) -> tuple[str, str]:
    """A stable order of services: by type, then instance (numbers before names)."""
    instance = service.instance
    text = f"{instance:012d}" if isinstance(instance, int) else str(instance)
    return (service.service_type, text)


def device_identifier(portal_id: str, service: Service[Any]) -> str:
    """The stable identifier of a service's device: ``<portal id>_<type>_<instance>``; the
    system service is the GX itself (the portal id). The GX keeps a device's instance."""
    if service.service_type == "system":
        return portal_id
    return f"{portal_id}_{service.service_type}_{service.instance}"


def at_device_cap(service: Service[Any], devices: int, max_devices: int = MAX_DEVICES) -> bool:
    """True when `service` may not become a device: `devices` (the GX's devices besides its own)
    reached ``max_devices - 1``. The GX's own device, the system service, is always created."""
    return service.service_type != "system" and devices >= max_devices - 1


def limit_warning(limit: str, max_devices: int, max_bytes: int) -> tuple[str, str]:
    """What to say when cap `limit` is reached: (the limit as the repair issue shows it, what
    happens, for the log)."""
    if limit == LIMIT_DEVICES:
        return str(max_devices), (
            f"the GX publishes more than {max_devices} devices; no more devices are created"
        )
    amount = str(max_bytes // (1024 * 1024))
    return amount, f"the GX's topics exceed {amount} MiB; new topics are dropped"


def stale_device(
    identifiers: set[str],
    portal_id: str,
    included: frozenset[str],
    devices: Container[str] | None = None,
) -> bool:
    """Whether a registry device of the GX, known by its `identifiers`, no longer belongs.

    The GX's own device (identifier `portal_id`) always belongs. At start (`devices` None) only
    devices of service types not `included` are stale (identifiers
    ``<portal id>_<type>_<instance>``); after a full publish with our echo every device that is
    not one of `devices` (the GX did not publish its service).
    """
    if portal_id in identifiers:
        return False
    if devices is not None:
        return not any(identifier in devices for identifier in identifiers)
    prefix = f"{portal_id}_"
    return not {i.removeprefix(prefix).rsplit("_", 1)[0] for i in identifiers} & included


def included(option: Iterable[str] | None, service_types: Iterable[str]) -> frozenset[str]:
    """The service types that become devices: those of the option (None: all) that are
    `service_types` (known to the description tables)."""
    known = frozenset(service_types)
    return known if option is None else frozenset(option) & known


def firmware_text(value: Any) -> str | None:
    """A service's FirmwareVersion as text: 0x416 (1046) -> "4.16"; strings as they are."""
    if isinstance(value, str):
        return value or None
    if type(value) is int and 0 < value <= 0xFFFF:
        return f"{value >> 8:x}.{value & 0xFF:02x}"
    if type(value) is int and value > 0:
        return str(value)
    return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class Identity(TypedDict):
    """A device's registry fields (Home Assistant's DeviceInfo keys); None: not known."""

    name: str
    model: str | None
    model_id: str | None
    serial_number: str | None
    sw_version: str | None
    hw_version: str | None


def service_identity(
    service: Service[Any], taken: Container[Any], labels: Mapping[str, str]
) -> Identity:
    """A service's device registry fields (:data:`IDENTITY_FIELDS`) from its data.

    name: CustomName, else ProductName, else ``"<type> <instance>"``; a name in `taken` (the
    names of the GX's other devices) gets the type's label from `labels` appended
    (``"House battery"`` -> ``"House battery DC load"``). model: ProductId's model name
    (:func:`.vedirect.model_for_pid`), else ProductName. model_id: ProductId as ``0xA389``.
    serial_number: Serial; sw_version: FirmwareVersion (:func:`firmware_text`); hw_version:
    HardwareVersion. Fields the GX did not publish (or published empty) are None.
    """
    data = service.data
    custom, product = data.get("CustomName"), _text(data.get("ProductName"))
    pid = data.get("ProductId")
    model = (model_for_pid(pid) if type(pid) is int else None) or product
    name = custom.strip() if isinstance(custom, str) and custom.strip() else product
    name = name or f"{service.service_type} {service.instance}"
    if name in taken:
        name = f"{name} {labels.get(service.service_type, service.service_type)}"
    return {
        "name": name,
        "model": model,
        "model_id": f"0x{pid:04X}" if type(pid) is int else None,
        "serial_number": _text(data.get("Serial")),
        "sw_version": firmware_text(data.get("FirmwareVersion")),
        "hw_version": _text(data.get("HardwareVersion")),
    }


def gx_details(services: Mapping[Key, Service[Any]]) -> dict[str, str]:
    """The GX's own ``model`` and ``sw_version`` from its platform service (those it has)."""
    platform = services.get(("platform", 0))
    if platform is None:
        return {}
    found = {
        "model": _text(platform.data.get(PLATFORM_MODEL)),
        "sw_version": _text(platform.data.get(PLATFORM_FIRMWARE)),
    }
    return {field: value for field, value in found.items() if value is not None}


def services_without_device(services: Iterable[Service[Any]]) -> int:
    """Device services with data that have no device (yet, or beyond the cap)."""
    return sum(1 for s in services if s.device and s.coordinator is None and s.data)
