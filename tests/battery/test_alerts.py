"""battery.alerts: the bank's alerts with hysteresis, driven by the captured batteries' cells."""

from __future__ import annotations

from custom_components.victron_venus.battery.alerts import (
    ALERTS,
    CELL_HYSTERESIS,
    IMBALANCE_CLEAR_FRACTION,
    SOC_HYSTERESIS,
    Alert,
    AlertTracker,
)
from custom_components.victron_venus.battery.bank import (
    PARALLEL,
    SERIES,
    CellMonitor,
    Member,
    Thresholds,
    cell_monitor,
)
from tests.battery.captures import aft, fore


def changes(tracker: AlertTracker, soc: float | None, monitor: CellMonitor) -> list[str]:
    return [f"{name}:{alert.active}" for name, alert in tracker.update(soc, monitor, [])]


def test_every_alert_starts_off() -> None:
    """Six alerts, in a fixed order, all inactive."""
    tracker = AlertTracker(Thresholds(), SERIES)
    assert tuple(tracker.alerts) == ALERTS == (
        "soc_warning", "soc_alarm", "cell_low", "cell_high", "imbalance", "member_unavailable",
    )  # fmt: skip
    assert list(tracker.alerts.values()) == [Alert()] * len(ALERTS)


def test_the_v13_capture_trips_cell_high_and_imbalance() -> None:
    """Series, both captures: Aft's cell 3 at 3.530 V > 3.45 V, and the 113 mV spread over the
    string > 100 mV. Back to Fore's cells only: its 3.432 V is still above 3.45 - 0.02 V, so
    cell_high stays on; its 15 mV spread is below 80 mV, so imbalance clears."""
    tracker = AlertTracker(Thresholds(), SERIES)
    both = cell_monitor([Member("Fore", fore()), Member("Aft", aft())])
    assert changes(tracker, 100, both) == ["cell_high:True", "imbalance:True"]
    assert tracker.alerts["cell_high"] == Alert(True, 3.53, 3.45, battery=1, cell=3)
    assert tracker.alerts["imbalance"] == Alert(True, 0.113, 0.1, battery=None)
    assert changes(tracker, 100, both) == []  # no flapping on the same data

    fore_only = cell_monitor([Member("Fore", fore())])
    assert changes(tracker, 100, fore_only) == ["imbalance:False"]
    assert tracker.alerts["cell_high"].active
    assert tracker.alerts["cell_high"].value == 3.432  # facts follow while active
    settled = cell_monitor([Member("Fore", fore(cells=[3.43, 3.425, 3.43, 3.417]))])
    assert changes(tracker, 100, settled) == ["cell_high:False"]


def test_parallel_imbalance_is_inside_one_battery() -> None:
    """Parallel: the 113 mV across the two batteries does not count, Aft's own 113 mV does."""
    tracker = AlertTracker(Thresholds(), PARALLEL)
    monitor = cell_monitor([Member("Fore", fore()), Member("Aft", aft())])
    assert "imbalance:True" in changes(tracker, 100, monitor)
    assert tracker.alerts["imbalance"].battery == 1
    fore_twice = cell_monitor([Member("Fore", fore()), Member("Fore 2", fore())])
    assert changes(AlertTracker(Thresholds(), PARALLEL), 100, fore_twice) == []


def test_soc_and_cell_low_hysteresis() -> None:
    """SOC clears 2 % above its limit; a low cell 20 mV above its limit; unknown keeps state."""
    assert (SOC_HYSTERESIS, CELL_HYSTERESIS, IMBALANCE_CLEAR_FRACTION) == (2.0, 0.02, 0.8)
    tracker = AlertTracker(Thresholds(), SERIES)
    none = CellMonitor()
    assert changes(tracker, 19.0, none) == ["soc_warning:True"]
    assert changes(tracker, 21.9, none) == []
    assert changes(tracker, None, none) == []
    assert changes(tracker, 22.0, none) == ["soc_warning:False"]
    assert changes(tracker, 9.5, none) == ["soc_warning:True", "soc_alarm:True"]
    low = cell_monitor([Member("Fore", fore(cells=[2.89, 2.9, 2.9, 2.9]))])
    assert changes(tracker, 50.0, low) == ["soc_warning:False", "soc_alarm:False", "cell_low:True"]
    assert tracker.alerts["cell_low"] == Alert(True, 2.89, 2.9, battery=0, cell=1)
    assert changes(tracker, 50.0, cell_monitor([Member("F", fore(cells=[2.915] * 4))])) == []
    assert changes(tracker, 50.0, cell_monitor([Member("F", fore(cells=[2.92] * 4))])) == [
        "cell_low:False"
    ]


def test_member_unavailable() -> None:
    """Any unavailable member trips it, naming the first; all back clears it."""
    tracker = AlertTracker(Thresholds(), SERIES)
    changed = tracker.update(100, CellMonitor(), [1, 2])
    assert [name for name, _ in changed] == ["member_unavailable"]
    assert tracker.alerts["member_unavailable"] == Alert(True, 2.0, None, battery=1)
    assert [(n, a.active) for n, a in tracker.update(100, CellMonitor(), [])] == [
        ("member_unavailable", False)
    ]
