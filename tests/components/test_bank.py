"""The battery bank: aggregation, cell monitor, charge limits and alerts with worked numbers, then
two real JBD battery entries on ptys (the two btsnoop captures' frames) combined in Home
Assistant: states, the capture's own over-voltage cell raising an alert and a bus event, a member
unplugged and plugged back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.sources import bank as bank_module
from custom_components.victron_venus.sources.bank import (
    EVENT_ALERT,
    EVENT_ALERT_CLEARED,
    PARALLEL,
    SERIES,
    AlertTracker,
    BankSource,
    CellExtreme,
    CellMonitor,
    Member,
    Thresholds,
    aggregate,
    battery_current_fractions,
    cell_monitor,
    charge_limits,
    interpolate,
)
from custom_components.victron_venus.sources.jbd import REQUEST_BASIC, REQUEST_CELLS, JBDSource
from tests.components.bank_cells import cell_where
from tests.components.jbd_helpers import (
    expected_basic,
    expected_cells,
    fast,
    serving,
    setup_entry,
    setup_serial,
    state,
    wait_for,
)
from tests.fakes import jbd_bms as fake

A = {
    "voltage": 13.30, "current": -10.0, "power": -133.0, "soc": 80,
    "remaining_capacity": 80.0, "nominal_capacity": 100.0, "cell_count": 4,
    "cells": [3.32, 3.33, 3.33, 3.32], "temperatures": [15.0],
    "charge_fet": True, "discharge_fet": True, "charged_energy": 1.0, "discharged_energy": 2.0,
}  # fmt: skip
B = {
    "voltage": 13.20, "current": -10.2, "power": -134.64, "soc": 60,
    "remaining_capacity": 120.0, "nominal_capacity": 200.0, "cell_count": 4,
    "cells": [3.30, 3.29, 3.31, 3.30], "temperatures": [14.0, 16.0],
    "charge_fet": False, "discharge_fet": True, "charged_energy": 0.5, "discharged_energy": 0.25,
}  # fmt: skip


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    fast(monkeypatch)


def test_series_aggregation_worked_numbers() -> None:
    """Series: voltages add, current averaged, lowest capacity and SOC, cells add, FETs AND."""
    values = aggregate([Member("A", A), Member("B", B)], SERIES)
    assert values == {
        "voltage": 26.5,
        "current": -10.1,
        "power": -267.64,
        "soc": 60,
        "remaining_capacity": 80.0,
        "nominal_capacity": 100.0,
        "cell_count": 8,
        "charge_fet": False,
        "discharge_fet": True,
        "temperature_min": 14.0,
        "temperature_max": 16.0,
        "charged_energy": 1.5,
        "discharged_energy": 2.25,
    }


def test_parallel_aggregation_worked_numbers() -> None:
    """Parallel: voltage averaged, currents and capacities add, SOC weighted, FETs OR."""
    values = aggregate([Member("A", A), Member("B", B)], PARALLEL)
    assert values["voltage"] == 13.25
    assert values["current"] == -20.2
    assert values["power"] == -267.64
    assert values["remaining_capacity"] == 200.0
    assert values["nominal_capacity"] == 300.0
    assert values["soc"] == 66.7  # 100 x 200 / 300
    assert values["cell_count"] == 4
    assert values["charge_fet"] is True
    assert values["discharge_fet"] is True


def test_capacity_override() -> None:
    """B is really 150 Ah: remaining = SOC x 150 = 90 Ah."""
    members = [Member("A", A), Member("B", B, capacity=150.0)]
    parallel = aggregate(members, PARALLEL)
    assert parallel["remaining_capacity"] == 170.0
    assert parallel["nominal_capacity"] == 250.0
    assert parallel["soc"] == 68.0
    series = aggregate(members, SERIES)
    assert series["remaining_capacity"] == 80.0
    assert series["nominal_capacity"] == 100.0


def test_missing_values_and_members() -> None:
    """An unavailable member makes every aggregate unknown; a missing value only its own."""
    assert set(aggregate([Member("A", A), Member("B", None)], SERIES).values()) == {None}
    partial = dict(B, voltage=None, soc=None, temperatures=None, nominal_capacity=None)
    values = aggregate([Member("A", A), Member("B", partial)], PARALLEL)
    assert values["voltage"] is None
    assert values["soc"] is None
    assert values["remaining_capacity"] is None
    assert values["current"] == -20.2
    assert values["temperature_min"] == 15.0
    no_nominal = dict(B, nominal_capacity=None)
    assert aggregate([Member("A", A), Member("B", no_nominal)], PARALLEL)["soc"] == 70.0  # mean
    assert aggregate([], SERIES)["voltage"] is None


def test_cell_monitor_worked_numbers() -> None:
    """Lowest 3.29 V (B cell 2), highest 3.33 V (A cell 2), spread 40 mV, B's delta 20 mV."""
    cells = cell_monitor([Member("A", A), Member("B", B), Member("C", None)])
    assert cells == CellMonitor(
        lowest=CellExtreme(3.29, 1, 2),
        highest=CellExtreme(3.33, 0, 2),
        spread=0.04,
        largest_delta=0.02,
        largest_delta_battery=1,
    )
    assert cell_monitor([Member("C", None)]) == CellMonitor()


