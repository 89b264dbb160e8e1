"""Fake JBD BMSes that answer requests with real captured frames, over Bluetooth LE or a real pty.

Nothing here decodes: answers are the captures' own bytes.

* `FakeBms` is the BMS's behaviour: it answers a request with the chunks a real BMS sent for it
  (a `Replayer` over a btsnoop transcript, or the UART capture's frames from jbd_frames.json), and
  models the one thing a replay cannot: the newer "V1.3" Bluetooth module ignores every read until
  the FF AA login is done again after each connect. Its answers to the login (ACK, random bytes)
  are the capture's; the password it accepts is the capture's ("123456" salted with
  10:A5:62:32:75:36, see tests/protocol/test_jbd.py); a wrong one gets the NACK of
  syssi's communications2.txt. The transcripts never ask 0x05: the model string answer is the
  UART capture's frame of the same BMS model (JBD-SP04S034-L4S-200A-B-U), cut in 20-byte
  notifications. Register writes (``DD 5A``) of the MOSFET control sequence are answered like
  the captured BMS (syssi's _MOS.txt UART capture in jbd_frames.json): factory mode enter (0x00)
  and leave (0x01) and the 0xE1 MOSFET control register each get the empty acknowledgement
  ``DD reg 00 00 00 00 77``, and the 0xE1 value shows in the FET byte of every later 0x03 answer
  (the captured frame with that byte and its checksum changed). Every write is kept in `writes`.
  Write switches: `refuse_writes` (status 0x80, ``DD E1 80 00 FF 80 77``), `ignore_writes` (no
  answer: a timeout), `stuck_fets` (acknowledged, but the FET bits stay).
  Fault switches: `silent` (stops answering), `corrupt_next` (one answer with a
  flipped byte: checksum error), `garbage_next` (bytes before the next answer), `truncate_next`
  (only the first part of the next answer), `disconnect_after` (Bluetooth: drop the link after
  that many notification chunks of the next answer: a disconnect mid-frame).
* `FakeJBDBackend` is the radio: a bleak backend (bleak 3 `backend=`) with the GATT table the
  captures show (service 0xFF00, 0xFF01 read+notify at handle 0x11, 0xFF02 read+write-without-
  response at 0x15; or the FFF1/FFF2 variant). `FakeBleakClient` is the real `bleak.BleakClient`
  on that backend, so the real BleakClient and the real bleak_retry_connector.establish_connection
  run; notifications go out in the captures' real order and sizes.
* `SerialFakeBms` serves a `FakeBms` on a `PtyDevice` (a real pseudo-terminal): it reads requests
  from the master, assembles them (FrameAssembler(requests=True)) and writes the answers.
* `service_info` / `inject_advertisement`: a Bluetooth advertisement into Home Assistant's
  bluetooth integration (ha_testing.md §3.3).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
import json
from pathlib import Path
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

from custom_components.victron_venus.protocol import jbd
from tests.fakes.jbd_transcript import Replayer, Transcript, load
from tests.fakes.vedirect_device import PtyDevice
from tests.shared import fixture_path

TRANSCRIPT = "syssi_btsnoop_hci_jbd-sp04s034-l4s-200a-b-u.att.txt"
TRANSCRIPT_V13 = "syssi_JBD-SP04S034L4S200A-V1.3-btsnoop_hci.att.txt"
#: the V1.3 module's address and password as the capture's login frames decode (test_jbd.py)
V13_MAC = "10:A5:62:32:75:36"
V13_PASSWORD = "123456"
UART_NOTE = "UART capture JBD-SP04S034-L4S-200A-B-U (4S, 3 NTC, 5Ah)"
AIOBMSBLE_NOTE = "aiobmsble test mock"
BLE_CHUNK = 20  # ATT MTU 23 - 3 (protocols.md §2.1)


def transcript(name: str = TRANSCRIPT) -> Transcript:
    """A btsnoop transcript from ../shared/fixtures/jbd."""
    return load(fixture_path("jbd", name))


def _frames_json() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(fixture_path("jbd", "jbd_frames.json").read_text())
    return data


def captured_frames(note_prefix: str, register: int) -> list[bytes]:
    """Every response frame for `register` of the jbd_frames.json entry whose note starts so."""
    for entry in _frames_json():
        if entry["note"].startswith(note_prefix):
            return [
                bytes.fromhex(f["hex"])
                for f in entry["frames"]
                if f["kind"] == "response" and f["reg"] == register
            ]
    raise KeyError(note_prefix)


def _auth_frame(hexdata: str) -> bytes:
    for entry in _frames_json():
        for frame in entry["frames"]:
            if frame["kind"] == "auth" and frame["hex"] == hexdata:
                return bytes.fromhex(hexdata)
    raise KeyError(hexdata)


def ble_chunks(frame: bytes) -> list[bytes]:
    """A frame as a default-MTU link notifies it: 20-byte chunks."""
    return [frame[i : i + BLE_CHUNK] for i in range(0, len(frame), BLE_CHUNK)]


def model_answer() -> list[bytes]:
    """The UART capture's real 0x05 answer ("JBD-SP04S034-L4S-200A-B-U") as BLE notifications."""
    return ble_chunks(captured_frames(UART_NOTE, jbd.REG_HARDWARE_INFO)[0])


