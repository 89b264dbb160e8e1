"""VE.Direct source: one serial port, one Victron device (BMV/SmartShunt, MPPT, Phoenix, Orion...).

bytes (serialx) → `VEDirectParser.feed` (verified, merged records) → the device's coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo

from ..const import (
    CONF_SERIAL_PORT,
    DOMAIN,
    MANUFACTURER,
    VEDIRECT_BAUDRATE,
    VEDIRECT_PROBE_TIMEOUT,
)
from ..descriptions.vedirect import BINARY_SENSORS, SENSORS
from ..entity import DeviceCoordinator, update_interval_of
from ..protocol.vedirect import VEDirectParser, VEDirectRecord
from ..transport.serial import SerialConnection, SerialPortError, async_open_serial
from .base import Source

_LOGGER = logging.getLogger(__name__)

#: entry.data keys written by the config flow from the probe record
DATA_PID = "pid"
DATA_MODEL = "model"
DATA_FIRMWARE = "firmware"
DATA_LABELS = "labels"

#: seconds the config flow waits for a verified record (module attribute: tests shorten it)
PROBE_TIMEOUT = VEDIRECT_PROBE_TIMEOUT


class NoVEDirectData(Exception):
    """The port is open but no VE.Direct text block arrived within the probe timeout."""


class VEDirectChecksumErrors(Exception):
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


async def async_probe(path: str, timeout: float | None = None) -> VEDirectRecord:
    """Read `path` until a verified record with a PID arrives (default 5 s); return it.

    Raises SerialPortNotFound / SerialPortPermissionDenied / SerialPortError (transport),
    VEDirectChecksumErrors when blocks arrived but none verified, NoVEDirectData otherwise.
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

    transport, _ = await async_open_serial(path, VEDIRECT_BAUDRATE, _Probe)
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

    platforms = (Platform.SENSOR, Platform.BINARY_SENSOR)

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Prepare the source of `entry`."""
        super().__init__(hass, entry)
        self.path: str = entry.data[CONF_SERIAL_PORT]
        self.parser = VEDirectParser()
        self.last_record: VEDirectRecord | None = None
        self.records = 0
        assert entry.unique_id is not None
        data = entry.data
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
            update_interval=update_interval_of(entry),
        )
        # Known labels from the probe: entities exist (unavailable) before the first record.
        self.coordinator.data = dict.fromkeys(data.get(DATA_LABELS, ()))
        self.connection = SerialConnection(
            self.path, VEDIRECT_BAUDRATE, self._on_data, self._on_connection
        )

    tables = {
        Platform.SENSOR: SENSORS,
        Platform.BINARY_SENSOR: BINARY_SENSORS,
    }

    async def async_start(self) -> None:
        """Open the port (ConfigEntryNotReady if it cannot be opened) and start reading."""
        try:
            await self.connection.async_connect_first()
        except SerialPortError as err:
            raise ConfigEntryNotReady(f"{self.path}: {err}") from err
        self.devices[self.coordinator.identifier] = self.coordinator
        self.connection.async_start(
            lambda coro: self.entry.async_create_background_task(
                self.hass, coro, f"{DOMAIN} VE.Direct {self.path}"
            )
        )
        self.async_start_freshness()

    async def async_stop(self) -> None:
        """Close the port."""
        await super().async_stop()
        await self.connection.async_stop()

    @callback
    def _on_data(self, data: bytes) -> None:
        records = self.parser.feed(data)
        if not records:
            return
        record = records[-1]
        self.records += len(records)
        if self.last_record is None:
            self._update_device_registry(record)
        self.last_record = record
        self.coordinator.async_push(record.values)

    @callback
    def _on_connection(self, connected: bool, error: Exception | None) -> None:
        if connected:
            # a new connection may start mid-block: never splice it onto the old bytes
            self.parser.reset()
        else:
            self.coordinator.async_mark_unavailable(f"serial port {self.path} lost ({error})")

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
            "last_raw_record": dict(self.last_record.fields) if self.last_record else None,
        }