def test_charge_limit_curves() -> None:
    """dbus-serialbattery's linear curves, worked through."""
    assert interpolate(3.46, bank_module.CHARGE_CELL_CURVE) == pytest.approx(0.004)
    assert interpolate(3.30, bank_module.CHARGE_CELL_CURVE) == 1.0
    assert interpolate(3.60, bank_module.CHARGE_CELL_CURVE) == 0.0
    assert interpolate(2.95, bank_module.DISCHARGE_CELL_CURVE) == pytest.approx(0.0275)
    assert interpolate(4.0, bank_module.CHARGE_TEMPERATURE_CURVE) == pytest.approx(
        0.25 + 0.25 * 2 / 3
    )
    assert interpolate(4.0, bank_module.DISCHARGE_TEMPERATURE_CURVE) == pytest.approx(0.45)
    charge, discharge = battery_current_fractions([3.40, 3.46, 3.38, 3.39], [4.0])
    assert charge == pytest.approx(0.004)  # the cell at 3.46 V, not the 4 °C (0.417)
    assert discharge == pytest.approx(0.45)  # the 4 °C, not the cells (1.0)
    assert battery_current_fractions([], []) == (1.0, 1.0)


def test_charge_limits_worked_numbers() -> None:
    """A has a cell at 3.46 V and 4 °C, B is fine. Series: 8 x 3.45 - 0.01 V overshoot =
    27.59 V, the lowest battery's currents (0.2 A, 27 A). Parallel: A's string limits the voltage
    (13.79 V), twice the lowest battery's currents."""
    hot = dict(A, cells=[3.40, 3.46, 3.38, 3.39], temperatures=[4.0])
    members = [Member("A", hot), Member("B", B)]
    th = Thresholds()
    assert charge_limits(members, SERIES, th) == {
        "max_charge_voltage": 27.59,
        "max_charge_current": 0.2,
        "max_discharge_current": 27.0,
    }
    assert charge_limits(members, PARALLEL, th) == {
        "max_charge_voltage": 13.79,
        "max_charge_current": 0.4,
        "max_discharge_current": 54.0,
    }
    over = [Member(n, dict(A, cells=[4.5] * 4)) for n in "AB"]  # penalty 8 x 1.05 V
    assert charge_limits(over, SERIES, th)["max_charge_voltage"] == 23.2  # floor: 8 x 2.9 V
    assert charge_limits([Member("A", A), Member("B", None)], SERIES, th) == {
        "max_charge_voltage": None,
        "max_charge_current": 0.0,  # lost communication blocks, as on a GX
        "max_discharge_current": 0.0,
    }
    assert set(charge_limits([Member("A", dict(A, cells=[]))], SERIES, th).values()) == {None}
    assert set(charge_limits([], SERIES, th).values()) == {None}


