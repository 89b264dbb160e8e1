"""VE.Direct source: one serial port, one Victron device (BMV/SmartShunt, MPPT, Phoenix, Orion...).

bytes (serialx) → `VEDirectParser.feed` (verified, merged records) → identity check → the device's
coordinator.

Identity (issue 8 §2): USB serial ports renumber (ttyUSB0 ↔ ttyUSB1 after a reboot or a cable
swap), so the device on the configured port may be another one. Every record is checked against
the entry's device (`DeviceIdentity`: its SER#, its PID, and for BMVs, which send no SER#, the USB
serial of the VE.Direct cable). Records of another device are refused and counted, the entities
go unavailable, a repair issue ("another device is on this port") tells the user how to fix it,
and a warning is logged once; when the entry's device is back, the issue is deleted and the
entities come back with its next record.

HEX (issue 11): the HEX lines the parser cuts out of the stream go to `VEDirectHex`
(sources/vedirect_hex.py), whose values (``hex_<register>``) are merged into every push. With the
entry's Control option on (off by default) it also reads identity, control registers and MPPT
history over HEX and carries out the control rows' writes; with it off nothing is ever written to
the port.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
import contextlib
from dataclasses import dataclass
import logging
import os
from typing import Any

from homeassistant.components import usb
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import (
    CONF_SERIAL_PORT,
    DOMAIN,
    MANUFACTURER,
    VEDIRECT_BAUDRATE,
    VEDIRECT_PROBE_TIMEOUT,
)
from ..control import VictronControlEntityDescription, VictronNumberEntityDescription
from ..coordinator import DeviceCoordinator, VictronConfigEntry, write_interval_of
from ..descriptions.vedirect import BINARY_SENSORS, SENSORS
from ..entity import VictronEntityDescription
from ..protocol.vedirect import VEDirectParser, VEDirectRecord
from ..protocol.vedirect_hex_session import device_family
from ..transport.serial import SerialConnection, SerialPortError, async_open_serial
from .base import Source
from .errors import ChecksumFailed, NoData, port_error
from .vedirect_hex import CONTROL_PLATFORMS, VEDirectHex
from .venus_control import control_enabled

_LOGGER = logging.getLogger(__name__)

#: entry.data keys written by the config flow from the probe record
DATA_PID = "pid"
DATA_MODEL = "model"
DATA_FIRMWARE = "firmware"
DATA_LABELS = "labels"

#: seconds the config flow waits for a verified record (module attribute: tests shorten it)
PROBE_TIMEOUT = VEDIRECT_PROBE_TIMEOUT


class NoVEDirectData(NoData):
    """The port is open but no VE.Direct text block arrived within the probe timeout."""


class VEDirectChecksumErrors(ChecksumFailed):
    """Blocks arrived but none verified: wrong baud rate, noise, or a damaged cable."""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the config flow learns from the first verified record of a port."""

    record: VEDirectRecord
    identifier: str

    @property
    def title(self) -> str:
        """Entry title: the model, plus the serial when the device sends one."""
        model = self.record.model or f"VE.Direct {self.record.fields.get('PID', 'device')}"
        return f"{model} {self.record.serial}" if self.record.serial else model

    def entry_data(self, path: str) -> dict[str, Any]:
        """The config entry data for this device on `path`."""
        return {
            CONF_SERIAL_PORT: path,
            DATA_PID: self.record.fields.get("PID"),
            DATA_MODEL: self.record.model,
            DATA_FIRMWARE: self.record.firmware,
            DATA_LABELS: sorted(self.record.fields),
        }


def device_identifier(record: VEDirectRecord, usb_serial: str | None, path: str) -> str:
    """Stable identifier of the device behind a record: its SER#.

    BMV-70x and BMV-712 send no SER# (protocols.md §1.3 captures); for them the identifier is the
    PID plus the USB serial number of the VE.Direct cable (its by-id name), or plus the port path
    when the port is not a USB cable.
    """
    if record.serial:
        return record.serial
    return f"{record.fields.get('PID', 'vedirect')}_{usb_serial or path}"


def _pid_number(raw: object) -> int | None:
    """A PID as sent ("0xA05F", "0xa05f") or stored as an int; None when it is not one."""
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str):
        return None
    try:
        return int(raw, 16)
    except ValueError:
        return None


