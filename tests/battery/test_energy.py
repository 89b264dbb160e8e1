"""battery.energy: charged and discharged Wh from power samples, on the captures' real powers."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.victron_venus.battery.energy import EnergyIntegrator
from tests.battery.captures import basic, json_frame

#: the SP04S034 battery (4S, 5 Ah) of the UART capture at rest, and the same frame with the
#: current aiobmsble's test mock gives it (15.60 V x -2.87 A)
REST = basic(json_frame("UART capture JBD-SP04S034", 0x03)).power
LOAD = basic(json_frame("aiobmsble test mock", 0x03)).power


def test_captured_powers() -> None:
    """The samples below are what protocol.jbd decodes from the two real frames."""
    assert REST == 0.0
    assert pytest.approx(-44.772) == LOAD


def test_a_discharge_polled_every_10_s() -> None:
    """Rest, 20 s at -44.772 W, rest again (polled every 10 s): the two ramps are triangles, so
    44.772 W x 20 s = 895.44 W s = 0.248733 Wh discharged, nothing charged."""
    energy = EnergyIntegrator()
    for t, power in ((0.0, REST), (10.0, LOAD), (20.0, LOAD), (30.0, REST)):
        energy.add(t, power)
    assert energy.discharged_wh == pytest.approx(895.44 / 3600)
    assert energy.charged_wh == 0.0
    assert energy.gaps == 0
    assert energy.as_dict() == {"charged_wh": 0.0, "discharged_wh": energy.discharged_wh}


def test_a_sign_change_is_split_at_the_zero_crossing() -> None:
    """+100 W falling linearly to -300 W over 40 s crosses zero at 10 s: 100/2 W x 10 s charged
    (0.138889 Wh), 300/2 W x 30 s discharged (1.25 Wh)."""
    energy = EnergyIntegrator()
    energy.add(0.0, 100.0)
    energy.add(40.0, -300.0)
    assert energy.charged_wh == pytest.approx(500 / 3600)
    assert energy.discharged_wh == pytest.approx(1.25)


def test_gaps_and_time_going_nowhere_are_not_integrated() -> None:
    """A gap longer than max_gap (the BMS stopped answering) and a sample at the same or an
    earlier time are counted, not integrated; integration resumes from the new sample."""
    energy = EnergyIntegrator(max_gap=60.0)
    energy.add(0.0, LOAD)
    energy.add(61.0, LOAD)  # 61 s > 60 s
    energy.add(61.0, LOAD)  # no time passed
    energy.add(50.0, LOAD)  # the clock went back
    assert energy.gaps == 3
    assert energy.discharged_wh == 0.0
    energy.add(60.0, LOAD)  # 10 s at -44.772 W
    assert energy.discharged_wh == pytest.approx(447.72 / 3600)


def test_restored_totals_continue() -> None:
    """Totals restored from the Store (`as_dict`) keep counting from where they were."""
    before = EnergyIntegrator(charged_wh=1000.0, discharged_wh=2000.0)
    after = EnergyIntegrator(**before.as_dict())
    after.add(0.0, LOAD)
    after.add(10.0, LOAD)
    assert after.charged_wh == 1000.0
    assert after.discharged_wh == pytest.approx(2000.0 + 447.72 / 3600)


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0.001, max_value=120.0),
            st.floats(min_value=-5000.0, max_value=5000.0),
        ),
        max_size=50,
    )
)
def test_totals_never_go_down_and_add_up(samples: list[tuple[float, float]]) -> None:
    """Whatever the samples: both totals only grow (total_increasing counters), and without
    gaps charged - discharged is the plain trapezoidal integral of the power."""
    energy = EnergyIntegrator(max_gap=60.0)
    t = 0.0
    net = 0.0
    previous: tuple[float, float] | None = None
    for dt, power in samples:
        charged, discharged = energy.charged_wh, energy.discharged_wh
        t += dt
        energy.add(t, power)
        assert energy.charged_wh >= charged
        assert energy.discharged_wh >= discharged
        if previous is not None and 0 < t - previous[0] <= 60.0:
            net += (previous[1] + power) / 2 * (t - previous[0]) / 3600
        previous = (t, power)
    assert energy.charged_wh - energy.discharged_wh == pytest.approx(net, abs=1e-6)