def test_alerts_with_hysteresis() -> None:
    """Each alert trips at its limit and clears only a little past it on the safe side."""
    tracker = AlertTracker(Thresholds(), SERIES)
    no_cells = CellMonitor()

    def soc(value: float | None) -> list[str]:
        return [f"{n}:{a.active}" for n, a in tracker.update(value, no_cells, [])]

    assert soc(25) == []
    assert soc(19) == ["soc_warning:True"]
    assert soc(21) == []  # clears at 22 %
    assert soc(None) == []  # unknown keeps the state
    assert soc(22) == ["soc_warning:False"]
    assert soc(9) == ["soc_warning:True", "soc_alarm:True"]
    assert tracker.alerts["soc_alarm"].value == 9

    def cells(low: float, high: float, spread: float, delta: float) -> list[str]:
        monitor = CellMonitor(CellExtreme(low, 1, 3), CellExtreme(high, 0, 2), spread, delta, 1)
        return [f"{n}:{a.active}" for n, a in tracker.update(50, monitor, [])]

    assert cells(3.0, 3.4, 0.05, 0.05) == ["soc_warning:False", "soc_alarm:False"]
    assert cells(2.89, 3.4, 0.05, 0.05) == ["cell_low:True"]
    assert (tracker.alerts["cell_low"].battery, tracker.alerts["cell_low"].cell) == (1, 3)
    assert cells(2.905, 3.4, 0.05, 0.05) == []
    assert cells(2.92, 3.46, 0.05, 0.05) == ["cell_low:False", "cell_high:True"]
    assert cells(3.0, 3.44, 0.11, 0.05) == ["imbalance:True"]  # series: the spread counts
    assert cells(3.0, 3.43, 0.09, 0.2) == ["cell_high:False"]
    assert cells(3.0, 3.4, 0.08, 0.2) == ["imbalance:False"]
    assert [n for n, _ in tracker.update(50, no_cells, [1])] == ["member_unavailable"]
    assert tracker.alerts["member_unavailable"].battery == 1
    assert [n for n, _ in tracker.update(50, no_cells, [])] == ["member_unavailable"]

    parallel = AlertTracker(Thresholds(imbalance=0.05), PARALLEL)
    monitor = CellMonitor(CellExtreme(3.0, 0, 1), CellExtreme(3.3, 1, 1), 0.3, 0.06, 1)
    changed = parallel.update(50, monitor, [])
    assert [n for n, _ in changed] == ["imbalance"]  # parallel: inside one battery
    assert parallel.alerts["imbalance"].battery == 1


def test_thresholds_from_options() -> None:
    """Options override the defaults one by one."""
    th = Thresholds.from_options({"soc_warning": 30, "cell_high": "3.5"})
    assert th == Thresholds(soc_warning=30.0, cell_high=3.5)


async def _two_batteries(
    hass: HomeAssistant, tmp_path: Path, stack: Any
) -> tuple[list[MockConfigEntry], list[fake.FakeBms], list[Any]]:
    bmses = [
        fake.FakeBms(fake.transcript()),  # 280 Ah, cells 3.417-3.432 V
        fake.FakeBms(fake.transcript(fake.TRANSCRIPT_V13)),  # 200 Ah, a cell at 3.530 V
    ]
    entries, devices = [], []
    for name, bms in zip(("Fore", "Aft"), bmses, strict=True):
        device = await stack.enter_async_context(serving(tmp_path, bms, f"tty{name}"))
        entry = await setup_serial(hass, device.link, title=name, options={"poll_interval": 60})
        source: JBDSource = entry.runtime_data

        def polled(s: JBDSource = source) -> bool:
            return s.good_polls == 1

        await wait_for(polled)
        entries.append(entry)
        devices.append(device)
    return entries, bmses, devices


