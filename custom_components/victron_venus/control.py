"""The control layer: description rows that write, the entity base that writes through its source.

Control is the read path in the other direction, and ends where it started (DESIGN.md "the
control path")::

    entity (number / select / switch / button / time)
      -> source.async_write(coordinator, row, value, ...)
      -> protocol builds the command (a GX W/ topic, a VE.Direct HEX Set, a JBD register write)
      -> transport -> device -> the device's own report confirms it -> coordinator -> entity

Rows are `VictronControlEntityDescription`s (one subclass per platform). A row names the
device path it writes (`path`, default its `key`), maps Home Assistant's value to the device's
(`to_device`) and back (`value_fn`, as every row), says which device values confirm a write
(`accept_fn`; default the written value), whether the device takes writes right now
(`writable_fn`: an "is adjustable" flag, a relay in manual mode) and, for numbers, its limits:
static (`native_min_value` / `native_max_value`), from paths of the device (`min_key` /
`max_key`) or the min/max the device reports with the value (`device_limits`).

The entity (`VictronControlEntity`) shows only what the device reported: its state comes from
the coordinator's data like any sensor's and is never set from the value it asked for. It knows
nothing of the transport: any source with `async_write` (a `ControlSource`) serves it - the
Venus GX now, VE.Direct HEX and JBD MOSFET controls later.

Errors are Home Assistant's translated exceptions (their text: strings.json `exceptions`):
`not_confirmed` (no confirmation in time), `not_connected` (the device is not connected: raised at
once), `refused` (the device reports it does not take writes now, or answered another value),
`control_off` (the entry's Control option is off) - HomeAssistantError; `out_of_range` -
ServiceValidationError, raised before anything is sent.

`WriteLog` keeps the last `WRITE_LOG_SIZE` writes of a source with their outcome, for the
diagnostics; every write is logged once at INFO (entity, path, old -> new value) by the source.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
import math
from typing import Any, Final, Protocol, runtime_checkable

from homeassistant.components.button import ButtonEntityDescription
from homeassistant.components.number import NumberEntityDescription
from homeassistant.components.select import SelectEntityDescription
from homeassistant.components.switch import SwitchEntityDescription
from homeassistant.components.time import TimeEntityDescription
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DOMAIN
from .coordinator import DeviceCoordinator, DeviceData, VictronConfigEntry
from .entity import VictronEntity, VictronEntityDescription, async_setup_platform

WRITE_LOG_SIZE: Final = 20
"""Writes a source keeps for its diagnostics (the latest, with their outcomes)."""

# translation keys of the exceptions (strings.json `exceptions` holds their text)
NOT_CONFIRMED: Final = "control_not_confirmed"
NOT_CONNECTED: Final = "control_not_connected"
REFUSED: Final = "control_refused"
CONTROL_OFF: Final = "control_off"
OUT_OF_RANGE: Final = "control_out_of_range"

# outcomes in the write log
CONFIRMED: Final = "confirmed"


@dataclass(frozen=True, kw_only=True)
class VictronControlEntityDescription(VictronEntityDescription):
    """A row that writes (see the module docstring).

    `path`: the device path written (default `key`); `to_device`: Home Assistant's value ->
    the device's (default: unchanged); `accept_fn`: device value written -> other device
    values that confirm it too (a select option that stands for several device states);
    `writable_fn`: whether the device takes writes now (checked before every write; None:
    always). Control rows write their state at once (`discrete`).
    """

    discrete: bool = True
    path: str | None = None
    to_device: Callable[[Any], Any] | None = None
    accept_fn: Callable[[Any], frozenset[Any]] | None = None
    writable_fn: Callable[[DeviceData], bool] | None = None


@dataclass(frozen=True, kw_only=True)
class VictronNumberEntityDescription(VictronControlEntityDescription, NumberEntityDescription):
    """A number row. Limits, in order of preference: the min/max the device reports with the
    value (`device_limits`, e.g. a GX settings item), the values at `min_key` / `max_key` of the
    device's data (an EV charger's MaxCurrent), `native_min_value` / `native_max_value`.
    `integer`: integral values are written as integers (D-Bus integer items)."""

    min_key: str | None = None
    max_key: str | None = None
    device_limits: bool = False
    integer: bool = False


@dataclass(frozen=True, kw_only=True)
class VictronSelectEntityDescription(VictronControlEntityDescription, SelectEntityDescription):
    """A select row. `codes`: option -> the device value written; `options_fn`: the options the
    device allows now (default: all of `options`)."""

    codes: Mapping[str, Any]
    options_fn: Callable[[DeviceData], Sequence[str]] | None = None


@dataclass(frozen=True, kw_only=True)
class VictronSwitchEntityDescription(VictronControlEntityDescription, SwitchEntityDescription):
    """A switch row: writes `on_value` / `off_value`; `value_fn` gives a bool (or None)."""

    on_value: Any = 1
    off_value: Any = 0


@dataclass(frozen=True, kw_only=True)
class VictronButtonEntityDescription(VictronControlEntityDescription, ButtonEntityDescription):
    """A button row: a press writes `press_value`; any report of the path confirms it (the
    device may reset it at once)."""

    press_value: Any = 1


@dataclass(frozen=True, kw_only=True)
class VictronTimeEntityDescription(VictronControlEntityDescription, TimeEntityDescription):
    """A time row over a duration in seconds (`value_fn` gives seconds; the time entity shows
    hours:minutes:seconds, at most 23:59:59; written back as seconds)."""


@runtime_checkable
class ControlSource(Protocol):
    """What a source that carries out writes has (the entry's runtime_data)."""

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
        """Write `value` (the device's) for `row` of `coordinator`'s device and wait for the
        device to confirm it; raise the translated errors of the module docstring."""
        ...

    def control_limits(
        self, coordinator: DeviceCoordinator, row: VictronNumberEntityDescription
    ) -> tuple[Any, Any]:
        """(min, max) the device reported with the row's value ((None, None): none)."""
        ...


# --- limits and errors ---------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if type(value) in (int, float) and math.isfinite(value):
        return float(value)
    return None


def number_limits(
    row: VictronNumberEntityDescription, data: DeviceData, reported: tuple[Any, Any]
) -> tuple[float, float]:
    """The (min, max) a number row allows now: what the device `reported` with the value, else
    the row's `min_key` / `max_key` in `data`, else its static limits (0 and 100 when it has
    none, Home Assistant's defaults)."""
    low = _number(reported[0]) if row.device_limits else None
    high = _number(reported[1]) if row.device_limits else None
    if low is None and row.min_key is not None:
        low = _number(data.get(row.min_key))
    if high is None and row.max_key is not None:
        high = _number(data.get(row.max_key))
    if low is None:
        low = row.native_min_value if row.native_min_value is not None else 0.0
    if high is None:
        high = row.native_max_value if row.native_max_value is not None else 100.0
    return float(low), float(high)


def error(key: str, **placeholders: Any) -> HomeAssistantError:
    """A translated HomeAssistantError of this integration (`key`: one of the module's)."""
    text = {k: _text(v) for k, v in placeholders.items()}
    return HomeAssistantError(
        translation_domain=DOMAIN, translation_key=key, translation_placeholders=text
    )


def out_of_range(entity: str, value: Any, low: float, high: float) -> ServiceValidationError:
    """The translated ServiceValidationError for a value outside [low, high]."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=OUT_OF_RANGE,
        translation_placeholders={
            "entity": entity,
            "value": _text(value),
            "min": _text(low),
            "max": _text(high),
        },
    )


def check_range(value: Any, limits: tuple[float, float], entity: str) -> None:
    """Raise `out_of_range` unless `value` is a finite number within `limits` (inclusive)."""
    number = _number(value)
    low, high = limits
    if number is None or not low <= number <= high:
        raise out_of_range(entity, value, low, high)


def _text(value: Any) -> str:
    """A value as the error texts show it: 16.0 -> "16", 0.5 -> "0.5", None -> "unknown"."""
    if value is None:
        return "unknown"
    if type(value) is float and value.is_integer():
        return str(int(value))
    return str(value)


def number_to_device(row: VictronNumberEntityDescription, value: float) -> int | float:
    """Home Assistant's number as the device takes it: integral values of `integer` rows as an
    int, others as a float without noise (12 significant digits)."""
    if row.integer and float(value).is_integer():
        return int(value)
    return float(f"{value:.12g}")


def seconds_to_time(value: Any) -> time | None:
    """A duration in seconds as a time of day (at most 23:59:59); None when not a number."""
    number = _number(value)
    if number is None or number < 0:
        return None
    seconds = min(int(number), 24 * 3600 - 1)
    return time(seconds // 3600, seconds % 3600 // 60, seconds % 60)


def time_to_seconds(value: time) -> int:
    """A time of day as a duration in seconds."""
    return value.hour * 3600 + value.minute * 60 + value.second


# --- the write log -------------------------------------------------------------------------------


class WriteLog:
    """The last `size` writes of a source, newest last: when, which entity and path, old and
    new value, and the outcome (`CONFIRMED` or the error's translation key)."""

    def __init__(self, size: int = WRITE_LOG_SIZE) -> None:
        """An empty log."""
        self._writes: deque[dict[str, Any]] = deque(maxlen=size)
        self.count = 0

    def add(self, entity_id: str | None, path: str, old: Any, new: Any, outcome: str) -> None:
        """Record one write (the oldest goes beyond `size`)."""
        self.count += 1
        self._writes.append(
            {
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "entity_id": entity_id,
                "path": path,
                "old": old,
                "new": new,
                "outcome": outcome,
            }
        )

    def as_list(self) -> list[dict[str, Any]]:
        """The writes, oldest first (copies)."""
        return [dict(write) for write in self._writes]


# --- the entity base -----------------------------------------------------------------------------


class VictronControlEntity(VictronEntity):
    """Base of every control entity: shows what the device reported, writes through its source.

    `_async_write(value, shown)` sends the device value `value` (`shown`: the same as Home
    Assistant shows it, for the log) and returns when the device confirmed it; the state then
    follows from the device's own report (the coordinator's push), never from `value`.
    """

    entity_description: VictronControlEntityDescription

    def _source(self) -> ControlSource | None:
        """The entry's running source when it carries out writes, else None."""
        entry = self.coordinator.config_entry
        source = entry.runtime_data if entry is not None else None
        return source if isinstance(source, ControlSource) else None

    @property
    def control_source(self) -> ControlSource:
        """The entry's running source (raises `control_off` when it does not carry out writes)."""
        source = self._source()
        if source is None:
            raise error(CONTROL_OFF, entity=self.entity_id, gx="")
        return source

    async def _async_write(self, value: Any, shown: Any) -> None:
        await self.control_source.async_write(
            self.coordinator,
            self.entity_description,
            value,
            entity_id=self.entity_id,
            old=self.current_value,
            new=shown,
        )


type SetupEntry = Callable[
    [HomeAssistant, VictronConfigEntry, AddConfigEntryEntitiesCallback], Coroutine[Any, Any, None]
]


def control_platform_setup(
    platform: Platform, entity_class: type[VictronControlEntity]
) -> SetupEntry:
    """The `async_setup_entry` of a control platform (number.py, select.py, ...): it adds an
    `entity_class` entity for each of the entry's rows on `platform` as the devices and their
    values appear (`entity.async_setup_platform`)."""

    async def async_setup_entry(
        hass: HomeAssistant,
        entry: VictronConfigEntry,
        async_add_entities: AddConfigEntryEntitiesCallback,
    ) -> None:
        """Add the platform's controls as their devices and values appear."""
        async_setup_platform(hass, entry, platform, entity_class, async_add_entities)

    return async_setup_entry


def accepted(row: VictronControlEntityDescription, value: Any) -> frozenset[Any]:
    """The device values besides `value` that confirm a write of `value` for `row`."""
    return row.accept_fn(value) if row.accept_fn is not None else frozenset()


def writable(row: VictronControlEntityDescription, data: DeviceData) -> bool:
    """Whether the device takes writes for `row` now (its `writable_fn`; a raising one: no)."""
    if row.writable_fn is None:
        return True
    try:
        return bool(row.writable_fn(data))
    except Exception:
        return False


def option_of(codes: Mapping[Any, str]) -> Callable[[Any], str | None]:
    """A reader of a select's option: the device value -> option (`codes`); None for others."""

    def read(value: Any) -> str | None:
        if type(value) is float and value.is_integer():
            value = int(value)
        try:
            return codes.get(value)
        except TypeError:
            return None

    return read
