"""A VE.Direct device on a real pseudo-terminal replaying a real capture (tests, scripts/develop).

The pty's slave is reached through a stable symlink, like /dev/serial/by-id/...: `unplug()`
closes the pty (the reader sees EIO, as when a USB cable is pulled) and removes the link,
`replug()` makes a new pty and points the link at it.

The capture is cut into blocks after each `Checksum\\t<byte>` (plus any HEX frames that follow),
without using the integration's parser, and blocks are grouped into records: a record starts at
a block that begins with PID, so a BMV's main and history blocks, or a SmartSolar 150/70's two
halves, go out together. Records are written at `interval` seconds apart (about one a second,
like the real 19200-baud devices), looping.

HEX (protocols.md §1.4): a `HexResponder` attached to a replay (`VEDirectReplay(..., hex=...)`
or `attach_hex`) reads what the integration writes to the pty and answers HEX Get/Set/Ping like
the real device, *after* the record being sent (a response waits until the TEXT block finishes,
§1.1), while the TEXT keeps coming. Its registers start from the capture: the identity from
PID/FW/FWE/SER#, the load output from LOAD, the mode from MODE, every async frame's register at
its captured value; settings a capture cannot show (0xEDF0 and its limits, the capabilities) get
a model's documented defaults, and the 30 history days before the captured "today" (0x1050) are
made up deterministically (see `history_days`). A Set changes the register and, like the device,
the TEXT field that shows it (LOAD, MODE; a BMV synchronise sets SOC to 100 %). For tests it can
ignore the next commands (`ignore`: the host times out), answer them with the framing error
(`framing_errors`) or refuse registers (`refuse`: flags 0x04 parameter error).

Run standalone: `python -m tests.fakes.vedirect_device CAPTURE LINK [--interval 1.0] [--hex]`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path
import re
import tty

from custom_components.victron_venus.protocol import vedirect_hex as hexp
from custom_components.victron_venus.protocol.vedirect_hex_session import device_family
from custom_components.victron_venus.protocol.vedirect_pids import PID_MODELS


def split_records(capture: bytes) -> list[bytes]:
    """Cut a raw capture into records (lists of whole blocks), dropping a truncated tail."""
    blocks: list[bytes] = []
    start = 0
    marker = b"Checksum\t"
    while (found := capture.find(marker, start)) != -1:
        end = found + len(marker) + 1
        if end > len(capture):
            break
        # asynchronous HEX frames that follow the checksum byte travel with the block
        while capture.startswith(b":", end) and (nl := capture.find(b"\n", end)) != -1:
            end = nl + 1
        blocks.append(capture[start:end])
        start = end
    if blocks:
        # a capture may start with line noise or mid-block: keep its first block only from the
        # first CR LF on, and only if it then sums to 0 mod 256 (protocols.md §1.2)
        first = blocks[0][blocks[0].find(b"\r\n") :]
        text_end = first.find(marker) + len(marker) + 1
        if blocks[0].find(b"\r\n") < 0 or sum(first[:text_end]) % 256:
            blocks.pop(0)
        else:
            blocks[0] = first
    records: list[bytes] = []
    for block in blocks:
        if not records or block.lstrip(b"\r\n").startswith(b"PID\t"):
            records.append(block)
        else:
            records[-1] += block
    return records


def with_field(capture: bytes, label: str, value: str) -> bytes:
    """The capture with the value of `label` replaced by `value` in every block that has it,
    each changed block's checksum byte fixed so it still sums to 0 mod 256 (§1.2): what another
    unit of the same model would send. Works on the complete records of :func:`split_records`
    (HEX frames between blocks stay as they are and are in no sum)."""
    line = b"\r\n" + label.encode("ascii") + b"\t"
    marker = b"\r\nChecksum\t"
    new_value = value.encode("ascii")
    out: list[bytes] = []
    for record in split_records(capture):
        data = bytearray(record)
        pos = 0
        while (found := data.find(line, pos)) != -1:
            start = found + len(line)
            end = data.index(b"\r\n", start)
            delta = sum(new_value) - sum(data[start:end])
            data[start:end] = new_value
            checksum = data.index(marker, start) + len(marker)
            data[checksum] = (data[checksum] - delta) % 256
            pos = checksum + 1
        out.append(bytes(data))
    return b"".join(out)


def with_serial(capture: bytes, serial: str) -> bytes:
    """The capture as sent by another unit of the same model: every ``SER#`` is `serial`."""
    return with_field(capture, "SER#", serial)