async def _bank(
    hass: HomeAssistant, members: list[MockConfigEntry], wiring: str, **data: Any
) -> MockConfigEntry:
    return await setup_entry(
        hass,
        unique_id=f"bank_{wiring}",
        title=f"{wiring} bank",
        data={
            "entry_type": "bank",
            "members": [m.entry_id for m in members],
            "wiring": wiring,
            **data,
        },
    )


async def test_series_bank_of_two_captured_batteries(hass: HomeAssistant, tmp_path: Path) -> None:
    """Two batteries on ptys answering with the two captures, in series: the aggregates equal the
    captured bytes combined; the V1.3 capture's cell 3 at 3.530 V raises the cell-high and the
    imbalance alerts (binary sensors and events) and sets the charge limits."""
    import contextlib

    events = async_capture_events(hass, EVENT_ALERT)
    async with contextlib.AsyncExitStack() as stack:
        (fore, aft), bmses, _ = await _two_batteries(hass, tmp_path, stack)
        bank = await _bank(hass, [fore, aft], SERIES)
        await hass.async_block_till_done()
        uid = "bank_series"
        basics = [expected_basic(b.last_answer[REQUEST_BASIC]) for b in bmses]
        cells = [expected_cells(b.last_answer[REQUEST_CELLS]) for b in bmses]
        assert float(state(hass, f"{uid}_voltage") or 0) == pytest.approx(
            basics[0]["voltage"] + basics[1]["voltage"]
        )
        assert float(state(hass, f"{uid}_current") or 0) == 0.0
        assert float(state(hass, f"{uid}_remaining_capacity") or 0) == pytest.approx(
            min(b["remaining"] for b in basics)
        )
        assert float(state(hass, f"{uid}_nominal_capacity") or 0) == 200.0
        assert state(hass, f"{uid}_cell_count") == "8"
        assert state(hass, f"{uid}_charge_fet", "binary_sensor") == "on"
        every = cells[0] + cells[1]
        assert float(state(hass, f"{uid}_highest_cell_voltage") or 0) == max(every) == 3.53
        assert cell_where(hass, f"{uid}_highest_cell_voltage") == ("Aft", 3)
        assert state(hass, f"{uid}_highest_cell") is None  # no text sensor (issue 12)
        assert float(state(hass, f"{uid}_lowest_cell_voltage") or 0) == min(every)
        assert float(state(hass, f"{uid}_cell_spread") or 0) == pytest.approx(
            max(every) - min(every)
        )
        assert state(hass, f"{uid}_largest_cell_delta_battery") == "Aft"
        penalty = sum(max(0.0, v - 3.45) for v in every)
        assert float(state(hass, f"{uid}_max_charge_voltage") or 0) == pytest.approx(
            3.45 * 8 - penalty, abs=1e-3
        )
        assert float(state(hass, f"{uid}_max_charge_current") or -1) == 0.0  # a cell > 3.5 V
        assert float(state(hass, f"{uid}_max_discharge_current") or 0) == 60.0
        assert state(hass, f"{uid}_alert_cell_high", "binary_sensor") == "on"
        assert state(hass, f"{uid}_alert_imbalance", "binary_sensor") == "on"
        assert state(hass, f"{uid}_alert_soc_warning", "binary_sensor") == "off"
        assert state(hass, f"{uid}_alert_member_unavailable", "binary_sensor") == "off"
        raised = {e.data["alert"]: e.data for e in events}
        assert set(raised) == {"cell_high", "imbalance"}
        assert raised["cell_high"] == {
            "entry_id": bank.entry_id,
            "bank": "series bank",
            "alert": "cell_high",
            "value": 3.53,
            "limit": 3.45,
            "battery": "Aft",
            "cell": 3,
        }
        assert isinstance(bank.runtime_data, BankSource)
        assert bank.runtime_data.diagnostics()["alerts"]["cell_high"] is True
        assert await hass.config_entries.async_unload(bank.entry_id)


