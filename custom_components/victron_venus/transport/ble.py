"""Bluetooth LE transport for JBD (Xiaoxiang) BMSes, through Home Assistant's bluetooth integration.

Local adapters and ESPHome Bluetooth proxies alike: the `BLEDevice` comes from
`bluetooth.async_ble_device_from_address` (the best connectable scanner that hears the battery),
the connection from bleak-retry-connector's `establish_connection` (retries, connection slots,
stale BlueZ connections). GATT layout (protocols.md §2.1, the btsnoop captures): service 0xFF00,
notifications on 0xFF01, requests written to 0xFF02 as write-without-response; some DH04 boards use
0xFFF1 / 0xFFF2 instead, detected from the discovered services (as dbus-serialbattery's
lltjbd_ble does). Each notification carries at most 20 bytes; `transport.jbd.JBDExchange`
reassembles them and keeps one request in flight.

Newer modules (e.g. the "V1.3" one in ../shared/fixtures/jbd) ignore every read until the FF AA
login (§2.3) is done again after each connect: app key 0x15, random byte 0x17, salted password
0x18. With a password configured, `async_connect` logs in; a module that does not answer the app
key within the login timeout is an older one that needs no login. asyncio I/O only, no entities.
"""

from __future__ import annotations

import logging
from typing import Any

import bleak
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError
from bleak_retry_connector import (
    BleakNotFoundError,
    BleakOutOfConnectionSlotsError,
    establish_connection,
)
from homeassistant.components import bluetooth
from homeassistant.core import HomeAssistant

from ..protocol import jbd
from .jbd import JBDExchange, LinkClosed, LinkError, NoResponse, TaskFactory

_LOGGER = logging.getLogger(__name__)

SERVICE_UUID = "0000ff00-0000-1000-8000-00805f9b34fb"
#: (notify, write) characteristic pairs, the usual one first (protocols.md §2.1)
CHARACTERISTICS = (
    ("0000ff01-0000-1000-8000-00805f9b34fb", "0000ff02-0000-1000-8000-00805f9b34fb"),
    ("0000fff1-0000-1000-8000-00805f9b34fb", "0000fff2-0000-1000-8000-00805f9b34fb"),
)
#: establish_connection attempts per connect (module attribute: tests lower it)
CONNECT_ATTEMPTS = 3
#: seconds to wait for each FF AA login reply
LOGIN_TIMEOUT = 2.0

#: What this module was imported with. Home Assistant's bluetooth integration replaces
#: bleak.BleakClient by its wrapper (which routes a connection through the right adapter or
#: proxy) when it starts; `client_class()` follows that unless `BleakClient` here was replaced
#: (tests put a fake radio there).
_IMPORTED_CLIENT = BleakClient


def client_class() -> type[BleakClient]:
    """The BleakClient class to connect with (see `_IMPORTED_CLIENT`)."""
    if BleakClient is _IMPORTED_CLIENT:
        cls: type[BleakClient] = bleak.BleakClient
        return cls
    return BleakClient


class BleDeviceNotFound(LinkError):
    """No connectable adapter or proxy has heard the battery recently (out of range, asleep)."""


class BleConnectError(LinkError):
    """Connecting failed (all attempts), or the proxy has no free connection slot."""


class BleNotJBD(LinkError):
    """Connected, but the device has neither the FF01/FF02 nor the FFF1/FFF2 characteristics."""


class BleAuthError(LinkError):
    """The module rejected the FF AA password (NACK), or the address cannot salt it."""