#: `DeviceIdentity.check` results
OURS = "ours"
OTHER = "other"
UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """What identifies an entry's device in its records, from how the entry was created.

    The config flow sets unique_id to the device's SER#, or for devices that send none (BMV-70x,
    BMV-712) to `<PID>_<USB serial of the cable>` (or `<PID>_<port path>` for a port that is not
    a USB cable), and stores the PID in entry.data (`device_identifier`, `ProbeResult`).

    * `pid`: the PID as an int, None when the entry does not know it;
    * `serial`: the SER#, None for a PID-identified entry;
    * `cable`: the VE.Direct cable's USB serial for a PID-identified entry, else None.
    """

    pid: int | None
    serial: str | None
    cable: str | None

    @classmethod
    def of_entry(cls, unique_id: str, data: Mapping[str, Any]) -> DeviceIdentity:
        """The identity of the entry with this unique_id and data."""
        prefix, sep, suffix = unique_id.partition("_")
        pid = _pid_number(data.get(DATA_PID))
        if not sep:
            return cls(pid=pid, serial=unique_id, cable=None)
        if pid is None:
            pid = _pid_number(prefix)
        cable = suffix if suffix and not suffix.startswith("/") else None
        return cls(pid=pid, serial=None, cable=cable)

    def check(self, record: VEDirectRecord) -> str:
        """`OURS`, `OTHER` (a PID or SER# that is not the entry's), or `UNKNOWN` (a record with
        no PID: a block the device sends after its PID block, seen alone after start-up).

        A record's SER# is compared when both the record and the entry have one, its PID when
        both have one.
        """
        fields = record.fields
        raw_pid = fields.get("PID")
        if raw_pid is None:
            return UNKNOWN
        serial = fields.get("SER#")
        if serial is not None and self.serial is not None and serial != self.serial:
            return OTHER
        pid = _pid_number(raw_pid)
        if self.pid is not None and pid != self.pid:
            return OTHER
        return OURS


def describe_device(record: VEDirectRecord) -> str:
    """How a repair issue names the device behind a record: model (or PID) and SER#."""
    name = record.model or f"PID {record.fields.get('PID', '?')}"
    return f"{name} {record.serial}" if record.serial else name


async def async_cable_serial(hass: HomeAssistant, path: str) -> str | None:
    """The USB serial number of the cable at `path` (any symlink resolved), None when the port
    is not a USB device Home Assistant's usb integration lists, or the scan fails."""
    try:
        real = await hass.async_add_executor_job(os.path.realpath, path)
        for port in await usb.async_scan_serial_ports(hass):
            device = await hass.async_add_executor_job(os.path.realpath, port.device)
            if device == real:
                return port.serial_number
    except Exception as err:  # a failed scan must not stop the source
        _LOGGER.debug("USB scan for %s failed: %r", path, err)
    return None


def issue_id(entry_id: str) -> str:
    """The repair issue of an entry whose port has another device on it."""
    return f"vedirect_other_device_{entry_id}"


async def async_probe(path: str, timeout: float | None = None) -> VEDirectRecord:
    """Read `path` until a verified record with a PID arrives (default 5 s); return it.

    Raises probe errors (`sources.errors`): PortNotFound / PortPermissionDenied / PortCannotOpen
    when the port does not open, VEDirectChecksumErrors when blocks arrived but none verified,
    NoVEDirectData otherwise.
    """
    timeout = PROBE_TIMEOUT if timeout is None else timeout
    parser = VEDirectParser()
    loop = asyncio.get_running_loop()
    found: asyncio.Future[VEDirectRecord] = loop.create_future()

    def on_data(data: bytes) -> None:
        for record in parser.feed(data):
            if "PID" in record.fields and not found.done():
                found.set_result(record)

    closed: asyncio.Future[None] = loop.create_future()

    class _Probe(asyncio.Protocol):
        def data_received(self, data: bytes) -> None:
            on_data(data)

        def connection_lost(self, exc: Exception | None) -> None:
            if not closed.done():
                closed.set_result(None)

    try:
        transport, _ = await async_open_serial(path, VEDIRECT_BAUDRATE, _Probe)
    except SerialPortError as err:
        raise port_error(err) from err
    try:
        async with asyncio.timeout(timeout):
            return await found
    except TimeoutError:
        if parser.checksum_errors:
            raise VEDirectChecksumErrors(
                f"{parser.checksum_errors} blocks failed their checksum"
            ) from None
        raise NoVEDirectData(f"no verified VE.Direct record within {timeout:.0f} s") from None
    finally:
        # the port is opened exclusively: let it close before anyone opens it again
        transport.close()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                await closed