async def test_parallel_bank_follows_members_and_their_outages(
    hass: HomeAssistant, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parallel: capacities add; a member unplugged: alert and event, aggregates unknown, current
    limits 0 A; plugged back: cleared. A member entry reloaded: the bank follows its new source."""
    import contextlib

    monkeypatch.setattr(bank_module, "STARTUP_GRACE", 0.0)
    raised = async_capture_events(hass, EVENT_ALERT)
    cleared = async_capture_events(hass, EVENT_ALERT_CLEARED)
    async with contextlib.AsyncExitStack() as stack:
        (fore, aft), bmses, devices = await _two_batteries(hass, tmp_path, stack)
        bank = await _bank(hass, [fore, aft], PARALLEL, capacities={fore.entry_id: 250.0})
        uid = "bank_parallel"
        basics = [expected_basic(b.last_answer[REQUEST_BASIC]) for b in bmses]
        assert float(state(hass, f"{uid}_voltage") or 0) == pytest.approx(
            (basics[0]["voltage"] + basics[1]["voltage"]) / 2
        )
        assert float(state(hass, f"{uid}_nominal_capacity") or 0) == 450.0  # 250 + 200
        assert float(state(hass, f"{uid}_remaining_capacity") or 0) == pytest.approx(
            250.0 * basics[0]["soc"] / 100 + basics[1]["remaining"]
        )
        assert state(hass, f"{uid}_cell_count") == "4"
        assert float(state(hass, f"{uid}_max_charge_current") or -1) == 0.0

        source = aft.runtime_data
        assert isinstance(source, JBDSource)
        freshness = source.coordinator.freshness_timeout
        source.coordinator.freshness_timeout = 0.2
        devices[1].unplug()
        await wait_for(
            lambda: state(hass, f"{uid}_alert_member_unavailable", "binary_sensor") == "on"
        )
        assert state(hass, f"{uid}_voltage") == "unknown"
        assert float(state(hass, f"{uid}_max_discharge_current") or -1) == 0.0
        assert state(hass, f"{uid}_members_available") == "1"
        assert raised[-1].data["alert"] == "member_unavailable"
        assert raised[-1].data["battery"] == "Aft"
        devices[1].replug()
        await wait_for(lambda: source.link.connected)
        assert await source.async_poll()
        await hass.async_block_till_done()
        assert state(hass, f"{uid}_alert_member_unavailable", "binary_sensor") == "off"
        assert cleared[-1].data["alert"] == "member_unavailable"
        # Aft's outage is over: its own freshness again (with 0.2 s the 1 s freshness check would
        # mark it stale at any moment below, one more bank update at a time of its choosing)
        source.coordinator.freshness_timeout = freshness

        assert await hass.config_entries.async_reload(fore.entry_id)  # a new source
        await hass.async_block_till_done()
        new_source = fore.runtime_data
        await wait_for(lambda: new_source.good_polls == 1)
        members = bank.runtime_data._members
        await wait_for(lambda: members[fore.entry_id] is new_source.coordinator)  # <= 1 s
        updates = bank.runtime_data.updates
        assert await new_source.async_poll()
        # listening to the new coordinator: its one push per poll recomputes the bank once (and
        # nothing else moves meanwhile: both members fresh, their next polls 60 s away)
        assert bank.runtime_data.updates == updates + 1
        assert await hass.config_entries.async_unload(bank.entry_id)


async def test_bank_with_a_deleted_member_sets_up_with_a_repair_issue(
    hass: HomeAssistant,
) -> None:
    """A member entry deleted: the bank sets up (its members unavailable) and raises the fixable
    repair issue (issue 12; the fix flow: tests/components/test_repairs.py)."""
    from homeassistant.helpers import issue_registry as ir

    entry = await setup_entry(
        hass,
        unique_id="bank_x",
        data={"entry_type": "bank", "members": ["gone", "also_gone"], "wiring": SERIES},
        expect_loaded=False,
    )
    assert entry.state is ConfigEntryState.LOADED
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"bank_member_missing_{entry.entry_id}")
    assert issue is not None and issue.is_fixable
    assert issue.translation_placeholders == {"bank": "House", "count": "2"}
    assert await hass.config_entries.async_unload(entry.entry_id)