class PtyDevice:
    """A pseudo-terminal whose slave is reached through the symlink `link`."""

    def __init__(self, link: Path) -> None:
        """Create the pty and the link."""
        self.link = Path(link)
        self.master: int | None = None
        self._slave: int | None = None
        self.bytes_written = 0
        self.replug()

    @property
    def plugged(self) -> bool:
        """Whether the pty exists."""
        return self.master is not None

    def replug(self) -> None:
        """(Re)create the pty and point the link at its slave."""
        self.unplug()
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        os.set_blocking(master, False)
        self.master, self._slave = master, slave
        tmp = self.link.with_name(self.link.name + ".new")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        tmp.symlink_to(os.ttyname(slave))
        tmp.replace(self.link)

    def unplug(self) -> None:
        """Close the pty (readers get EIO) and remove the link."""
        for fd in (self.master, self._slave):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.master = self._slave = None
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()

    async def write(self, data: bytes) -> None:
        """Write all of `data` to the master, waiting while the pty buffer is full."""
        view = memoryview(data)
        while view and self.master is not None:
            try:
                written = os.write(self.master, view)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            except OSError:
                return  # unplugged meanwhile
            self.bytes_written += written
            view = view[written:]

    def read_nowait(self) -> bytes:
        """Whatever the integration wrote to the device (HEX commands), without waiting."""
        if self.master is None:
            return b""
        try:
            return os.read(self.master, 4096)
        except BlockingIOError, OSError:
            return b""


def _fields(capture: bytes) -> dict[str, str]:
    """The last value of every TEXT label of a capture (raw text)."""
    fields: dict[str, str] = {}
    for label, value in re.findall(rb"\r\n([A-Za-z0-9_#]+)\t([^\r\n]*)", capture):
        if label != b"Checksum":
            fields[label.decode("ascii")] = value.decode("ascii", "replace")
    return fields


def history_day(days_ago: int, today: bytes | None, sequence: int) -> bytes:
    """A 34-byte history day record (protocol.vedirect_hex.HistoryDay layout).

    Day 0 is the capture's own "today" record when it has one. Older days are made up, the same
    every run: yield ``0.20 + 0.05 * ((7 * d) % 11)`` kWh, max power 40 W per 0.1 kWh, bulk
    90 min, absorption 60, float 120, battery 12.20..14.40 V, panel 38.50 V, no errors.
    """
    if days_ago == 0 and today is not None and len(today) >= hexp.HISTORY_DAY_LEN:
        return today[: hexp.HISTORY_DAY_LEN]
    yield_centi = 20 + 5 * ((7 * days_ago) % 11)
    return (
        bytes((0,))
        + yield_centi.to_bytes(4, "little")
        + (0).to_bytes(4, "little")
        + (1440).to_bytes(2, "little")
        + (1220).to_bytes(2, "little")
        + bytes((0, 0, 0, 0, 0))
        + (90).to_bytes(2, "little")
        + (60).to_bytes(2, "little")
        + (120).to_bytes(2, "little")
        + (4 * yield_centi).to_bytes(4, "little")
        + (60).to_bytes(2, "little")
        + (3850).to_bytes(2, "little")
        + max(sequence - days_ago, 0).to_bytes(2, "little")
    )


def history_days(capture: bytes) -> dict[int, bytes]:
    """Registers 0x1050..0x106E of an MPPT capture (see :func:`history_day`)."""
    today: bytes | None = None
    for line in re.findall(rb":[0-9A-Fa-f]+\n", capture):
        message = hexp.decode_line(line)
        if message is not None and message.register == hexp.HISTORY_DAY_FIRST:
            today = message.data
    sequence = hexp.decode_history_day(today).day_sequence if today else 300
    return {hexp.history_day_register(day): history_day(day, today, sequence) for day in range(31)}


def _model_current(model: str | None) -> int:
    """A charger's rated current in 0.1 A from its model name ("MPPT 75|15" -> 150)."""
    found = re.search(r"\|\s*(\d+)", model or "")
    return int(found.group(1)) * 10 if found else 150


