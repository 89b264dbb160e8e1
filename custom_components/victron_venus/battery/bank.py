"""Several batteries combined the way they are wired into one pack (pure).

Aggregation (`aggregate`). Series: voltages add, current is the average (the same current flows
through every battery; the average smooths their shunt errors), capacity is the lowest, cell counts
add, a FET is on only when it is on in every battery (AND). Parallel: voltage is the average,
currents add, capacities add, state of charge is capacity-weighted, a FET is on when it is on in any
battery (OR). Power is the sum of the batteries' own powers either way. A capacity override (Ah)
replaces a battery's nominal capacity and its remaining capacity becomes SOC x override.
Aggregates are None while any member has no fresh data.

Cell monitor (`cell_monitor`): the lowest and the highest cell of the bank and which battery and
cell holds them, the spread between them, and the largest cell delta inside one battery.

A member's values are the battery source's keys in SI units (sources/jbd.py): voltage V, current A
(negative = discharge), power W, soc %, remaining_capacity and nominal_capacity Ah, cell_count,
cells (V, cell 1 first), temperatures (°C), charge_fet and discharge_fet (bool), charged_energy and
discharged_energy kWh. A member that does not know its single cells (a GX battery service, a
battery given as Home Assistant entities) may give only cell_min and cell_max (V; cell_min_index
and cell_max_index when known): the cell monitor then uses those two (`member_cells`). Whatever a
member lacks leaves what needs it unknown; `member_gaps` says what each member lacks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

#: The two wirings (entry.data "wiring").
SERIES: Final = "series"
PARALLEL: Final = "parallel"

#: The keys `aggregate` returns (every one present, None when unknown).
PACK_KEYS: Final = (
    "voltage", "current", "power", "soc", "remaining_capacity", "nominal_capacity",
    "cell_count", "charge_fet", "discharge_fet", "temperature_min", "temperature_max",
    "charged_energy", "discharged_energy",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The bank's options: alert limits and per-battery current maxima.

    soc_warning and soc_alarm in %; cell_low, cell_high and imbalance in V (cell_high is also the
    charge voltage limit per cell, cell_low the floor of the charge voltage limit);
    max_charge_current and max_discharge_current in A per battery (dbus-serialbattery's
    MAX_BATTERY_CHARGE_CURRENT / MAX_BATTERY_DISCHARGE_CURRENT).
    """

    soc_warning: float = 20.0
    soc_alarm: float = 10.0
    cell_low: float = 2.9
    cell_high: float = 3.45
    imbalance: float = 0.1
    max_charge_current: float = 50.0
    max_discharge_current: float = 60.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> Thresholds:
        """Thresholds from entry.options (defaults for missing keys; numbers or numeric text).

        Raises ValueError / TypeError for a value that is not a number.
        """
        default = cls()
        return cls(
            **{
                name: float(options.get(name, getattr(default, name)))
                for name in cls.__dataclass_fields__
            }
        )


@dataclass(frozen=True, slots=True)
class Member:
    """One battery as the aggregation sees it: title, latest values (None = unavailable).

    `capacity` is the user's override of its nominal capacity in Ah (None or 0: none).
    """

    name: str
    data: Mapping[str, Any] | None
    capacity: float | None = None


def member_capacity(member: Member) -> tuple[float | None, float | None]:
    """(remaining Ah, nominal Ah) of a member, with its capacity override applied."""
    data = member.data or {}
    if member.capacity:
        soc = data.get("soc")
        return (None if soc is None else soc / 100 * member.capacity), member.capacity
    return data.get("remaining_capacity"), data.get("nominal_capacity")


def _all(values: Sequence[Any]) -> bool:
    return all(v is not None for v in values)


def aggregate(members: Sequence[Member], wiring: str) -> dict[str, Any]:
    """The bank's pack values from its members (see the module docstring); SI units.

    Keys (`PACK_KEYS`): voltage V, current A, power W, soc %, remaining_capacity and
    nominal_capacity Ah, cell_count, charge_fet, discharge_fet, temperature_min and
    temperature_max °C, charged_energy and discharged_energy kWh. Every value is None while any
    member is unavailable; a value is None while any member lacks it.
    """
    result: dict[str, Any] = dict.fromkeys(PACK_KEYS)
    if not members or any(m.data is None for m in members):
        return result
    data = [m.data or {} for m in members]

    def values(key: str) -> list[Any]:
        return [d.get(key) for d in data]

    volts, amps, watts, socs = values("voltage"), values("current"), values("power"), values("soc")
    capacities = [member_capacity(m) for m in members]
    remaining: list[Any] = [c[0] for c in capacities]
    nominal: list[Any] = [c[1] for c in capacities]
    cells = values("cell_count")
    charge, discharge = values("charge_fet"), values("discharge_fet")
    series = wiring == SERIES
    if _all(volts):
        result["voltage"] = round(sum(volts) if series else sum(volts) / len(volts), 3)
    if _all(amps):
        result["current"] = round(sum(amps) / len(amps) if series else sum(amps), 3)
    if _all(watts):
        result["power"] = round(sum(watts), 2)
    if _all(remaining) and _all(nominal):
        if series:
            result["remaining_capacity"] = round(min(remaining), 3)
            result["nominal_capacity"] = round(min(nominal), 3)
        else:
            result["remaining_capacity"] = round(sum(remaining), 3)
            result["nominal_capacity"] = round(sum(nominal), 3)
    if _all(socs):
        total = sum(nominal) if _all(nominal) else 0
        if series:
            result["soc"] = min(socs)
        elif total and _all(remaining):
            result["soc"] = round(100 * sum(remaining) / total, 1)
        else:
            result["soc"] = round(sum(socs) / len(socs), 1)
    if _all(cells):
        result["cell_count"] = sum(cells) if series else min(cells)
    if _all(charge):
        result["charge_fet"] = all(charge) if series else any(charge)
    if _all(discharge):
        result["discharge_fet"] = all(discharge) if series else any(discharge)
    temperatures = [t for d in data for t in (d.get("temperatures") or ())]
    if temperatures:
        result["temperature_min"] = min(temperatures)
        result["temperature_max"] = max(temperatures)
    for key in ("charged_energy", "discharged_energy"):
        if _all(counters := values(key)):
            result[key] = round(sum(counters), 6)
    return result


