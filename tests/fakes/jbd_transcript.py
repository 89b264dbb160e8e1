"""Read the JBD btsnoop ATT transcripts in ../shared/fixtures/jbd into ordered events and exchanges.

The transcripts (see ../shared/fixtures/SOURCES.md) hold one line per ATT event, in capture order::

    tx WRITE handle=0x0015 len=7 dda50300fffd77        phone -> BMS, write to char 0xFF02
    rx NOTIFY handle=0x0011 len=20 dd03001d0571...      BMS -> phone, one real <= 20-byte chunk
      => FRAME OK  reg=0x03 dd03001d0571...77           the frame the chunks above reassemble to
      => REQUEST OK  read-req reg=0x03                  what the write above was

``load(path)`` returns a ``Transcript``: ``events`` (every tx/rx line with its bytes), ``frames``
(each "=> FRAME" with the rx chunks that made it), and ``exchanges`` (each write to the data
handle 0x0015 paired with the notification chunks the BMS sent in answer, in order; empty when the
BMS never answered, as happens in the captures). A fake BleakClient or a pty fake BMS replays them
with ``Replayer`` or ``Transcript.response_chunks(request)``.

Pairing rules (the captures interleave requests: the app sends ``FF AA 17`` before the 0x04 reply
arrives, re-sends reads that got no answer, and so on):

* an rx chunk that is one whole ``FF AA cmd len .. sum`` frame answers the latest unanswered
  ``FF AA`` write with the same command;
* other rx chunks accumulate until the next "=> FRAME" line, whose bytes they must join to
  (checked: ``TranscriptError`` otherwise); the frame answers the latest unanswered ``DD`` write
  for the same register (byte 2 of request and response alike); older unanswered writes for that
  register stay unanswered;
* rx bytes before any frame starts that belong to no frame (the lone ``00`` notification right
  after connecting) are kept in ``Transcript.stray``.

Pure: no I/O beyond reading the one text file in ``load``; no Home Assistant.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
import re
from typing import Literal

DATA_HANDLE = 0x0015  # char 0xFF02, the phone writes requests here
NOTIFY_HANDLE = 0x0011  # char 0xFF01, the BMS notifies its replies here
CCCD_HANDLE = 0x0012  # write 01 00 to enable notifications

_EVENT = re.compile(r"^(tx|rx) (WRITE|NOTIFY) handle=0x([0-9a-fA-F]{4}) len=(\d+) ([0-9a-fA-F]*)$")
_FRAME = re.compile(r"^  => FRAME (\S+)\s+reg=0x([0-9a-fA-F]{2}) ([0-9a-fA-F]+)$")
_REQUEST = re.compile(r"^  => REQUEST (\S+)\s+(\S+) reg=0x([0-9a-fA-F]{2})$")


class TranscriptError(ValueError):
    """A line that does not parse, or chunks that do not join to the frame the file states."""


@dataclass(frozen=True, slots=True)
class Event:
    """One ATT event: ``direction`` "tx" (phone -> BMS) or "rx", ``op`` "WRITE" or "NOTIFY"."""

    line: int
    direction: Literal["tx", "rx"]
    op: str
    handle: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Frame:
    """A "=> FRAME" line: the reassembled ``frame`` and the real rx ``chunks`` that made it."""

    line: int
    verdict: str
    register: int
    frame: bytes
    chunks: tuple[bytes, ...]


@dataclass(slots=True)
class Exchange:
    """A write to the data handle and the notification ``chunks`` that answered it (maybe none).

    ``kind`` is the transcript's word for a DD request ("read-req", "write-req") or "auth" for an
    ``FF AA`` login frame.
    """

    line: int
    request: bytes
    kind: str
    chunks: list[bytes] = field(default_factory=list)

    @property
    def answered(self) -> bool:
        """True when the BMS answered this request in the capture."""
        return bool(self.chunks)

    @property
    def response(self) -> bytes:
        """The answer's bytes joined (one frame), b"" when unanswered."""
        return b"".join(self.chunks)


@dataclass(slots=True)
class Transcript:
    """A parsed transcript; see the module docstring."""

    path: Path
    events: list[Event]
    frames: list[Frame]
    exchanges: list[Exchange]
    stray: list[bytes]

    def notifications(self) -> list[bytes]:
        """Every rx notification chunk on the notify handle, in capture order, as sent."""
        return [e.data for e in self.events if e.direction == "rx" and e.handle == NOTIFY_HANDLE]

    def responses_for(self, request: bytes) -> list[list[bytes]]:
        """The chunk lists of every answered exchange whose request is exactly ``request``."""
        return [list(x.chunks) for x in self.exchanges if x.request == request and x.chunks]

    def response_chunks(self, request: bytes, occurrence: int = 0) -> list[bytes]:
        """The real notification chunks the BMS sent in answer to ``request``, in order.

        ``occurrence`` picks among the answered times this exact request was sent (0 = first).
        Returns [] when the capture never has an answer to it (a fake then stays silent).
        """
        answers = self.responses_for(request)
        return answers[occurrence] if occurrence < len(answers) else []