def uart_answers(note: str = UART_NOTE) -> dict[bytes, list[list[bytes]]]:
    """request -> answers (each one whole frame, as a serial read may bring it) of a capture."""
    answers: dict[bytes, list[list[bytes]]] = {}
    for register in (jbd.REG_BASIC_INFO, jbd.REG_CELL_VOLTAGES, jbd.REG_HARDWARE_INFO):
        frames = captured_frames(note, register)
        if frames:
            answers[jbd.request(register)] = [[frame] for frame in frames]
    return answers


class FakeBms:
    """A BMS's answers and login state (see the module docstring)."""

    def __init__(
        self,
        answers: Transcript | dict[bytes, list[list[bytes]]],
        *,
        password: str | None = None,
        mac: str = V13_MAC,
        extra: dict[bytes, list[list[bytes]]] | None = None,
    ) -> None:
        """`answers`: a transcript (replayed) or request -> list of answers (cycled)."""
        self._replayer = Replayer(answers) if isinstance(answers, Transcript) else None
        self._answers = dict(answers) if isinstance(answers, dict) else {}
        self._next: dict[bytes, int] = {}
        if extra:
            self._answers.update(extra)
        self.password = password
        self.mac = mac
        self.logged_in = password is None
        self._random: int | None = None
        self.requests: list[bytes] = []
        self.answered = 0
        self.connects = 0
        self.silent = False
        self.corrupt_next = False
        self.garbage_next = b""
        self.truncate_next = False
        self.disconnect_after: int | None = None
        self.fault_request: bytes | None = None  # faults apply to this request only (None: any)
        self.last_answer: dict[bytes, bytes] = {}  # request -> the bytes last sent for it
        self.writes: list[bytes] = []  # every DD 5A request received, in order
        self.factory_mode = False
        self.fet_status: int | None = None  # FET byte of 0x03 (bit 0 charge, bit 1 discharge on)
        self.refuse_writes = False
        self.ignore_writes = False
        self.stuck_fets = False

    def on_connect(self) -> None:
        """A new connection: a module with a password wants the login again."""
        self.connects += 1
        self.logged_in = self.password is None
        self._random = None

    def _recorded(self, request: bytes) -> list[bytes]:
        if self._replayer is not None and (chunks := self._replayer.respond(request)):
            return chunks
        answers = self._answers.get(request)
        if not answers:
            return []
        index = self._next.get(request, 0) % len(answers)
        self._next[request] = index + 1
        return list(answers[index])

    def answer(self, request: bytes) -> list[bytes]:
        """The chunks this BMS sends back for `request` ([] = no answer)."""
        request = bytes(request)
        self.requests.append(request)
        if self.silent:
            return []
        if request[:2] == jbd.AUTH_HEADER:
            return self._login(request)
        if not self.logged_in:
            return []  # the V1.3 module ignores reads until the login (no error, only timeouts)
        if request[1] == jbd.WRITE and request[2] in _WRITE_REGISTERS:
            return self._write(request)
        chunks = self._recorded(request)
        if not chunks:
            return []
        if request == _REQUEST_BASIC and self.fet_status is not None:
            chunks = _with_fet_status(chunks, self.fet_status)
        self.answered += 1
        self.last_answer[request] = b"".join(chunks)
        if self.fault_request is not None and request != self.fault_request:
            return chunks
        return self._faults(chunks)

    def _write(self, request: bytes) -> list[bytes]:
        """A register write of the MOSFET sequence: acknowledged (or refused, or ignored)."""
        self.writes.append(request)
        register, data = request[2], request[4 : 4 + request[3]]
        if self.ignore_writes:
            return []
        if self.refuse_writes:
            return [bytes((jbd.START, register, 0x80, 0x00, 0xFF, 0x80, jbd.END))]
        if register == jbd.REG_ENTER_FACTORY:
            self.factory_mode = data == jbd.FACTORY_MODE_KEY
        elif register == jbd.REG_EXIT_FACTORY:
            self.factory_mode = False
        elif register == jbd.REG_MOSFET_CONTROL and len(data) == 2 and not self.stuck_fets:
            self.fet_status = ~data[1] & 0x03  # bit set in the write = MOSFET off
        self.answered += 1
        ack = bytes((jbd.START, register, 0x00, 0x00, 0x00, 0x00, jbd.END))  # dd e1 00 00 00 00 77
        self.last_answer[request] = ack
        return [ack]

    def _login(self, request: bytes) -> list[bytes]:
        command = request[2]
        if command == jbd.AUTH_PASSWORD:
            if self.password is None:
                return []
            expected = (
                jbd.password_frame(self.password, self.mac, self._random)
                if self._random is not None
                else None
            )
            if request == expected:
                self.logged_in = True
                return self._recorded(request) or [_auth_frame("ffaa18010019")]
            return [_auth_frame("ffaa1801011a")]  # NACK (communications2.txt)
        chunks = self._recorded(request)
        if command == jbd.AUTH_RANDOM and chunks:
            self._random = jbd.parse_auth_reply(chunks[0]).random
        return chunks

    def _faults(self, chunks: list[bytes]) -> list[bytes]:
        if self.corrupt_next:
            self.corrupt_next = False
            last = bytearray(chunks[-1])
            last[-2] ^= 0x01  # checksum low byte
            chunks = [*chunks[:-1], bytes(last)]
        if self.truncate_next:
            self.truncate_next = False
            chunks = [chunks[0][: max(4, len(chunks[0]) // 2)]]
        if self.garbage_next:
            chunks = [self.garbage_next, *chunks]
            self.garbage_next = b""
        return chunks


_REQUEST_BASIC = jbd.request(jbd.REG_BASIC_INFO)
_WRITE_REGISTERS = frozenset((jbd.REG_ENTER_FACTORY, jbd.REG_EXIT_FACTORY, jbd.REG_MOSFET_CONTROL))
_FET_OFFSET = 4 + 20  # header + offset 20 of the 0x03 payload (protocols.md §2.4)


def _with_fet_status(chunks: list[bytes], fet_status: int) -> list[bytes]:
    """A captured 0x03 answer with its FET byte set to `fet_status` (checksum recomputed), cut
    into chunks of the same sizes as the original."""
    frame = bytearray(b"".join(chunks))
    frame[_FET_OFFSET] = (frame[_FET_OFFSET] & ~0x03) | fet_status
    frame[-3:-1] = ((0x10000 - sum(frame[2:-3])) & 0xFFFF).to_bytes(2, "big")
    out: list[bytes] = []
    start = 0
    for chunk in chunks:
        out.append(bytes(frame[start : start + len(chunk)]))
        start += len(chunk)
    return out


# --- the radio: a bleak backend --------------------------------------------------------------

SERVICE = "0000ff00-0000-1000-8000-00805f9b34fb"
VARIANTS = {
    "ff01": ("0000ff01-0000-1000-8000-00805f9b34fb", "0000ff02-0000-1000-8000-00805f9b34fb"),
    "fff1": ("0000fff1-0000-1000-8000-00805f9b34fb", "0000fff2-0000-1000-8000-00805f9b34fb"),
}


def gatt_table(variant: str = "ff01") -> BleakGATTServiceCollection:
    """Service 0xFF00 with its notify (handle 0x11) and write (handle 0x15) characteristics."""
    services = BleakGATTServiceCollection()
    service = BleakGATTService(None, 0x000F, SERVICE)
    services.add_service(service)
    if variant not in VARIANTS:  # a device with service 0xFF00 but no JBD characteristics
        return services
    notify_uuid, write_uuid = VARIANTS[variant]
    for handle, uuid, properties in (
        (0x0011, notify_uuid, ["read", "notify"]),
        (0x0015, write_uuid, ["read", "write-without-response"]),
    ):
        services.add_characteristic(
            BleakGATTCharacteristic(None, handle, uuid, properties, lambda: BLE_CHUNK, service)  # type: ignore[arg-type]
        )
    return services


class FakeJBDBackend(BaseBleakClient):
    """A JBD peripheral as a bleak backend; `peripherals[address]` says which BMS answers."""

    peripherals: ClassVar[dict[str, FakeBms]] = {}
    variants: ClassVar[dict[str, str]] = {}
    refuse: ClassVar[set[str]] = set()  # addresses whose connection attempts fail

    def __init__(self, address_or_ble_device: BLEDevice | str, **kwargs: Any) -> None:
        """Look up the BMS behind the address."""
        super().__init__(address_or_ble_device, **kwargs)
        self.bms = self.peripherals[self.address]
        self._connected = False
        self._notify: Callable[[bytearray], None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        """The device name."""
        return self.address

    @property
    def mtu_size(self) -> int:
        """The default ATT MTU (the captures never raise it)."""
        return 23

    @property
    def is_connected(self) -> bool:
        """Whether the fake link is up."""
        return self._connected

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        """Connect (or fail like a busy BMS)."""
        if self.address in self.refuse:
            raise BleakError(f"{self.address}: connection failed (fake radio)")
        self._connected = True
        self.services = gatt_table(self.variants.get(self.address, "ff01"))
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
        """Not used by JBD modules."""

    async def unpair(self) -> None:
        """Not used by JBD modules."""

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
        """Enable notifications; the captures show a lone 00 notification right after."""
        self._notify = callback
        self._emit([b"\x00"], faults=False)

    async def stop_notify(self, characteristic: BleakGATTCharacteristic) -> None:
        """Disable notifications."""
        self._notify = None

    async def write_gatt_char(
        self, characteristic: BleakGATTCharacteristic, data: Any, response: bool
    ) -> None:
        """A request on FF02: answer with the BMS's notification chunks, one by one."""
        if not self._connected:
            raise BleakError("Not connected")
        request = bytes(data)
        faults = self.bms.fault_request in (None, request)
        self._emit(self.bms.answer(request), faults=faults)

    def _emit(self, chunks: list[bytes], *, faults: bool = True) -> None:
        if not chunks:
            return
        cut = None
        if faults:
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


class FakeBleakClient(BleakClient):
    """The real BleakClient on the fake radio (what tests patch into transport.ble)."""

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
            address_or_ble_device, disconnected_callback, services, backend=FakeJBDBackend, **kwargs
        )


# --- advertisements -------------------------------------------------------------------------


def service_info(
    address: str,
    name: str,
    service_uuids: list[str] | None = None,
    *,
    connectable: bool = True,
    rssi: int = -60,
) -> Any:
    """A BluetoothServiceInfoBleak as a local adapter would report this advertisement."""
    from homeassistant.components.bluetooth import SOURCE_LOCAL, BluetoothServiceInfoBleak

    uuids = [SERVICE] if service_uuids is None else service_uuids
    advertisement = AdvertisementData(
        local_name=name,
        manufacturer_data={},
        service_data={},
        service_uuids=uuids,
        rssi=rssi,
        tx_power=-127,
        platform_data=((),),
    )
    device = BLEDevice(address, name, {})
    return BluetoothServiceInfoBleak(
        name=name,
        address=address,
        rssi=rssi,
        manufacturer_data={},
        service_data={},
        service_uuids=uuids,
        source=SOURCE_LOCAL,
        device=device,
        advertisement=advertisement,
        connectable=connectable,
        time=time.monotonic(),
        tx_power=-127,
    )


def inject_advertisement(hass: Any, info: Any) -> None:
    """Hand an advertisement to Home Assistant's bluetooth integration (matchers, discovery)."""
    from homeassistant.components.bluetooth import async_get_advertisement_callback

    async_get_advertisement_callback(hass)(info)


# --- serial: a fake BMS on a real pty -----------------------------------------------------------


class SerialFakeBms:
    """Serves a FakeBms on a PtyDevice: reads requests from the master, writes the answers."""

    def __init__(self, device: PtyDevice, bms: FakeBms, *, poll: float = 0.005) -> None:
        """Prepare; `run()` serves until cancelled."""
        self.device = device
        self.bms = bms
        self.poll = poll
        self.assembler = jbd.FrameAssembler(requests=True)
        self.received = bytearray()  # every byte read from the pty, as sent

    async def run(self) -> None:
        """Answer every complete request that arrives."""
        plugged = self.device.plugged
        while True:
            if self.device.plugged and not plugged:
                self.assembler.reset()  # a new pty: a new connection
                self.bms.on_connect()
            plugged = self.device.plugged
            data = self.device.read_nowait()
            if not data:
                await asyncio.sleep(self.poll)
                continue
            self.received += data
            for request in self.assembler.feed(data):
                chunks = self.bms.answer(request)
                if chunks:
                    await self.device.write(b"".join(chunks))


@contextlib.contextmanager
def registered(address: str, bms: FakeBms, variant: str = "ff01") -> Any:
    """Make `bms` the peripheral at `address` for the duration."""
    FakeJBDBackend.peripherals[address] = bms
    FakeJBDBackend.variants[address] = variant
    try:
        yield bms
    finally:
        FakeJBDBackend.peripherals.pop(address, None)
        FakeJBDBackend.variants.pop(address, None)
        FakeJBDBackend.refuse.discard(address)


def serve_on_pty(link: Path, bms: FakeBms) -> tuple[PtyDevice, SerialFakeBms]:
    """A pty at `link` with `bms` behind it (call `.run()` of the second item in a task)."""
    device = PtyDevice(link)
    return device, SerialFakeBms(device, bms)
