"""Members that know only their lowest and highest cell (a GX battery service, a battery given as
entities) in the bank maths: cell monitor, charge limits, and what each member lacks."""

from __future__ import annotations

from custom_components.victron_venus.battery.bank import (
    PARALLEL,
    SERIES,
    CellExtreme,
    Member,
    Thresholds,
    cell_monitor,
    member_cells,
    member_gaps,
)
from custom_components.victron_venus.battery.charge_limits import charge_limits, member_string

JBD = {
    "voltage": 13.3, "current": -10.0, "soc": 80, "remaining_capacity": 80.0,
    "nominal_capacity": 100.0, "cell_count": 4, "cells": [3.32, 3.33, 3.33, 3.32],
    "temperatures": [15.0], "charged_energy": 1.0, "discharged_energy": 2.0,
}  # fmt: skip
GX = {"voltage": 13.28, "current": -4.2, "soc": 81.5, "cell_min": 3.31, "cell_max": 3.46}


def test_member_cells_from_the_list_or_the_extremes() -> None:
    """Cells give numbers (first on ties); extremes give their indexes when known."""
    assert member_cells(JBD) == (3.32, 1, 3.33, 2)
    assert member_cells(GX) == (3.31, None, 3.46, None)
    assert member_cells({**GX, "cell_min_index": 7, "cell_max_index": 2}) == (3.31, 7, 3.46, 2)
    assert member_cells({"cell_min": 3.3}) is None


def test_cell_monitor_spans_both_kinds() -> None:
    """The GX member's highest cell is the bank's highest, without a cell number."""
    monitor = cell_monitor([Member("Fore", JBD), Member("House", GX)])
    assert monitor.highest == CellExtreme(3.46, 1, None)
    assert monitor.lowest == CellExtreme(3.31, 1, None)
    assert monitor.spread == 0.15
    assert monitor.largest_delta == 0.15
    assert monitor.largest_delta_battery == 1


def test_charge_limits_with_a_member_of_extremes_and_a_cell_count() -> None:
    """With its cell count the GX member stands for [highest, lowest x 3]: the voltage penalty is
    the highest cell's overshoot (3.46 - 3.45), the charge current factor its highest cell's."""
    assert member_string({**GX, "cell_count": 4}) == [3.46, 3.31, 3.31, 3.31]
    assert member_string(GX) is None  # no cell count: unknown
    th = Thresholds()
    limits = charge_limits(
        [Member("Fore", JBD), Member("House", {**GX, "cell_count": 4})], SERIES, th
    )
    # 3.46 V lies a fifth of the way from 3.45 V (0.005) to 3.50 V (0): 0.004 x 50 A
    assert limits == {
        "max_charge_voltage": 27.59,
        "max_charge_current": 0.2,
        "max_discharge_current": 60.0,
    }
    assert charge_limits([Member("Fore", JBD), Member("House", GX)], PARALLEL, th) == {
        "max_charge_voltage": None,
        "max_charge_current": None,
        "max_discharge_current": None,
    }


def test_member_gaps_say_what_is_missing() -> None:
    """Each gap in the words the lacking sensor shows; a capacity override stands in."""
    assert member_gaps({**JBD, "charge_fet": True, "discharge_fet": False}) == []
    assert member_gaps(JBD) == ["FET states"]
    assert member_gaps(GX) == [
        "cell count",
        "temperature",
        "capacity",
        "energy counters",
        "FET states",
    ]
    assert member_gaps({"voltage": 1.0}, capacity=100.0) == [
        "cell voltages",
        "cell count",
        "temperature",
        "energy counters",
        "FET states",
    ]