def _auth_reply(chunk: bytes) -> bool:
    return (
        len(chunk) >= 5
        and chunk[:2] == b"\xff\xaa"
        and chunk[3] + 5 == len(chunk)
        and sum(chunk[2:-1]) & 0xFF == chunk[-1]
    )


def parse(text: str, path: Path | None = None) -> Transcript:
    """Parse a transcript's text (see the module docstring); raise TranscriptError on a bad line."""
    events: list[Event] = []
    frames: list[Frame] = []
    exchanges: list[Exchange] = []
    stray: list[bytes] = []
    pending: list[Exchange] = []  # unanswered writes, oldest first
    chunks: list[bytes] = []  # rx chunks of the DD frame being received
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if match := _EVENT.match(raw):
            direction, op, handle, length, hexdata = match.groups()
            data = bytes.fromhex(hexdata)
            if len(data) != int(length):
                raise TranscriptError(f"line {number}: len={length} but {len(data)} bytes")
            event = Event(number, "tx" if direction == "tx" else "rx", op, int(handle, 16), data)
            events.append(event)
            if direction == "tx" and op == "WRITE" and event.handle == DATA_HANDLE:
                exchange = Exchange(number, data, "auth" if data[:2] == b"\xff\xaa" else "?")
                exchanges.append(exchange)
                pending.append(exchange)
            elif direction == "rx" and event.handle == NOTIFY_HANDLE:
                if _auth_reply(data):
                    _answer(pending, data[:3], [data])
                elif chunks or data[:1] == b"\xdd":
                    chunks.append(data)
                else:
                    stray.append(data)
            continue
        if match := _FRAME.match(raw):
            verdict, register, hexframe = match.groups()
            frame = bytes.fromhex(hexframe)
            if b"".join(chunks) != frame:
                raise TranscriptError(f"line {number}: rx chunks do not join to the stated frame")
            frames.append(Frame(number, verdict, int(register, 16), frame, tuple(chunks)))
            _answer(pending, b"\xdd\xa5" + frame[1:2], chunks)
            chunks = []
            continue
        if match := _REQUEST.match(raw):
            _verdict, kind, register = match.groups()
            last = exchanges[-1] if exchanges else None
            if last is None or last.request[2] != int(register, 16):
                raise TranscriptError(f"line {number}: REQUEST line without its write")
            last.kind = kind
            continue
        raise TranscriptError(f"line {number}: cannot parse {raw!r}")
    return Transcript(path or Path(), events, frames, exchanges, stray)


def _answer(pending: list[Exchange], key: bytes, chunks: list[bytes]) -> None:
    """Give ``chunks`` to the latest pending write matching ``key`` (FF AA cmd, or DD A5 reg).

    A DD key matches reads and writes alike (``DD A5 reg`` or ``DD 5A reg``).
    """
    for index in range(len(pending) - 1, -1, -1):
        request = pending[index].request
        if request[2] != key[2]:
            continue
        if key[0] == 0xFF and request[:2] != b"\xff\xaa":
            continue
        if key[0] == 0xDD and request[:1] != b"\xdd":
            continue
        pending[index].chunks.extend(chunks)
        del pending[index]
        return


def load(path: Path | str) -> Transcript:
    """Read and parse one transcript file."""
    path = Path(path)
    return parse(path.read_text(encoding="utf-8"), path)


class Replayer:
    """Answer requests the way the captured BMS did, cycling through its recorded answers.

    ``respond(request)`` returns the chunk list of the next recorded answer to exactly that request
    (after the last one it starts again), or [] when the capture never answered it.
    """

    def __init__(self, transcript: Transcript) -> None:
        """Index the transcript's answered exchanges by request bytes."""
        self._answers: dict[bytes, list[list[bytes]]] = defaultdict(list)
        for exchange in transcript.exchanges:
            if exchange.chunks:
                self._answers[exchange.request].append(list(exchange.chunks))
        self._next: dict[bytes, int] = defaultdict(int)

    def respond(self, request: bytes) -> list[bytes]:
        """The next recorded answer's chunks for ``request``; [] when there is none."""
        answers = self._answers.get(bytes(request))
        if not answers:
            return []
        index = self._next[request] % len(answers)
        self._next[request] = index + 1
        return list(answers[index])

    @property
    def requests(self) -> list[bytes]:
        """Every request the capture has at least one answer to."""
        return list(self._answers)