class VEDirectSource(Source):
    """One VE.Direct port and the one device on it."""

    platforms: tuple[Platform, ...] = (Platform.SENSOR, Platform.BINARY_SENSOR)

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """Prepare the source of `entry`."""
        super().__init__(hass, entry)
        self.path: str = entry.data[CONF_SERIAL_PORT]
        self.parser = VEDirectParser()
        self.last_record: VEDirectRecord | None = None
        #: every verified record; of them, refused: another device's, or without a PID
        self.records = 0
        self.foreign_records = 0
        self.unidentified_records = 0
        assert entry.unique_id is not None
        data = entry.data
        self.identity = DeviceIdentity.of_entry(entry.unique_id, data)
        #: the other device on the port (repair issue open), or None; its latest record
        self.other_device: str | None = None
        self.other_record: VEDirectRecord | None = None
        #: the cable on the port, checked at each connect for a cable-identified BMV: None
        #: until known, then whether it is the entry's cable
        self._cable_ok: bool | None = None if self.identity.cable else True
        self.cable_serial: str | None = None
        self.coordinator = DeviceCoordinator(
            hass,
            entry,
            identifier=entry.unique_id,
            device_info=DeviceInfo(
                identifiers={(DOMAIN, entry.unique_id)},
                manufacturer=MANUFACTURER,
                model=data.get(DATA_MODEL),
                model_id=data.get(DATA_PID),
                name=data.get(DATA_MODEL) or entry.title,
                serial_number=entry.unique_id if "_" not in entry.unique_id else None,
                sw_version=data.get(DATA_FIRMWARE),
            ),
            write_interval=write_interval_of(entry),
        )
        # Known labels from the probe: entities exist (unavailable) before the first record.
        self.coordinator.data = dict.fromkeys(data.get(DATA_LABELS, ()))
        self.connection = SerialConnection(
            self.path, VEDIRECT_BAUDRATE, self._on_data, self._on_connection
        )
        control = control_enabled(entry.options)
        if control:
            self.platforms = (*type(self).platforms, *CONTROL_PLATFORMS)
        self.hex = VEDirectHex(
            hass,
            title=entry.title,
            connection=self.connection,
            coordinator=self.coordinator,
            enabled=control,
            push=self._push_merged,
        )
        self.hex.total_kwh = self._total_kwh

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform
    ) -> Sequence[VictronEntityDescription]:
        """The TEXT rows, and with Control on the device family's HEX control rows."""
        rows = self.tables.get(platform, ())
        controls = self.hex.descriptions(platform)
        return [*rows, *controls] if controls else rows

    def _total_kwh(self) -> float | None:
        """The device's total yield (TEXT H19, kWh) for the history's sums, None without it."""
        record = self.last_record
        value = record.values.get("H19") if record is not None else None
        return float(value) if isinstance(value, int | float) else None

    @callback
    def _push_merged(self) -> None:
        """Push the last record's values with the HEX values (after a HEX answer)."""
        if self.last_record is not None and self.other_device is None:
            self.coordinator.async_push({**self.last_record.values, **self.hex.values})

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
        """Carry out a control row's write over HEX (`VEDirectHex.async_write`)."""
        await self.hex.async_write(coordinator, row, value, entity_id=entity_id, old=old, new=new)

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """HEX values come without limits (rows name their limit registers)."""
        return self.hex.control_limits(coordinator, row)

    async def async_start(self) -> None:
        """Open the port (ConfigEntryNotReady if it cannot be opened) and start reading."""
        try:
            await self.connection.async_connect_first()
        except SerialPortError as err:
            raise ConfigEntryNotReady(
                translation_domain=DOMAIN,
                translation_key="vedirect_not_ready",
                translation_placeholders={
                    "name": self.entry.title,
                    "port": self.path,
                    "error": str(err),
                },
            ) from err
        self.devices[self.coordinator.identifier] = self.coordinator
        self.connection.async_start(
            lambda coro: self.entry.async_create_background_task(
                self.hass, coro, f"{DOMAIN} VE.Direct {self.path}"
            )
        )
        self.async_start_freshness()

    async def async_stop(self) -> None:
        """Close the port; the repair issue goes with the entry (a reload checks anew)."""
        await super().async_stop()
        self.hex.stop()
        await self.connection.async_stop()
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))

    @callback
    def _on_data(self, data: bytes) -> None:
        """Check every record's identity; push the latest of the entry's device."""
        parser = self.parser
        records = parser.feed(data)
        hex_changed = False
        if parser.hex_lines:
            lines = list(parser.hex_lines)
            parser.hex_lines.clear()
            hex_changed = self.hex.feed(lines)
        if not records:
            if hex_changed:
                self._push_merged()
            return
        self.records += len(records)
        ours: VEDirectRecord | None = None
        other: VEDirectRecord | None = None
        for record in records:
            if self._cable_ok is False:
                verdict = OTHER
            elif self._cable_ok is None:  # the cable check of this connection is running
                verdict = UNKNOWN
            else:
                verdict = self.identity.check(record)
            if verdict == OTHER:
                self.foreign_records += 1
                other = self.other_record = record
            elif verdict == UNKNOWN or other is not None:
                # no PID, or ours after another device's record in the same chunk: it may hold
                # blocks the parser kept from the other device
                self.unidentified_records += 1
            else:
                ours = record
        if other is not None:
            # the other device's blocks must never be merged into ours
            self.parser.forget_device()
            self._other_device(describe_device(other) if self._cable_ok is not False else None)
            return
        if ours is None:
            return
        if self.other_device is not None:
            self._device_back()
        if self.last_record is None:
            self._update_device_registry(ours)
            self.hex.device_known(
                device_family(ours.fields.keys(), ours.model),
                lambda coro, name: self.entry.async_create_background_task(self.hass, coro, name),
            )
        self.last_record = ours
        hex_values = self.hex.values
        self.coordinator.async_push({**ours.values, **hex_values} if hex_values else ours.values)

    @callback
    def _other_device(self, found: str | None) -> None:
        """Another device is on the port: entities unavailable, a repair issue, logged once."""
        found = found or f"a VE.Direct cable with USB serial {self.cable_serial}"
        if self.other_device == found:
            return
        first = self.other_device is None
        self.other_device = found
        self.coordinator.async_mark_unavailable(f"another device ({found}) is on {self.path}")
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id(self.entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="vedirect_other_device",
            translation_placeholders={
                "title": self.entry.title,
                "port": self.path,
                "found": found,
            },
        )
        if first:
            _LOGGER.warning(
                "%s: another device (%s) is on %s; its data is refused until %s is back on "
                "this port. Reconfigure the entry with the right port (a /dev/serial/by-id/ "
                "path keeps its device when USB ports renumber)",
                self.entry.title,
                found,
                self.path,
                self.entry.title,
            )

    @callback
    def _device_back(self) -> None:
        """The entry's device is on its port again: delete the issue."""
        self.other_device = None
        ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))
        _LOGGER.info("%s: the device is back on %s", self.entry.title, self.path)

    @callback
    def _on_connection(self, connected: bool, error: Exception | None) -> None:
        if connected:
            # a new connection may start mid-block: never splice it onto the old bytes
            self.parser.reset()
            if self.identity.cable:
                self._cable_ok = None
                self.entry.async_create_background_task(
                    self.hass, self._async_check_cable(), f"{DOMAIN} VE.Direct cable {self.path}"
                )
        else:
            self.hex.connection_lost()
            self.coordinator.async_mark_unavailable(f"serial port {self.path} lost ({error})")

    async def _async_check_cable(self) -> None:
        """Whether the cable now on the port is the entry's (a BMV's identity is its PID and its
        cable). A port the usb integration does not list passes: nothing to compare."""
        self.cable_serial = await async_cable_serial(self.hass, self.path)
        self._cable_ok = self.cable_serial is None or self.cable_serial == self.identity.cable

    @callback
    def _update_device_registry(self, record: VEDirectRecord) -> None:
        """Refresh firmware/model in the device registry from the first live record."""
        registry = dr.async_get(self.hass)
        device = registry.async_get_device_by_identifier(
            (DOMAIN, self.coordinator.identifier), self.entry.entry_id
        )
        firmware = record.firmware
        if device is not None and firmware and device.sw_version != firmware:
            registry.async_update_device(device.id, sw_version=firmware)

    def diagnostics(self) -> dict[str, Any]:
        """Parser and port counters, and the last raw record."""
        parser = self.parser
        counters = {
            name: value
            for name in dir(parser)
            if not name.startswith("_") and isinstance(value := getattr(parser, name), int)
        }
        return {
            **super().diagnostics(),
            "port": {
                "path": self.path,
                "connected": self.connection.connected,
                "connects": self.connection.connects,
                "disconnects": self.connection.disconnects,
                "bytes_received": self.connection.bytes_received,
                "last_error": self.connection.last_error,
            },
            "parser": counters,
            "records": self.records,
            "identity": {
                "PID": f"0x{self.identity.pid:X}" if self.identity.pid is not None else None,
                "SER#": self.identity.serial,
                "cable_serial": self.identity.cable,
                "port_cable_serial": self.cable_serial,
                "foreign_records": self.foreign_records,
                "unidentified_records": self.unidentified_records,
                "other_device_on_port": self.other_device is not None,
                "last_other_record": {
                    label: self.other_record.fields.get(label) for label in ("PID", "SER#", "FW")
                }
                if self.other_record is not None
                else None,
            },
            "last_raw_record": dict(self.last_record.fields) if self.last_record else None,
            "hex": self.hex.diagnostics(),
        }
