"""Fake BMSes of aiobmsble's families over a fake radio, answering with the library's own frames.

Nothing here decodes: answers are the bytes of tests/fakes/aiobmsble_frames.py.

* `FamilyBms` is one battery's behaviour: a request (the exact bytes the family's BMS class
  writes) gets the notifications recorded for it. Fault switches: `silent` (stops answering),
  `disconnect_after` (drop the link after that many notifications of the next answer: a
  disconnect in the middle of a poll), `login` (the BMS ignores every request on a connection
  until this exact login frame arrives on it, as an ANT BMS with a password does).
* `FakeFamilyBackend` is the radio: a bleak backend (bleak 3 `backend=`) whose GATT table is
  the family's service with its notify and write characteristics (from the library class's
  `uuid_services`, `uuid_rx`, `uuid_tx`). `FakeFamilyClient` is the real `bleak.BleakClient` on
  it: tests put it in `aiobmsble.basebms.BleakClient`, so the real library and the real
  bleak_retry_connector.establish_connection run.
* `advertisement(family)` is the family's advertisement (from the frames file) as a
  `BluetoothServiceInfoBleak`, for `tests.fakes.jbd_bms.inject_advertisement`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
import contextlib
import time
from typing import Any, ClassVar

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bleak.uuids import normalize_uuid_str

from custom_components.victron_venus.sources.ble_battery import FAMILIES
from tests.fakes.aiobmsble_frames import ADVERTISEMENTS, TRANSCRIPTS


class FamilyBms:
    """A BMS of one aiobmsble family (see the module docstring)."""

    def __init__(self, family: str, *, login: bytes | None = None) -> None:
        """Answers from the family's transcript; `login`: the frame that unlocks it."""
        self.family = family
        self.answers = {
            bytes.fromhex(request): [bytes.fromhex(chunk) for chunk in chunks]
            for request, chunks in TRANSCRIPTS[family].items()
        }
        self.login = login
        self.requests: list[bytes] = []
        self.connects = 0
        self.answered = 0
        self.silent = False
        self.disconnect_after: int | None = None

    def on_connect(self) -> None:
        """A new connection."""
        self.connects += 1

    def answer(self, request: bytes, unlocked: bool = True) -> list[bytes]:
        """The notifications this BMS sends for `request` on a connection that is `unlocked`
        (logged in, or no login needed); [] = none."""
        self.requests.append(request)
        if self.silent or not unlocked:
            return []
        chunks = self.answers.get(request, [])
        if chunks:
            self.answered += 1
        return list(chunks)


def gatt_table(family: str) -> BleakGATTServiceCollection:
    """The family's service with its notify and write characteristics (one when they are one)."""
    cls = FAMILIES[family]
    services = BleakGATTServiceCollection()
    service = BleakGATTService(None, 0x0010, normalize_uuid_str(cls.uuid_services()[0]))
    services.add_service(service)
    rx, tx = normalize_uuid_str(cls.uuid_rx()), normalize_uuid_str(cls.uuid_tx())
    rows = (
        [(0x0011, rx, ["read", "notify", "write-without-response"])]
        if rx == tx
        else [(0x0011, rx, ["read", "notify"]), (0x0014, tx, ["write-without-response"])]
    )
    for handle, uuid, properties in rows:
        services.add_characteristic(
            BleakGATTCharacteristic(None, handle, uuid, properties, lambda: 244, service)  # type: ignore[arg-type]
        )
    return services