class JBDBleLink:
    """A JBD BMS over Bluetooth LE (see the module docstring); a `transport.jbd.JBDLink`.

    `async_connect()` connects when not connected (raises `BleDeviceNotFound`, `BleConnectError`,
    `BleNotJBD`, `BleAuthError`); `async_request(frame, timeout)` returns the verified answer
    (raises `NoResponse`, `LinkClosed` on a disconnect mid-frame, `LinkError` when not connected);
    `async_release()` disconnects unless `keep_connection` (proxies have few connection slots);
    `async_close()` disconnects for good. Counters: `connects`, `disconnects`, `logins`.
    """

    kind = "bluetooth"

    def __init__(
        self,
        hass: HomeAssistant,
        address: str,
        *,
        password: str | None = None,
        keep_connection: bool = True,
        name: str | None = None,
    ) -> None:
        """Prepare the link to the battery at `address`; nothing connects before async_connect."""
        self.hass = hass
        self.address = address
        self.password = password or None
        self.keep_connection = keep_connection
        self.name = name or address
        self.exchange = JBDExchange()
        self._client: BleakClient | None = None
        self._write_char: BleakGATTCharacteristic | None = None
        self._write_response = False
        self.connects = 0
        self.disconnects = 0
        self.logins = 0
        self.last_error: str | None = None
        self.variant: str | None = None  # "ff01/ff02" or "fff1/fff2"

    @property
    def connected(self) -> bool:
        """Whether a connection is up."""
        return self._client is not None and self._client.is_connected

    async def async_open(self, create_task: TaskFactory) -> None:
        """Setup check: raise BleDeviceNotFound when no connectable scanner hears the battery."""
        if not bluetooth.async_address_present(self.hass, self.address, connectable=True):
            raise BleDeviceNotFound(f"{self.address} is not advertising (out of range?)")

    async def async_connect(self) -> None:
        """Connect, subscribe to notifications and log in (when a password is set)."""
        if self.connected:
            return
        try:
            await self._connect()
        except LinkError as err:
            self.last_error = f"{type(err).__name__}: {err}"
            raise

    async def _connect(self) -> None:
        device = bluetooth.async_ble_device_from_address(self.hass, self.address, connectable=True)
        if device is None:
            raise BleDeviceNotFound(f"{self.address} is not advertising (out of range?)")
        try:
            client = await establish_connection(
                client_class(),
                device,
                self.name,
                disconnected_callback=self._on_disconnected,
                max_attempts=CONNECT_ATTEMPTS,
                ble_device_callback=lambda: (
                    bluetooth.async_ble_device_from_address(
                        self.hass, self.address, connectable=True
                    )
                    or device
                ),
            )
        except BleakNotFoundError as err:
            raise BleDeviceNotFound(str(err)) from err
        except (BleakOutOfConnectionSlotsError, BleakError, TimeoutError) as err:
            raise BleConnectError(str(err) or type(err).__name__) from err
        self._client = client
        self.connects += 1
        try:
            await self._subscribe(client)
            if self.password:
                await self._login()
        except BaseException:
            await self.async_close()
            raise

    async def _subscribe(self, client: BleakClient) -> None:
        services = client.services
        for notify_uuid, write_uuid in CHARACTERISTICS:
            notify = services.get_characteristic(notify_uuid)
            write = services.get_characteristic(write_uuid)
            if notify is not None and write is not None:
                break
        else:
            raise BleNotJBD(f"{self.address} has no JBD characteristics (FF01/FF02, FFF1/FFF2)")
        self.variant = f"{notify.uuid[4:8]}/{write.uuid[4:8]}"
        self._write_char = write
        self._write_response = "write-without-response" not in write.properties
        self.exchange.assembler.reset()
        await client.start_notify(notify, self._on_notify)

    def _on_notify(self, _sender: BleakGATTCharacteristic, data: bytearray) -> None:
        self.exchange.feed(data)

    async def _write(self, data: bytes) -> None:
        client, char = self._client, self._write_char
        if client is None or char is None or not client.is_connected:
            raise LinkClosed(f"{self.address} is not connected")
        try:
            await client.write_gatt_char(char, data, response=self._write_response)
        except BleakError as err:
            raise LinkClosed(f"write to {self.address} failed: {err}") from err

    async def _login(self) -> None:
        """FF AA login (§2.3): app key, random byte, salted password."""
        assert self.password is not None
        try:
            reply = jbd.parse_auth_reply(
                await self.exchange.request(self._write, jbd.app_key_frame(), LOGIN_TIMEOUT)
            )
        except NoResponse:
            _LOGGER.debug("%s: no answer to the FF AA app key: an older module", self.address)
            return
        if reply.status == 0x02:  # no password needed
            self.logins += 1
            return
        if not reply.accepted:
            raise BleAuthError(f"{self.address} rejected the app key")
        reply = jbd.parse_auth_reply(
            await self.exchange.request(self._write, jbd.random_request_frame(), LOGIN_TIMEOUT)
        )
        if reply.random is None:
            raise BleAuthError(f"{self.address} sent no random byte")
        try:
            frame = jbd.password_frame(self.password, self.address, reply.random)
        except jbd.AuthError as err:
            raise BleAuthError(str(err)) from err
        reply = jbd.parse_auth_reply(await self.exchange.request(self._write, frame, LOGIN_TIMEOUT))
        if not reply.accepted:
            raise BleAuthError(f"{self.address} rejected the password")
        self.logins += 1

    async def async_request(self, frame: bytes, timeout: float) -> bytes:
        """Write `frame` to the write characteristic, return the verified answer."""
        if not self.connected:
            raise LinkError(f"{self.address} is not connected")
        return await self.exchange.request(self._write, frame, timeout)

    async def async_release(self) -> None:
        """Disconnect between polls unless the connection is kept."""
        if not self.keep_connection:
            await self.async_close()

    async def async_close(self) -> None:
        """Disconnect now."""
        client, self._client = self._client, None
        self._write_char = None
        self.exchange.close("disconnected")
        if client is not None:
            try:
                await client.disconnect()
            except BleakError as err:
                _LOGGER.debug("%s: disconnect failed: %s", self.address, err)

    def _on_disconnected(self, client: BleakClient) -> None:
        self.disconnects += 1
        if client is self._client:
            self._client = None
            self.exchange.close(f"{self.address} disconnected")

    def diagnostics(self) -> dict[str, Any]:
        """Connection and exchange counters (the password never appears)."""
        return {
            "transport": self.kind,
            "connected": self.connected,
            "keep_connection": self.keep_connection,
            "login": self.password is not None,
            "characteristics": self.variant,
            "connects": self.connects,
            "disconnects": self.disconnects,
            "logins": self.logins,
            "last_error": self.last_error,
            **self.exchange.counters(),
        }