class HexResponder:
    """Answers HEX commands like the capture's device (see the module docstring).

    `registers`: register -> raw value bytes; `received`: every whole line the host wrote;
    `answered`: lines sent back. Test knobs: `ignore` (answer none of the next n commands),
    `framing_errors` (answer the next n with ``:4AAAAFD``), `refuse` (registers whose Set is
    answered with flags 0x04), `text_overrides` (TEXT label -> value the records now carry).
    """

    def __init__(self, capture: bytes) -> None:
        """Registers from `capture` (identity, async frames, defaults; MPPT history)."""
        self.fields = _fields(capture)
        pid = int(self.fields.get("PID", "0x0"), 16)
        self.model = PID_MODELS.get(pid)
        self.family = device_family(set(self.fields), self.model)
        regs: dict[int, bytes] = {
            0x0100: bytes((0,)) + pid.to_bytes(2, "little") + bytes((0,)),
        }
        firmware = self.fields.get("FWE") or self.fields.get("FW")
        if firmware:  # FW "123" = 0x000123 (1.23), FWE "316FF" = 0x0316FF (3.16 release)
            regs[0x0102] = bytes((0,)) + int(firmware, 16).to_bytes(3, "little")
        if "SER#" in self.fields:
            regs[0x010A] = self.fields["SER#"].encode("ascii")
        for line in re.findall(rb":[0-9A-Fa-f]+\n", capture):
            message = hexp.decode_line(line)
            if message is not None and message.register is not None and not message.flags:
                regs[message.register] = message.data
        if self.family == "mppt":
            rated = _model_current(self.model)
            regs[0x0140] = (hexp.CAPABILITY_LOAD_OUTPUT if "LOAD" in self.fields else 0).to_bytes(
                4, "little"
            )
            regs[0xEDAB] = bytes((4 if self.fields.get("LOAD") == "ON" else 0,))
            regs[0x0200] = bytes((1,))
            regs[0xEDDF] = rated.to_bytes(2, "little")
            regs[0xEDF0] = rated.to_bytes(2, "little")
            regs.update(history_days(capture))
        elif self.family == "inverter":
            regs[0x0200] = bytes((int(self.fields.get("MODE", "2")),))
        elif self.family == "charger":
            regs[0x0200] = bytes((1,))
            regs[0xEDDF] = _model_current(self.model).to_bytes(2, "little")
            regs[0xEDF0] = regs[0xEDDF]
        self.registers = regs
        self.received: list[bytes] = []
        self.bytes_received = 0
        self.answered: list[bytes] = []
        self.ignore = 0
        self.framing_errors = 0
        self.refuse: set[int] = set()
        self.text_overrides: dict[str, str] = {}
        self._buffer = b""
        self._outbox: list[bytes] = []

    def take(self, data: bytes) -> None:
        """Bytes the host wrote: answer every whole line (queued until the record is out)."""
        self.bytes_received += len(data)
        self._buffer += data
        while (end := self._buffer.find(b"\n")) != -1:
            line, self._buffer = self._buffer[: end + 1], self._buffer[end + 1 :]
            start = line.rfind(b":")
            if start < 0:
                continue
            line = line[start:]
            self.received.append(line)
            answer = self.answer(line)
            if answer is not None:
                self._outbox.append(answer)

    def answer(self, line: bytes) -> bytes | None:
        """The device's answer to one line (None: no answer, as for `ignore`)."""
        if self.ignore:
            self.ignore -= 1
            return None
        message = hexp.decode_line(line)
        if self.framing_errors or message is None:
            self.framing_errors = max(self.framing_errors - 1, 0)
            return hexp.encode_frame(hexp.RSP_ERROR, b"\xaa\xaa")
        command, register = message.command, message.register
        if command == hexp.CMD_PING:
            return hexp.encode_frame(hexp.RSP_PING, b"\x39\x41")
        if command == hexp.CMD_GET and register is not None:
            value = self.registers.get(register)
            if value is None:
                return hexp.encode_frame(
                    hexp.RSP_GET, register.to_bytes(2, "little") + bytes((hexp.FLAG_UNKNOWN_ID,))
                )
            return hexp.encode_frame(hexp.RSP_GET, register.to_bytes(2, "little") + b"\x00" + value)
        if command == hexp.CMD_SET and register is not None:
            head = register.to_bytes(2, "little")
            if register in self.refuse:
                return hexp.encode_frame(
                    hexp.RSP_SET, head + bytes((hexp.FLAG_PARAMETER_ERROR,)) + message.data
                )
            if register == 0x102C and self.family == "bmv":
                self.text_overrides["SOC"] = "1000"
                return hexp.encode_frame(hexp.RSP_SET, head + b"\x00")
            if register not in self.registers:
                return hexp.encode_frame(hexp.RSP_SET, head + bytes((hexp.FLAG_UNKNOWN_ID,)))
            if register == 0xEDF0:
                raw = int.from_bytes(message.data, "little")
                if raw > int.from_bytes(self.registers.get(0xEDDF, b"\xff\xff"), "little"):
                    return hexp.encode_frame(
                        hexp.RSP_SET, head + bytes((hexp.FLAG_PARAMETER_ERROR,)) + message.data
                    )
            self.registers[register] = message.data
            if register == 0xEDAB and "LOAD" in self.fields:
                self.text_overrides["LOAD"] = "ON" if message.data == b"\x04" else "OFF"
            if register == 0x0200 and "MODE" in self.fields:
                self.text_overrides["MODE"] = str(message.data[0])
            return hexp.encode_frame(hexp.RSP_SET, head + b"\x00" + message.data)
        return hexp.encode_frame(hexp.RSP_UNKNOWN, bytes((command,)))

    def patch(self, record: bytes) -> bytes:
        """A record with the `text_overrides` applied (checksums fixed)."""
        for label, value in self.text_overrides.items():
            if b"\r\n" + label.encode("ascii") + b"\t" in record:
                record = with_field(record, label, value)
        return record

    def outbox(self) -> bytes:
        """The answers waiting to go out (and forget them)."""
        out, self._outbox = b"".join(self._outbox), []
        if out:
            self.answered.append(out)
        return out


