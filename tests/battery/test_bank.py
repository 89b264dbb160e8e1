"""battery.bank: the two captured batteries (tests/battery/captures.py) combined in series and in
parallel, the cell monitor across them, the capacity override and missing data."""

from __future__ import annotations

from custom_components.victron_venus.battery.bank import (
    PACK_KEYS,
    PARALLEL,
    SERIES,
    CellExtreme,
    CellMonitor,
    Member,
    Thresholds,
    aggregate,
    cell_monitor,
    member_capacity,
)
from tests.battery.captures import aft, fore

#: the energy counters the JBD source keeps for each battery (kWh)
FORE = Member("Fore", fore(charged_energy=12.5, discharged_energy=10.25))
AFT = Member("Aft", aft(charged_energy=3.0, discharged_energy=2.125))


def test_series_bank_of_the_captures() -> None:
    """13.70 V + 13.93 V; the lower capacity (199.91 of 200 Ah); 4 + 4 cells; 19.1-28.6 °C."""
    assert aggregate([FORE, AFT], SERIES) == {
        "voltage": 27.63,
        "current": 0.0,
        "power": 0.0,
        "soc": 100,
        "remaining_capacity": 199.91,
        "nominal_capacity": 200.0,
        "cell_count": 8,
        "charge_fet": True,
        "discharge_fet": True,
        "temperature_min": 19.1,
        "temperature_max": 28.6,
        "charged_energy": 15.5,
        "discharged_energy": 12.375,
    }


def test_parallel_bank_of_the_captures() -> None:
    """(13.70 + 13.93) / 2 V; 279.98 + 199.91 of 280 + 200 Ah, SOC 100 x 479.89 / 480 = 100.0 %."""
    values = aggregate([FORE, AFT], PARALLEL)
    assert values["voltage"] == 13.815
    assert values["remaining_capacity"] == 479.89
    assert values["nominal_capacity"] == 480.0
    assert values["soc"] == 100.0
    assert values["cell_count"] == 4
    assert values["charged_energy"] == 15.5
    assert list(values) == list(PACK_KEYS)


def test_capacity_override() -> None:
    """Fore declared 300 Ah: remaining = 100 % x 300 Ah; its BMS's 280 Ah is ignored."""
    fore_300 = Member("Fore", FORE.data, capacity=300.0)
    assert member_capacity(fore_300) == (300.0, 300.0)
    assert member_capacity(FORE) == (279.98, 280.0)
    values = aggregate([fore_300, AFT], PARALLEL)
    assert values["nominal_capacity"] == 500.0
    assert values["remaining_capacity"] == 499.91
    assert values["soc"] == 100.0  # 100 x 499.91 / 500 = 99.982


def test_a_member_without_data_makes_every_aggregate_unknown() -> None:
    """Any member unavailable: every pack value is None, in series and in parallel alike."""
    for wiring in (SERIES, PARALLEL):
        assert aggregate([FORE, Member("Aft", None)], wiring) == dict.fromkeys(PACK_KEYS)
    assert aggregate([], SERIES) == dict.fromkeys(PACK_KEYS)


def test_cell_monitor_across_the_captures() -> None:
    """Lowest 3.417 V: Fore cell 4 (Aft's cell 4 ties; the first battery wins); highest 3.530 V:
    Aft cell 3; spread 113 mV; the largest delta inside one battery is Aft's 113 mV (Fore:
    15 mV)."""
    assert cell_monitor([FORE, AFT]) == CellMonitor(
        lowest=CellExtreme(3.417, 0, 4),
        highest=CellExtreme(3.53, 1, 3),
        spread=0.113,
        largest_delta=0.113,
        largest_delta_battery=1,
    )
    assert cell_monitor([FORE, Member("Aft", None)]) == CellMonitor(
        CellExtreme(3.417, 0, 4), CellExtreme(3.432, 0, 3), 0.015, 0.015, 0
    )
    assert cell_monitor([Member("Aft", None)]) == CellMonitor()


def test_thresholds_from_options() -> None:
    """Options override the defaults one by one (numbers or numeric text)."""
    assert Thresholds.from_options({}) == Thresholds()
    assert Thresholds.from_options({"cell_high": "3.5", "max_charge_current": 100}) == Thresholds(
        cell_high=3.5, max_charge_current=100.0
    )