class FakeFamilyBackend(BaseBleakClient):
    """A BMS of an aiobmsble family as a bleak backend; `peripherals[address]` answers."""

    peripherals: ClassVar[dict[str, FamilyBms]] = {}

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        """Look up the BMS behind the address."""
        super().__init__(address_or_ble_device, **kwargs)
        self.bms = self.peripherals[self.address]
        self._connected = False
        self._notify: Callable[[bytearray], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._unlocked = False

    @property
    def name(self) -> str:
        """The device name."""
        return self.address

    @property
    def mtu_size(self) -> int:
        """A negotiated MTU."""
        return 247

    @property
    def is_connected(self) -> bool:
        """Whether the fake link is up."""
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect; the GATT table is the family's."""
        self._connected = True
        self._unlocked = self.bms.login is None  # a login holds for one connection
        self.services = gatt_table(self.bms.family)
        self.bms.on_connect()

    async def disconnect(self) -> None:
        """Drop the link; bleak calls the disconnected callback."""
        if not self._connected:
            return
        self._connected = False
        self._notify = None
        for task in self._tasks:
            task.cancel()
        if self._disconnected_callback is not None:
            self._disconnected_callback()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        """Not used."""

    async def unpair(self) -> None:
        """Not used."""

    async def read_gatt_char(
        self, characteristic: BleakGATTCharacteristic, **kwargs: Any
    ) -> bytearray:
        """Nothing readable is used."""
        return bytearray()

    async def read_gatt_descriptor(
        self, descriptor: BleakGATTDescriptor, **kwargs: Any
    ) -> bytearray:
        """Nothing readable is used."""
        return bytearray()

    async def write_gatt_descriptor(self, descriptor: BleakGATTDescriptor, data: Any) -> None:
        """The CCCD write happens in start_notify."""

    async def start_notify(
        self,
        characteristic: BleakGATTCharacteristic,
        callback: Callable[[bytearray], None],
        **kwargs: Any,
    ) -> None:
        """Enable notifications."""
        self._notify = callback

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications."""
        self._notify = None

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """A request: answer with the BMS's notifications, one by one, after the write."""
        if not self._connected:
            raise BleakError("Not connected")
        request = bytes(data)
        if self.bms.login is not None and request == self.bms.login:
            self.bms.requests.append(request)
            self._unlocked = True
            return
        chunks = self.bms.answer(request, self._unlocked)
        if not chunks:
            return
        cut, self.bms.disconnect_after = self.bms.disconnect_after, None

        async def send() -> None:
            for sent, chunk in enumerate(chunks):
                if cut is not None and sent >= cut:
                    await self.disconnect()
                    return
                await asyncio.sleep(0)  # notifications arrive after the write returns
                if self._notify is None:
                    return
                self._notify(bytearray(chunk))

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class FakeFamilyClient(BleakClient):
    """The real BleakClient on the fake radio (what tests patch into aiobmsble.basebms)."""

    def __init__(
        self,
        address_or_ble_device: BLEDevice | str,
        disconnected_callback: Callable[[BleakClient], None] | None = None,
        services: Any = None,
        **kwargs: Any,
    ) -> None:
        """Use the fake backend; bleak_retry_connector's own kwargs pass through."""
        kwargs.pop("_is_retry_client", None)
        super().__init__(
            address_or_ble_device,
            disconnected_callback,
            services,
            backend=FakeFamilyBackend,
            **kwargs,
        )


@contextlib.contextmanager
def registered(address: str, bms: FamilyBms) -> Iterator[FamilyBms]:
    """Make `bms` the peripheral at `address` for the duration."""
    FakeFamilyBackend.peripherals[address] = bms
    try:
        yield bms
    finally:
        FakeFamilyBackend.peripherals.pop(address, None)


def address_of(family: str) -> str:
    """The address the family's test advertisement is heard from."""
    return ADVERTISEMENTS[family][0]


def advertisement(family: str, *, address: str | None = None, rssi: int = -60) -> Any:
    """The family's advertisement as a local adapter reports it (BluetoothServiceInfoBleak)."""
    from homeassistant.components.bluetooth import SOURCE_LOCAL, BluetoothServiceInfoBleak

    default_address, fields = ADVERTISEMENTS[family]
    address = address or default_address
    name = fields["local_name"]
    manufacturer = {int(k): bytes.fromhex(v) for k, v in fields["manufacturer_data"].items()}
    uuids = list(fields["service_uuids"])
    data = AdvertisementData(
        local_name=name,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=uuids,
        rssi=rssi,
        tx_power=-127,
        platform_data=((),),
    )
    return BluetoothServiceInfoBleak(
        name=name,
        address=address,
        rssi=rssi,
        manufacturer_data=manufacturer,
        service_data={},
        service_uuids=uuids,
        source=SOURCE_LOCAL,
        device=BLEDevice(address, name, {}),
        advertisement=data,
        connectable=True,
        time=time.monotonic(),
        tx_power=-127,
    )