@dataclass(frozen=True, slots=True)
class CellExtreme:
    """A cell of the bank: its voltage (V), the battery's index in the bank (0-based) and the
    cell's number in its battery (1-based; None when the battery reports only its lowest and
    highest cell voltage, not which cell)."""

    voltage: float
    battery: int
    cell: int | None


def member_cells(data: Mapping[str, Any]) -> tuple[float, int | None, float, int | None] | None:
    """(lowest V, its cell number, highest V, its cell number) of one member, or None.

    From its `cells` list when it has one (numbers 1-based, ties to the first cell); else from
    `cell_min` / `cell_max` (and `cell_min_index` / `cell_max_index`, None when absent).
    """
    cells: Sequence[float] = data.get("cells") or ()
    if cells:
        low, high = min(cells), max(cells)
        return low, cells.index(low) + 1, high, cells.index(high) + 1
    low_v, high_v = data.get("cell_min"), data.get("cell_max")
    if low_v is None or high_v is None:
        return None
    return float(low_v), data.get("cell_min_index"), float(high_v), data.get("cell_max_index")


#: What a member may lack, in the words `member_gaps` uses, and what is unknown without it.
GAPS: Final = {
    "cell voltages": "cell monitor, cell alerts and charge limits",
    "cell count": "the maximum charge voltage",
    "temperature": "temperature derating of the charge limits",
    "capacity": "remaining and nominal capacity",
    "energy counters": "charged and discharged energy",
    "FET states": "the charge and discharge MOSFET states",
}


def member_gaps(data: Mapping[str, Any], capacity: float | None = None) -> list[str]:
    """What a member's values lack for the bank's features (keys of `GAPS`, in that order).

    `capacity` is the member's capacity override (Ah), which stands in for its own capacity.
    """
    gaps: list[str] = []
    if member_cells(data) is None:
        gaps.append("cell voltages")
    if not data.get("cells") and data.get("cell_count") is None:
        gaps.append("cell count")
    if not data.get("temperatures"):
        gaps.append("temperature")
    if not capacity and (
        data.get("nominal_capacity") is None or data.get("remaining_capacity") is None
    ):
        gaps.append("capacity")
    if data.get("charged_energy") is None or data.get("discharged_energy") is None:
        gaps.append("energy counters")
    if data.get("charge_fet") is None or data.get("discharge_fet") is None:
        gaps.append("FET states")
    return gaps


@dataclass(frozen=True, slots=True)
class CellMonitor:
    """Cells across the bank: extremes, spread (V), the largest delta inside one battery (V) and
    that battery's index (0-based). Every field is None when no member has cell voltages."""

    lowest: CellExtreme | None = None
    highest: CellExtreme | None = None
    spread: float | None = None
    largest_delta: float | None = None
    largest_delta_battery: int | None = None


def cell_monitor(members: Sequence[Member]) -> CellMonitor:
    """Cell extremes over every member that has cell voltages (unavailable members are skipped).

    A member's cells, or its lowest and highest cell only (`member_cells`). Voltages are rounded
    to 0.1 mV (4 decimals) where they are differences. Ties go to the first battery and the first
    cell.
    """
    lowest: CellExtreme | None = None
    highest: CellExtreme | None = None
    largest: tuple[float, int] | None = None
    for index, member in enumerate(members):
        found = member_cells(member.data or {})
        if found is None:
            continue
        low, low_cell, high, high_cell = found
        if lowest is None or low < lowest.voltage:
            lowest = CellExtreme(low, index, low_cell)
        if highest is None or high > highest.voltage:
            highest = CellExtreme(high, index, high_cell)
        delta = round(high - low, 4)
        if largest is None or delta > largest[0]:
            largest = (delta, index)
    if lowest is None or highest is None or largest is None:
        return CellMonitor()
    return CellMonitor(
        lowest, highest, round(highest.voltage - lowest.voltage, 4), largest[0], largest[1]
    )
