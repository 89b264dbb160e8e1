"""Charged and discharged energy of a battery, integrated from its power samples (pure).

A BMS such as JBD reports voltage and current but no energy counters, so the source integrates
power (V x A, W; positive = charging) over its poll times (s, monotonic) into two totals in Wh
that only ever grow, as Home Assistant's energy dashboard expects of total_increasing counters.
"""

from __future__ import annotations

#: Seconds in an hour: W x s / 3600 = Wh.
SECONDS_PER_HOUR = 3600.0


class EnergyIntegrator:
    """Charged and discharged energy in Wh from power samples, trapezoidal rule.

    `add(t, power)` takes a sample (t in s, monotonic; power in W, positive = charging). Between
    two consecutive samples the power is taken as linear, so a sign change splits the trapezoid at
    the zero crossing: the positive part counts as charged, the negative part as discharged. Gaps
    longer than `max_gap` seconds (the BMS stopped answering, Home Assistant restarted), and
    samples that do not move forward in time, are not integrated (counted in `gaps`): nobody knows
    what happened meanwhile.

    Worked example: 100 W for 36 s is 1 Wh charged; 100 W falling linearly to -100 W over the
    next 36 s crosses zero after 18 s, adding 0.25 Wh charged and 0.25 Wh discharged.
    """

    def __init__(
        self, charged_wh: float = 0.0, discharged_wh: float = 0.0, max_gap: float = 60.0
    ) -> None:
        """Start from restored totals (Wh); `max_gap` in s."""
        self.charged_wh = charged_wh
        self.discharged_wh = discharged_wh
        self.max_gap = max_gap
        self.gaps = 0
        self._last: tuple[float, float] | None = None

    def add(self, t: float, power: float) -> None:
        """Integrate from the previous sample to this one (t in s, power in W)."""
        last, self._last = self._last, (t, power)
        if last is None:
            return
        t0, p0 = last
        dt = t - t0
        if not 0 < dt <= self.max_gap:
            self.gaps += 1
            return
        if p0 >= 0 and power >= 0:
            self.charged_wh += (p0 + power) / 2 * dt / SECONDS_PER_HOUR
        elif p0 <= 0 and power <= 0:
            self.discharged_wh -= (p0 + power) / 2 * dt / SECONDS_PER_HOUR
        else:  # the sign changes: linear power crosses zero at t0 + tz
            tz = dt * p0 / (p0 - power)
            first = p0 / 2 * tz / SECONDS_PER_HOUR
            second = power / 2 * (dt - tz) / SECONDS_PER_HOUR
            for part in (first, second):
                if part > 0:
                    self.charged_wh += part
                else:
                    self.discharged_wh -= part

    def as_dict(self) -> dict[str, float]:
        """The totals as the energy Store keeps them: charged_wh and discharged_wh (Wh)."""
        return {"charged_wh": self.charged_wh, "discharged_wh": self.discharged_wh}