class VEDirectReplay:
    """Replays a capture's records on a `PtyDevice`, one record every `interval` seconds.

    With `hex` (a :class:`HexResponder`, or True for one made from `capture`) the replay also
    reads what the host writes and answers HEX commands after each record.
    """

    def __init__(
        self,
        device: PtyDevice,
        capture: bytes,
        interval: float = 1.0,
        loop: bool = True,
        hex: HexResponder | bool | None = None,
    ) -> None:
        """Prepare the replay; `run()` sends."""
        self.device = device
        self.records = split_records(capture)
        if not self.records:
            raise ValueError("the capture holds no complete block")
        self.interval = interval
        self.loop = loop
        self.sent = 0
        self.paused = False
        self._swapped = False
        self.hex: HexResponder | None = HexResponder(capture) if hex is True else hex or None

    def attach_hex(self, capture: bytes) -> HexResponder:
        """Answer HEX commands from now on like `capture`'s device; returns the responder."""
        self.hex = HexResponder(capture)
        return self.hex

    async def _send(self, record: bytes) -> None:
        responder = self.hex
        if responder is None:
            await self.device.write(record)
            return
        while data := self.device.read_nowait():
            responder.take(data)
        await self.device.write(responder.patch(record))
        # answers go out after the TEXT record (§1.1): poll the host's bytes meanwhile
        waited = 0.0
        step = min(0.02, self.interval)
        while True:
            while data := self.device.read_nowait():
                responder.take(data)
            if out := responder.outbox():
                await self.device.write(out)
            if waited >= self.interval:
                return
            await asyncio.sleep(step)
            waited += step

    def swap(self, capture: bytes) -> None:
        """Another device on the same pty: send `capture`'s records from its first one on."""
        records = split_records(capture)
        if not records:
            raise ValueError("the capture holds no complete block")
        self.records = records
        self._swapped = True

    async def run(self) -> None:
        """Send records until cancelled (or once through when loop is False)."""
        while True:
            self._swapped = False
            for record in self.records:
                while self.paused or not self.device.plugged:
                    await asyncio.sleep(0.02)
                if self._swapped:
                    break
                if self.hex is None:
                    await self.device.write(record)
                    self.sent += 1
                    await asyncio.sleep(self.interval)
                else:
                    self.sent += 1
                    await self._send(record)
            else:
                if not self.loop:
                    return


async def _main(capture: Path, link: Path, interval: float, hex: bool = False) -> None:
    device = PtyDevice(link)
    try:
        await VEDirectReplay(device, capture.read_bytes(), interval, hex=hex).run()
    finally:
        device.unplug()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("capture", type=Path)
    parser.add_argument("link", type=Path)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--hex", action="store_true", help="answer HEX commands")
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args.capture, args.link, args.interval, args.hex))
