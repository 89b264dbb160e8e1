"""battery.charge_limits: CVL, CCL and DCL the dbus-serialbattery way, on the captured batteries
(default thresholds: 3.45 V per cell, floor 2.9 V, 50 A charge and 60 A discharge per battery)."""

from __future__ import annotations

import pytest

from custom_components.victron_venus.battery.bank import PARALLEL, SERIES, Member, Thresholds
from custom_components.victron_venus.battery.charge_limits import (
    CHARGE_CELL_CURVE,
    CHARGE_TEMPERATURE_CURVE,
    DISCHARGE_CELL_CURVE,
    DISCHARGE_TEMPERATURE_CURVE,
    battery_current_fractions,
    charge_limits,
    interpolate,
    string_voltage_limit,
)
from custom_components.victron_venus.protocol import jbd
from tests.battery.captures import aft, basic, cells, fore, json_frame

FORE = Member("Fore", fore())
AFT = Member("Aft", aft())


def test_fractions_of_the_captured_batteries() -> None:
    """Fore's highest cell 3.432 V sits between 3.425 V (5 %) and 3.450 V (0.5 %) of the charge
    curve: 5 % - 4.5 % x 7/25 = 3.74 %. Aft's 3.530 V is past 3.500 V: 0. Both lowest cells
    (3.417 V) are past 3.190 V and every temperature (19-29 °C) is in 10-40 °C: 100 %."""
    assert battery_current_fractions(fore()["cells"], fore()["temperatures"]) == pytest.approx(
        (0.0374, 1.0)
    )
    assert battery_current_fractions(aft()["cells"], aft()["temperatures"]) == (0.0, 1.0)
    assert battery_current_fractions([], []) == (1.0, 1.0)


def test_series_limits_of_the_captures() -> None:
    """One string of 8 cells: 8 x 3.45 V less Aft's overshoot (13 + 71 + 80 mV) = 27.436 V; the
    lower battery's currents: Aft's 0 A charge, 60 A discharge."""
    assert charge_limits([FORE, AFT], SERIES, Thresholds()) == {
        "max_charge_voltage": 27.436,
        "max_charge_current": 0.0,
        "max_discharge_current": 60.0,
    }


def test_parallel_limits_of_the_captures() -> None:
    """Two strings of 4: Fore's 13.8 V, Aft's 13.8 - 0.164 = 13.636 V, the lower counts; twice the
    lower battery's currents."""
    assert charge_limits([FORE, AFT], PARALLEL, Thresholds()) == {
        "max_charge_voltage": 13.636,
        "max_charge_current": 0.0,
        "max_discharge_current": 120.0,
    }
    fore_only = charge_limits([FORE, Member("Fore 2", fore())], PARALLEL, Thresholds())
    assert fore_only == {
        "max_charge_voltage": 13.8,
        "max_charge_current": 3.74,  # 2 x 50 A x 3.74 %
        "max_discharge_current": 120.0,
    }


def test_the_17s_worked_example_of_the_jbd_document() -> None:
    """The JBD document's 17S pack (cells 3.783-3.791 V, 23.5-25.4 °C) with a 4.2 V cell limit:
    17 x 4.2 V = 71.4 V; its cells are past the LiFePO4 charge curve (0 A) but well inside the
    discharge curve (60 A)."""
    info = basic(json_frame("doc worked example 0x03", jbd.REG_BASIC_INFO))
    pack = {
        "cells": cells(json_frame("doc worked example 0x04", jbd.REG_CELL_VOLTAGES)),
        "temperatures": list(info.temperatures),
    }
    assert len(pack["cells"]) == info.cell_count == 17
    assert charge_limits([Member("17S", pack)], SERIES, Thresholds(cell_high=4.2)) == {
        "max_charge_voltage": 71.4,
        "max_charge_current": 0.0,
        "max_discharge_current": 60.0,
    }


def test_voltage_limit_penalty_and_floor() -> None:
    """The penalty is the sum of every cell's overshoot; the limit never goes below 2.9 V a cell."""
    th = Thresholds()
    assert string_voltage_limit(aft()["cells"], th) == pytest.approx(13.636)
    assert string_voltage_limit([4.5] * 4, th) == pytest.approx(11.6)  # 13.8 - 4.2 < 4 x 2.9


def test_unavailable_or_incomplete_members() -> None:
    """A member unavailable: 0 A both ways (a GX blocks on lost communication), voltage unknown;
    a member without cell voltages yet, or no member: everything unknown."""
    assert charge_limits([FORE, Member("Aft", None)], SERIES, Thresholds()) == {
        "max_charge_voltage": None,
        "max_charge_current": 0.0,
        "max_discharge_current": 0.0,
    }
    no_cells = Member("Aft", aft(cells=[]))
    assert set(charge_limits([FORE, no_cells], SERIES, Thresholds()).values()) == {None}
    assert set(charge_limits([], PARALLEL, Thresholds()).values()) == {None}


def test_curves_are_the_published_tables() -> None:
    """The ends and corners of the four tables, and flat beyond both ends."""
    assert interpolate(3.375, CHARGE_CELL_CURVE) == 1.0
    assert interpolate(3.4125, CHARGE_CELL_CURVE) == pytest.approx(0.15)
    assert interpolate(2.95, DISCHARGE_CELL_CURVE) == pytest.approx(0.0275)
    assert interpolate(2.0, DISCHARGE_CELL_CURVE) == 0.0
    assert interpolate(-5.0, CHARGE_TEMPERATURE_CURVE) == 0.0
    assert interpolate(47.5, CHARGE_TEMPERATURE_CURVE) == pytest.approx(0.375)
    assert interpolate(-5.0, DISCHARGE_TEMPERATURE_CURVE) == pytest.approx(0.125)
    assert interpolate(60.0, DISCHARGE_TEMPERATURE_CURVE) == 0.0
