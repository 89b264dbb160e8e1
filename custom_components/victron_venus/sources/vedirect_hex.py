"""VE.Direct HEX on a `VEDirectSource`'s port: requests, values, identity, history, control.

`VEDirectHex` is the part of a VE.Direct source that speaks HEX (protocols.md §1.4):

* every HEX line the TEXT parser cuts out of the stream (`VEDirectParser.hex_lines`) goes through
  the pure `HexSession` (protocol/vedirect_hex_session.py); values of registers in the table
  (async 0xA frames and answers) land in `values` as ``hex_<register key>`` in SI units and
  reach the coordinator with the next push. Reading those lines never writes anything;
* **nothing is written to the port unless the entry's Control option is on** (default off, so a
  port stays strictly read-only, not one byte written, not even a ping). With Control on:
  identity (product id 0x0100, firmware 0x0102, serial 0x010A) and the registers of the
  device's control rows are read (HEX Get) once the device's first record arrived and then once
  a day; for MPPTs also the 31 history days (0x1050 today .. 0x106E 30 days ago), imported as
  long-term statistics (`import_history`; their sums end at the history total's system yield
  0x104F, else at TEXT H19); and writes (`async_write`) go out when a user or an
  automation asks. No pings, no polling besides that;
* `async_write` (a `control.ControlSource`): a HEX Set of the row's register, confirmed by the
  device's Set answer (flags 0, the value written) and by a Get right after it (the next value
  it reports); translated errors otherwise (control.py).

One request is in flight at a time (the session queues the others); an answer waits up to the
session's timeout (3 s: the device answers after its TEXT block, 1-2 s apart) and is asked
again twice after a timeout or a framing error (0xAAAA).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
import logging
from typing import TYPE_CHECKING, Any, Final

from homeassistant.const import Platform, UnitOfEnergy
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.util import dt as dt_util

from ..const import DOMAIN
from ..control import (
    CONFIRMED,
    OUT_OF_RANGE,
    VictronButtonEntityDescription,
    VictronControlEntityDescription,
    VictronNumberEntityDescription,
    VictronSelectEntityDescription,
    VictronSwitchEntityDescription,
    WriteLog,
    check_range,
    error,
    number_limits,
)
from ..coordinator import DeviceCoordinator
from ..descriptions.vedirect_controls import (
    ALL_CONTROLS,
    FAMILY_READS,
    IDENTITY_READS,
    family_key,
    hex_key,
    register_of,
)
from ..protocol import vedirect_hex as hexp
from ..protocol.vedirect_hex_session import (
    HexAnswered,
    HexEvent,
    HexFailed,
    HexRequest,
    HexSession,
    HexValue,
)

if TYPE_CHECKING:
    from ..transport.serial import SerialConnection

_LOGGER = logging.getLogger(__name__)

CONTROL_PLATFORMS: Final = (Platform.NUMBER, Platform.SELECT, Platform.SWITCH, Platform.BUTTON)
_ROW_TYPES: Final[dict[Platform, type[VictronControlEntityDescription]]] = {
    Platform.NUMBER: VictronNumberEntityDescription,
    Platform.SELECT: VictronSelectEntityDescription,
    Platform.SWITCH: VictronSwitchEntityDescription,
    Platform.BUTTON: VictronButtonEntityDescription,
}
READ_INTERVAL: Final = timedelta(days=1)
"""Identity, control registers and history are read again this often (Control on)."""

# translation keys of the VE.Direct control errors (strings.json `exceptions`)
NOT_CONFIRMED: Final = "vedirect_control_not_confirmed"
NOT_CONNECTED: Final = "vedirect_control_not_connected"
REFUSED: Final = "vedirect_control_refused"
CONTROL_OFF: Final = "vedirect_control_off"

ASYNC_CACHE: Final = 256
"""Async lines whose decoded value is remembered (the cache is emptied when full)."""
_MISS: Final[Any] = object()

#: seconds a HEX answer may take (module attribute: tests shorten it)
HEX_TIMEOUT = 3.0


class HexRequestFailed(Exception):
    """A HEX request got no usable answer: `reason` is a `FAIL_*` of the session or
    ``"not_connected"``."""

    def __init__(self, reason: str) -> None:
        """The failure `reason`."""
        super().__init__(reason)
        self.reason = reason


def statistic_id(identifier: str) -> str:
    """The external statistic of a device's daily solar yield: ``victron_venus:<id>_solar_yield``
    (lowercase, only a-z 0-9 _ after the colon, as the recorder requires)."""
    slug = "".join(c if c.isalnum() else "_" for c in identifier.lower())
    return f"{DOMAIN}:{slug}_solar_yield"


def history_rows(
    days: dict[int, hexp.HistoryDay], total_kwh: float | None, today: Any
) -> list[dict[str, Any]]:
    """Statistics rows of the history days (days_ago -> day), oldest first.

    One row per day at the day's local midnight: ``state`` the day's yield (kWh), ``sum`` the
    total yield at the end of that day. With `total_kwh` (the device's total now, TEXT H19 or
    0x104F) each sum is the total less the yields of the days after it, so a re-import a day
    later writes the same sums for the same days; without it the sums start at 0 with the oldest
    day. Days whose yield is not available are left out. `today`: the local date of days_ago 0.
    """
    known = {ago: day.yield_kwh for ago, day in days.items() if day.yield_kwh is not None}
    if not known:
        return []
    order = sorted(known, reverse=True)  # oldest first
    if total_kwh is not None:
        running = round(total_kwh - sum(known[ago] for ago in order), 2)
    else:
        running = 0.0
    rows: list[dict[str, Any]] = []
    for ago in order:
        running = round(running + known[ago], 2)
        date = today - timedelta(days=ago)
        start = dt_util.start_of_local_day(date)
        rows.append({"start": start, "state": known[ago], "sum": running})
    return rows


class VEDirectHex:
    """The HEX side of one VE.Direct port (see the module docstring)."""

    def __init__(
        self,
        hass: HomeAssistant,
        *,
        title: str,
        connection: SerialConnection,
        coordinator: DeviceCoordinator,
        enabled: bool,
        push: Callable[[], None],
    ) -> None:
        """HEX for `connection`; `push()` sends the merged values to the coordinator."""
        self.hass = hass
        self.title = title
        self.connection = connection
        self.coordinator = coordinator
        self.enabled = enabled
        self._push = push
        self.session = HexSession(timeout=HEX_TIMEOUT)
        self.values: dict[str, Any] = {}
        self.family: str | None = None
        self.history: dict[int, hexp.HistoryDay] = {}
        self.history_imported: list[dict[str, Any]] = []
        self.log = WriteLog()
        self.bad_values = 0
        self.reads = 0
        self._waiting: dict[HexRequest, asyncio.Future[hexp.HexMessage]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._async_cache: dict[bytes, tuple[str, Any] | None] = {}
        self._unsub_daily: CALLBACK_TYPE | None = None
        self._read_task: asyncio.Task[None] | None = None
        #: the device's total yield for the sums when 0x104F gives none (the source: TEXT H19)
        self.total_kwh: Callable[[], float | None] = lambda: None
        self.system_yield_kwh: float | None = None

    # --- rows ---------------------------------------------------------------------------------

    def descriptions(self, platform: Platform) -> Sequence[VictronControlEntityDescription]:
        """The control rows on `platform` (none with Control off); each exists only on a device
        of its family that reported its register (the rows' `exists_fn`)."""
        row_type = _ROW_TYPES.get(platform)
        if not self.enabled or row_type is None:
            return ()
        return [r for r in ALL_CONTROLS if isinstance(r, row_type)]

    # --- lines in -----------------------------------------------------------------------------

    @callback
    def feed(self, lines: Iterable[bytes]) -> bool:
        """Take HEX lines from the TEXT parser; True when a value changed.

        Async frames (``:A``) are the bulk (6-8 per record on a SmartSolar 150/70, protocols.md
        §1.9) and repeat: a line seen before is a dict lookup (`ASYNC_CACHE` lines remembered,
        the session's counter still counts it); the rest go through the session.
        """
        cache = self._async_cache
        values = self.values
        changed = False
        pending: list[bytes] = []
        for line in lines:
            if line[1:2] == b"A" and (hit := cache.get(line, _MISS)) is not _MISS:
                self.session.async_frames += 1
                if hit is not None and values.get(hit[0], _MISS) != hit[1]:
                    values[hit[0]] = hit[1]
                    changed = True
            else:
                pending.append(line)
        if pending:
            now = self.hass.loop.time()
            for line in pending:
                message = hexp.decode_line(line)
                if message is None or not message.is_async:
                    changed |= self._events(self.session.receive(message, now))
                    continue
                # an async frame answers nothing: count it as the session would, decode it once
                self.session.async_frames += 1
                if len(cache) >= ASYNC_CACHE:
                    cache.clear()
                hit = cache[line] = self._decoded(message)
                if hit is not None and values.get(hit[0], _MISS) != hit[1]:
                    values[hit[0]] = hit[1]
                    changed = True

        if self.session.busy:
            self._pump()
        return changed

    def _decoded(self, message: hexp.HexMessage) -> tuple[str, Any] | None:
        """(data key, value) of an async message, None when it carries no table value."""
        entry = hexp.REGISTERS.get(message.register or -1)
        if message.flags or entry is None or entry.kind is hexp.Kind.BYTES:
            return None
        try:
            return f"hex_{entry.key}", hexp.decode_value(entry.register, message.data)
        except hexp.HexValueError:
            self.bad_values += 1
            return None

    def _events(self, events: Iterable[HexEvent]) -> bool:
        changed = False
        for event in events:
            if isinstance(event, HexValue):
                changed |= self._value(event.register, event.data)
            elif isinstance(event, HexAnswered):
                waiting = self._waiting.pop(event.request, None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(event.message)
            else:
                self._fail(event)
        return changed

    def _fail(self, event: HexFailed) -> None:
        waiting = self._waiting.pop(event.request, None)
        if waiting is not None and not waiting.done():
            waiting.set_exception(HexRequestFailed(event.reason))

    def _value(self, register: int, data: bytes) -> bool:
        entry = hexp.REGISTERS.get(register)
        if entry is None or entry.kind is hexp.Kind.BYTES:
            return False  # records (identity, history) are decoded by their reader
        try:
            value = hexp.decode_value(register, data)
        except hexp.HexValueError:
            self.bad_values += 1
            return False
        key = f"hex_{entry.key}"
        if self.values.get(key, ...) == value:
            return False
        self.values[key] = value
        return True

    # --- lines out ----------------------------------------------------------------------------

    def _pump(self) -> None:
        """Write the next line when the session has one; time the answer."""
        loop = self.hass.loop
        line = self.session.next_line(loop.time())
        if line is not None:
            try:
                self.connection.write(line)
            except Exception as err:  # the port closed meanwhile
                _LOGGER.debug("%s: cannot write HEX: %r", self.title, err)
                self.connection_lost()
                return
        deadline = self.session.deadline()
        timer = self._timer
        if timer is not None and deadline is not None and timer.when() == deadline:
            return  # still waiting for the same answer (the common case while TEXT flows)
        if timer is not None:
            timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._on_timer)

    @callback
    def _on_timer(self) -> None:
        self._timer = None
        self._events(self.session.tick(self.hass.loop.time()))
        self._pump()

    async def async_request(self, line: bytes) -> hexp.HexMessage:
        """Send `line` (after the requests before it) and return the device's answer.

        Raises HexRequestFailed (no answer after the retries, a framing error each time, an
        unknown command, or the port not open). Never called with Control off.
        """
        if not self.enabled:
            raise HexRequestFailed("control_off")
        if not self.connection.connected:
            raise HexRequestFailed("not_connected")
        request = self.session.request(line)
        waiting: asyncio.Future[hexp.HexMessage] = self.hass.loop.create_future()
        self._waiting[request] = waiting
        self._pump()
        return await waiting

    async def async_get(self, register: int) -> hexp.HexMessage:
        """A HEX Get of `register`; its answer (flags may say the device does not have it)."""
        return await self.async_request(hexp.get(register))

    @callback
    def connection_lost(self) -> None:
        """The port closed: every request waiting fails now (not connected)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for request in self.session.cancel_all():
            waiting = self._waiting.pop(request, None)
            if waiting is not None and not waiting.done():
                waiting.set_exception(HexRequestFailed("not_connected"))

    # --- reads --------------------------------------------------------------------------------

    @callback
    def device_known(self, family: str | None, create_task: Callable[[Any, str], Any]) -> None:
        """The device's first record arrived: with Control on, read now and then daily."""
        if self.family is None:
            self.family = family
        if not self.enabled or self._unsub_daily is not None:
            return
        if family is not None:
            self.values[family_key(family)] = True

        def start(_now: Any = None) -> None:
            if self._read_task is None or self._read_task.done():
                self._read_task = create_task(self.async_read_all(), f"{DOMAIN} HEX reads")

        self._unsub_daily = async_track_time_interval(self.hass, start, READ_INTERVAL)
        start()

    async def async_read_all(self) -> None:
        """Identity, the control rows' registers and (MPPTs) the history; import the history."""
        try:
            for register in IDENTITY_READS:
                await self._read_record(register)
            await self.async_read_controls()
            if self.family == "mppt":
                await self.async_read_history()
        except HexRequestFailed as err:
            _LOGGER.info("%s: HEX reads stopped (%s)", self.title, err.reason)
        self.reads += 1
        self._push()

    async def _read_record(self, register: int) -> None:
        answer = await self.async_get(register)
        if answer.flags:
            return
        if register == 0x0100:
            self.values["hex_product_id"] = hexp.decode_product_id(answer.data)
        elif register == 0x0102:
            self.values["hex_firmware"] = hexp.decode_firmware(answer.data)
        else:
            self._value(register, answer.data)

    async def async_read_controls(self) -> None:
        """Read the registers of the device's control rows (and the MPPT's capabilities)."""
        family = self.family or ""
        registers = list(FAMILY_READS.get(family, ()))
        if family == "mppt":
            answer = await self.async_get(0x0140)
            if not answer.flags and answer.data:
                capabilities = int.from_bytes(answer.data, "little")
                self.values["hex_capabilities"] = capabilities
                if capabilities & hexp.CAPABILITY_LOAD_OUTPUT:
                    registers.append(0xEDAB)
        for register in registers:
            answer = await self.async_get(register)
            if not answer.flags:
                self._value(register, answer.data)

    async def async_read_history(self) -> None:
        """Read the history total (0x104F: the system yield, which a user cannot reset) and the
        31 history days, and import them as statistics (`import_history`)."""
        self.system_yield_kwh = None
        answer = await self.async_get(hexp.HISTORY_TOTAL)
        if not answer.flags:
            try:
                self.system_yield_kwh = hexp.decode_history_total(answer.data).yield_system_kwh
            except hexp.HexValueError:
                self.bad_values += 1
        days: dict[int, hexp.HistoryDay] = {}
        for ago in range(hexp.HISTORY_DAY_LAST - hexp.HISTORY_DAY_FIRST + 1):
            answer = await self.async_get(hexp.history_day_register(ago))
            if answer.flags:
                break  # the device keeps fewer days
            try:
                days[ago] = hexp.decode_history_day(answer.data)
            except hexp.HexValueError:
                self.bad_values += 1
        self.history = days
        self.import_history()

    @callback
    def import_history(self) -> None:
        """Import the history days as the external statistic `statistic_id` (kWh per day at
        local midnight, sums anchored at the device's total); nothing without the recorder."""
        total = self.system_yield_kwh
        rows = history_rows(
            self.history, total if total is not None else self.total_kwh(), dt_util.now().date()
        )
        self.history_imported = rows
        if not rows or "recorder" not in self.hass.config.components:
            return
        from homeassistant.components.recorder.models import (
            StatisticData,
            StatisticMeanType,
            StatisticMetaData,
        )
        from homeassistant.components.recorder.statistics import (
            async_add_external_statistics,
        )

        metadata = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=f"{self.title} solar yield",
            source=DOMAIN,
            statistic_id=statistic_id(self.coordinator.identifier),
            unit_class="energy",
            unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        )
        stats = [StatisticData(start=r["start"], state=r["state"], sum=r["sum"]) for r in rows]
        async_add_external_statistics(self.hass, metadata, stats)

    # --- writes -------------------------------------------------------------------------------

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """No limits come with a HEX value: rows name the registers holding them (min/max_key)."""
        return (None, None)

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
        """HEX Set `value` (the device's) for `row`; return once the device confirmed it.

        Raises (translated): `vedirect_control_off`, `control_out_of_range`
        (ServiceValidationError, nothing sent), `vedirect_control_not_connected`,
        `vedirect_control_not_confirmed` (no answer), `vedirect_control_refused` (flags set, or
        the device reports another value).
        """
        who = entity_id or row.key
        shown = value if new is None else new
        register = register_of(row)
        path = row.path or row.key
        if not self.enabled:
            self.log.add(who, path, old, shown, CONTROL_OFF)
            raise error(CONTROL_OFF, entity=who, device=self.title)
        if isinstance(row, VictronNumberEntityDescription):
            limits = number_limits(row, coordinator.data, (None, None))
            try:
                check_range(value, limits, who)
            except HomeAssistantError:
                self.log.add(who, path, old, shown, OUT_OF_RANGE)
                raise
        try:
            line = hexp.set_value(register, value)
        except hexp.HexValueError as err:
            self.log.add(who, path, old, shown, OUT_OF_RANGE)
            raise error(
                REFUSED, entity=who, device=self.title, path=path, value=shown, reported=old
            ) from err
        if not self.connection.connected:
            self.log.add(who, path, old, shown, NOT_CONNECTED)
            raise error(NOT_CONNECTED, entity=who, device=self.title)
        _LOGGER.info("%s: %s: %s %s -> %s", self.title, who, path, old, shown)
        failure, reported = await self._async_set_confirmed(register, line)
        self.log.add(who, path, old, shown, failure or CONFIRMED)
        self._push()
        if failure is None:
            return
        raise error(
            failure,
            entity=who,
            device=self.title,
            path=path,
            value=shown,
            reported=reported,
            seconds=f"{self.session.timeout * (self.session.retries + 1):g}",
        )

    async def _async_set_confirmed(self, register: int, line: bytes) -> tuple[str | None, Any]:
        """(the error's translation key, None when confirmed; the value the device reports):
        Set, then Get to read it back."""
        entry = hexp.REGISTERS[register]
        written = hexp.decode_line(line)
        assert written is not None and written.register is not None
        key = f"hex_{entry.key}"
        try:
            answer = await self.async_request(line)
            if answer.flags:
                return REFUSED, self.values.get(key)
            if entry.kind is hexp.Kind.COMMAND:
                return None, None
            if answer.data != written.data:
                return REFUSED, self.values.get(key)
            check = await self.async_get(register)
        except HexRequestFailed as err:
            reason = NOT_CONNECTED if err.reason == "not_connected" else NOT_CONFIRMED
            return reason, self.values.get(key)
        if check.flags or check.data != written.data:
            return REFUSED, self.values.get(key)
        return None, self.values.get(key)

    # --- life ---------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop the daily reads and fail what waits."""
        if self._unsub_daily is not None:
            self._unsub_daily()
            self._unsub_daily = None
        if self._read_task is not None:
            self._read_task.cancel()
            self._read_task = None
        self.connection_lost()

    def diagnostics(self) -> dict[str, Any]:
        """Control on/off, the identity read, the session's counters, the writes and the
        history imported (days, kWh, first and last day)."""
        s = self.session
        rows = self.history_imported
        return {
            "enabled": self.enabled,
            "family": self.family,
            "identity": {
                "product_id": f"0x{pid:04X}"
                if isinstance(pid := self.values.get("hex_product_id"), int)
                else None,
                "firmware": self.values.get("hex_firmware"),
                "serial_number": self.values.get("hex_serial_number"),
            },
            "history": {
                "statistic_id": statistic_id(self.coordinator.identifier),
                "days": len(rows),
                "kwh": round(sum(r["state"] for r in rows), 2),
                "first_day": rows[0]["start"].date().isoformat() if rows else None,
                "last_day": rows[-1]["start"].date().isoformat() if rows else None,
            },
            "session": {
                "sent": s.sent,
                "answered": s.answered,
                "timeouts": s.timeouts,
                "framing_errors": s.framing_errors,
                "failed": s.failed,
                "async_frames": s.async_frames,
                "unmatched": s.unmatched,
            },
            "bad_values": self.bad_values,
            "reads": self.reads,
            "history_days": len(self.history),
            "writes": self.log.count,
            "last": self.log.as_list(),
        }


__all__ = [
    "CONTROL_PLATFORMS",
    "HexRequestFailed",
    "VEDirectHex",
    "hex_key",
    "history_rows",
    "statistic_id",
]
