"""One simulated day of each capture, as the values a source pushes (for benchmarks/fidelity.py).

Each day is a `Day`: its devices (identifier, description rows per platform) and `updates()`, the
pushes in time order as (second of the day, device identifier, changed values). Deterministic
(fixed seeds). What is real and what is modelled:

- `bmv_day`: the BMV-702 capture (karioja_bvm702.dump, 906 records, two a second), decoded by
  the real parser, played forward and backward over and over for 24 h (backward legs keep the
  series continuous; the capture is 7.5 minutes long). Only the discharged-energy counter H17
  is modelled (the capture's own is constant): it integrates the capture's power -P, kept at
  the BMV's 0.01 kWh resolution.
- `jbd_day`: a 4S 100 Ah LiFePO4 battery with a JBD BMS on a boat, polled every 10 s (the
  integration's default): solar charge by day under passing clouds, house loads with a fridge
  cycling; cells from a LiFePO4 open-circuit curve plus internal resistance, per-cell offsets
  and noise; every value quantized as the BMS sends it (10 mV pack, 10 mA, 1 mV cells, 0.1 °C,
  integer %, 10 mAh). Records go through the real source's `basic_values` / `cell_values` and
  the real energy integration (`EnergyIntegrator`) at the poll times.
- `gx_day`: the boat GX of the recording (dump_c0619ab4e25c_boat_12v_gps_tanks.topics.tsv, every
  service and path with its recorded value), made to live for a day: the same kind of model
  drives its house battery (SmartShunt battery/275 and system/0), the solar charger, the
  Multi on shore power (120 V / 60 Hz, input and output), the second battery monitor, tanks,
  temperatures and the GPS at the dock; each path publishes when its value changes, at most once
  a second (as dbus-flashmq does), with the devices' own resolutions. Paths the model does not
  drive keep their recorded value (settings, history, identity).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
import itertools
import json
import math
import random
from typing import Any

from scripts.benchmarks._common import FIXTURES, REPO

DAY = 24 * 3600


@dataclass
class Device:
    """One device of a day: its identifier, name, rows per platform ("sensor", "binary_sensor"),
    and its first data."""

    identifier: str
    name: str
    rows: Mapping[str, Sequence[Any]]
    initial: dict[str, Any]


@dataclass
class Day:
    """A capture's day: devices and their pushes (second, identifier, changed values)."""

    name: str
    devices: list[Device]
    seconds: int
    updates: Any  # Callable[[], Iterator[tuple[float, str, dict[str, Any]]]]
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    #: whether each push names the keys it changed, as the source does (the GX's publishes
    #: are per path; VE.Direct and JBD give whole records)
    names_changed: bool = False


# --- BMV-702 --------------------------------------------------------------------------------------


def bmv_day(seconds: int = DAY, start: float = 0.0) -> Day:
    """The BMV-702 capture, forward and backward, for `seconds` (two records a second)."""
    import sys

    sys.path.insert(0, str(REPO))
    from custom_components.victron_venus.descriptions import vedirect as rows
    from custom_components.victron_venus.protocol.vedirect import VEDirectParser
    from tests.fakes.vedirect_device import split_records

    parser = VEDirectParser()
    records: list[dict[str, Any]] = []
    for chunk in split_records((FIXTURES / "vedirect" / "karioja_bvm702.dump").read_bytes()):
        records += [dict(record.values) for record in parser.feed(chunk)]
    step = 0.5  # the BMV sends its main and history blocks once a second each

    def updates() -> Iterator[tuple[float, str, dict[str, Any]]]:
        h17_wh = 68430.0  # the capture's H17 (68.43 kWh), in Wh
        t = 0.0
        forward = True
        while t < seconds:
            for values in records if forward else reversed(records):
                power = values.get("P")
                if type(power) is int and power < 0:
                    h17_wh += -power * step / 3600
                data = dict(values)
                if "H17" in data:
                    data["H17"] = round(math.floor(h17_wh / 10) / 100, 2)
                yield t, "bmv", data  # the source pushes every record
                t += step
                if t >= seconds:
                    return
            forward = not forward

    first = dict(records[1])
    return Day(
        "BMV-702 capture",
        [Device("bmv", "BMV", {"sensor": rows.SENSORS, "binary_sensor": rows.BINARY_SENSORS},
                first)],
        seconds,
        updates,
        "906 real records played forward and backward; H17 integrates the capture's power",
    )  # fmt: skip


# --- JBD ------------------------------------------------------------------------------------------

#: LiFePO4 open-circuit cell voltage by state of charge (%), a typical curve
LFP_OCV = [
    (0, 2.80), (5, 3.00), (10, 3.13), (20, 3.22), (30, 3.25), (40, 3.27), (50, 3.29),
    (60, 3.30), (70, 3.31), (80, 3.32), (90, 3.33), (95, 3.35), (99, 3.40), (100, 3.45),
]  # fmt: skip


def _interp(x: float, curve: list[tuple[float, float]]) -> float:
    for (x0, y0), (x1, y1) in itertools.pairwise(curve):
        if x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return curve[-1][1]


class Weather:
    """Sun and clouds over a day: `sun(t)` in 0..1 (t in s from midnight)."""

    def __init__(self, seed: int) -> None:
        rng = random.Random(seed)
        # clouds: a smooth random factor, knots every 10 minutes
        self.knots = [0.55 + 0.45 * rng.random() for _ in range(DAY // 600 + 2)]

    def sun(self, t: float) -> float:
        hour = (t % DAY) / 3600
        if not 6.0 < hour < 20.0:
            return 0.0
        clear = math.sin(math.pi * (hour - 6.0) / 14.0) ** 1.5
        k, f = divmod((t % DAY) / 600, 1)
        k = int(k)
        cloud = self.knots[k] * (1 - f) + self.knots[k + 1] * f
        return clear * cloud


class Loads:
    """House DC loads (W): a base, a fridge compressor cycling, evening use."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def power(self, t: float) -> float:
        hour = (t % DAY) / 3600
        fridge = 45.0 if (t % 1500) < 600 else 0.0  # 10 min on, 15 off
        evening = 40.0 if 18.5 < hour < 23.0 else 0.0
        morning = 120.0 if 7.0 < hour < 7.25 else 0.0  # the coffee maker
        return 22.0 + fridge + evening + morning + self.rng.gauss(0, 1.5)


def jbd_day(seconds: int = DAY, start: float = 0.0, poll: float = 10.0) -> Day:
    """A 4S 100 Ah LiFePO4 with a JBD BMS, polled every `poll` s (see the module docstring)."""
    import datetime as dt
    import sys

    sys.path.insert(0, str(REPO))
    from custom_components.victron_venus.battery.energy import EnergyIntegrator
    from custom_components.victron_venus.descriptions import jbd as rows
    from custom_components.victron_venus.protocol import jbd
    from custom_components.victron_venus.sources.jbd import basic_values, cell_values

    weather, loads = Weather(14), Loads(15)
    rng = random.Random(16)
    offsets = [0.002, -0.001, 0.0, -0.003]
    capacity = 100.0

    def record(t: float, soc: float, current: float) -> tuple[Any, Any]:
        cells = []
        for offset in offsets:
            v = _interp(soc, LFP_OCV) + current * 0.0008 + offset + rng.gauss(0, 0.0007)
            cells.append(round(v, 3))
        hour = (t % DAY) / 3600
        ambient = 18 + 6 * math.sin(math.pi * (hour - 9) / 12)
        temps = [round(ambient + d + rng.gauss(0, 0.04), 1) for d in (0.5, 0.8, 1.5)]
        basic = jbd.BasicInfo(
            voltage=round(sum(cells), 2), current=round(current, 2),
            remaining_capacity=round(capacity * soc / 100, 2), nominal_capacity=capacity,
            cycles=42, production_date=dt.date(2023, 5, 1), balancing=[False] * 4,
            protection=set(), software_version="2.3", soc=round(soc), charge_fet=True,
            discharge_fet=True, cell_count=4, temperatures=temps, balance_raw=0,
            protection_raw=0, extension=b"",
        )  # fmt: skip
        return basic, jbd.CellVoltages(cells)

    def updates() -> Iterator[tuple[float, str, dict[str, Any]]]:
        soc = 80.0
        energy = EnergyIntegrator(charged_wh=15230.0, discharged_wh=14870.0)
        t = 0.0
        while t < seconds:
            pv = 220.0 * weather.sun(start + t)
            current = (pv - loads.power(start + t)) / 13.2 + rng.gauss(0, 0.03)
            if soc >= 99.5 and current > 0:
                current = min(current, 0.5)
            soc = min(100.0, max(5.0, soc + current * poll / 3600 / capacity * 100))
            basic, cells = record(start + t, soc, current)
            energy.add(t, basic.power)
            data = {**basic_values(basic), **cell_values(cells)}
            data["charged_energy"] = round(energy.charged_wh / 1000, 6)
            data["discharged_energy"] = round(energy.discharged_wh / 1000, 6)
            yield t, "jbd", data
            t += poll

    first = next(iter(updates()))[2]
    return Day(
        "JBD poll stream",
        [Device("jbd", "JBD", {"sensor": rows.SENSORS, "binary_sensor": rows.BINARY_SENSORS},
                first)],
        seconds,
        updates,
        "synthetic 4S LiFePO4 day, polled every 10 s, the real source's value and energy code",
    )  # fmt: skip


# --- the boat GX ----------------------------------------------------------------------------------


def _recording() -> tuple[str, dict[str, dict[str, Any]]]:
    """The GX recording as {(service type/instance): {path: value}} (numbers as recorded)."""
    import sys

    sys.path.insert(0, str(REPO))
    from tests.fakes.gx_simulator import load_recording

    portal, recorded = load_recording()
    services: dict[str, dict[str, Any]] = {}
    for suffix, payload in recorded.items():
        service_type, instance, path = suffix.split("/", 2)
        try:
            value = json.loads(payload).get("value") if payload else None
        except ValueError, AttributeError:
            continue
        services.setdefault(f"{service_type}/{instance}", {})[path] = value
    return portal, services


def _q(value: float, step: float) -> float:
    """`value` on the grid of `step` (a device's resolution), as a float32-free float."""
    return round(round(value / step) * step, 6)


class BoatGx:
    """The recording's boat at the dock, alive: `step(t)` gives {service: {path: value}} of the
    values at second `t` (only the paths the model drives)."""

    def __init__(self, seed: int = 3) -> None:
        self.rng = random.Random(seed)
        self.weather = Weather(seed + 1)
        self.loads = Loads(seed + 2)
        self.soc = 92.0
        self.consumed = -8.0  # Ah
        self.charged_kwh = 226.57
        self.discharged_kwh = 228.33
        self.ah_drawn = -17214.4
        self.yield_total = 1922.4
        self.yield_today = 0.0
        self.max_power_today = 0.0
        self.vebus_in_to_out = 4.296248912811279
        self.vebus_in_to_inv = 6.40796422958374
        self.tank_levels = {"tank/20": 51.0, "tank/21": 55.0, "tank/22": 45.0}
        self.capacities = {"tank/20": 0.05299576371908188, "tank/21": 0.11356235295534134,
                           "tank/22": 0.05299576371908188}  # fmt: skip
        self.course = 270.0
        self.satellites = 31
        self.average_i = -4.9  # the monitor's time-to-go averages the current (3 minutes)
        self.charging = False

    def step(self, t: float) -> dict[str, dict[str, Any]]:
        rng = self.rng
        hour = (t % DAY) / 3600
        if t % DAY == 0:
            self.yield_today = 0.0
            self.max_power_today = 0.0
        pv = 300.0 * self.weather.sun(t) + (rng.gauss(0, 1.0) if self.weather.sun(t) > 0 else 0)
        pv = max(0.0, pv)
        load = self.loads.power(t)
        if self.soc < 85:  # the Multi charges from 85 % to 95 % (on shore power)
            self.charging = True
        elif self.soc >= 95:
            self.charging = False
        shore_charge = 15.0 if self.charging else 0.0
        battery_i = (pv - load) / 13.3 + shore_charge + rng.gauss(0, 0.05)
        if self.soc >= 100 and battery_i > 0:
            battery_i = rng.gauss(0, 0.05)
        self.soc = min(100.0, max(10.0, self.soc + battery_i / 3600 / 400 * 100))
        self.consumed = min(0.0, self.consumed + battery_i / 3600)
        ocv = 12.4 + 0.013 * self.soc
        volts = ocv + battery_i * 0.004 + rng.gauss(0, 0.004)
        power = volts * battery_i
        if power > 0:
            self.charged_kwh += power / 3.6e6
        else:
            self.discharged_kwh -= power / 3.6e6
            self.ah_drawn += battery_i / 3600
        v_q, i_q = _q(volts, 0.01), _q(battery_i, 0.1)
        p_q = _q(v_q * i_q, 0.01)
        soc_q = _q(self.soc, 0.1)
        self.average_i += (battery_i - self.average_i) / 180
        ttg = 864000.0 if self.average_i >= -0.05 else _q(
            min(864000.0, (400 - abs(self.consumed)) / -self.average_i * 3600), 60)  # fmt: skip
        self.yield_today += pv / 3.6e6
        self.yield_total += pv / 3.6e6
        self.max_power_today = max(self.max_power_today, round(pv))
        sun = self.weather.sun(t)
        pv_v = _q(35.8 + 4 * sun + rng.gauss(0, 0.05), 0.01) if sun > 0.01 else _q(
            3000 * sun, 0.01)  # fmt: skip
        ac_v = _q(120.3 + rng.gauss(0, 0.25), 0.01)
        ac_in_f = 60.0 + rng.gauss(0, 0.015)
        ac_load = (60.0 if 19 < hour < 22.5 else 0.0) + max(0.0, rng.gauss(8, 2))
        ac_out_i = _q(ac_load / ac_v, 0.01)
        charger_w = shore_charge * 13.8
        ac_in_p = round(ac_load + charger_w / 0.9)
        self.vebus_in_to_out += ac_load / 3.6e6
        self.vebus_in_to_inv += charger_w / 0.9 / 3.6e6
        temps = {
            "temperature/100": _q(34.7 + 4 * math.sin(math.pi * (hour - 10) / 12)
                                  + rng.gauss(0, 0.03), 0.005),  # engine room
            "temperature/101": _q(25.75 + 3 * math.sin(math.pi * (hour - 9) / 12)
                                  + rng.gauss(0, 0.03), 0.005),  # cabin
            "temperature/102": _q(30.4 + 5 * math.sin(math.pi * (hour - 8) / 12)
                                  + rng.gauss(0, 0.03), 0.005),  # outside
            "temperature/103": _q(6.2 + (1.2 if (t % 1500) < 600 else -0.8) * ((t % 1500) / 1500)
                                  + rng.gauss(0, 0.02), 0.005),  # the fridge
        }  # fmt: skip
        if rng.random() < 1 / 5400:  # water drawn a few times a day
            tank = rng.choice(list(self.tank_levels))
            self.tank_levels[tank] = max(0.0, self.tank_levels[tank] - rng.uniform(1, 4))
        if rng.random() < 1 / 900:
            self.satellites = max(6, min(14, self.satellites + rng.choice((-1, 1))))
        speed = _q(abs(rng.gauss(0, 0.03)), 0.001)
        if speed > 0.02:  # at rest the course over ground is the receiver's noise
            self.course = _q((270.0 + rng.gauss(0, 30)) % 360, 0.1)
        out: dict[str, dict[str, Any]] = {
            "battery/275": {
                "Dc/0/Voltage": v_q, "Dc/0/Current": i_q, "Dc/0/Power": p_q, "Soc": soc_q,
                "ConsumedAmphours": _q(self.consumed, 0.1), "TimeToGo": ttg,
                "History/ChargedEnergy": _q(self.charged_kwh, 0.01),
                "History/DischargedEnergy": _q(self.discharged_kwh, 0.01),
                "History/TotalAhDrawn": _q(self.ah_drawn, 0.1),
                "Dc/0/Temperature": _q(27 + 2 * math.sin(math.pi * (hour - 10) / 12), 1),
            },
            "battery/289": {"Dc/0/Voltage": _q(13.34 + rng.gauss(0, 0.004), 0.01)},
            "system/0": {
                "Dc/Battery/Voltage": v_q, "Dc/Battery/Current": i_q, "Dc/Battery/Power": p_q,
                "Dc/Battery/Soc": soc_q, "Dc/Battery/ConsumedAmphours": _q(self.consumed, 0.1),
                "Dc/Battery/TimeToGo": ttg,
                "Dc/Battery/State": 1 if i_q > 0.5 else 2 if i_q < -0.5 else 0,
                "Dc/Pv/Power": _q(pv, 0.01), "Dc/Pv/Current": _q(pv / v_q, 0.1),
                "Dc/System/Power": _q(load, 0.01), "Dc/System/Current": _q(load / v_q, 0.1),
                "Dc/InverterCharger/Power": round(charger_w),
                "Ac/Consumption/L1/Power": round(ac_load), "Ac/Consumption/L1/Current": ac_out_i,
                "Ac/Grid/L1/Power": ac_in_p, "Ac/ActiveIn/L1/Power": ac_in_p,
                "Dc/Battery/Temperature": _q(27 + 2 * math.sin(math.pi * (hour - 10) / 12), 1),
            },
            "solarcharger/288": {
                "Yield/Power": _q(pv, 0.01), "Pv/V": pv_v, "Dc/0/Voltage": v_q,
                "Dc/0/Current": _q(pv / v_q, 0.1), "Yield/User": _q(self.yield_total, 0.01),
                "Yield/System": _q(self.yield_total, 0.01),
                "History/Daily/0/Yield": _q(self.yield_today, 0.01),
                "History/Daily/0/MaxPower": self.max_power_today,
                "State": 3 if pv > 150 else 5 if pv > 0 else 0,
            },
            "vebus/274": {
                "Ac/ActiveIn/L1/V": ac_v, "Ac/Out/L1/V": ac_v,
                "Ac/ActiveIn/L1/F": _q(ac_in_f, 0.0001),
                "Ac/Out/L1/F": _q(ac_in_f + 0.0001, 0.0001),
                "Ac/ActiveIn/L1/I": _q(ac_in_p / ac_v, 0.01), "Ac/Out/L1/I": ac_out_i,
                "Ac/ActiveIn/L1/P": ac_in_p, "Ac/ActiveIn/P": ac_in_p,
                "Ac/Out/L1/P": round(ac_load), "Ac/Out/P": round(ac_load),
                "Ac/ActiveIn/L1/S": round(ac_in_p * 1.1), "Ac/Out/L1/S": round(ac_load * 1.2),
                "Dc/0/Voltage": v_q, "Dc/0/Current": _q(shore_charge, 0.1),
                "Dc/0/Power": round(charger_w),
                "Energy/AcIn1ToAcOut": _q(self.vebus_in_to_out, 0.0001),
                "Energy/AcIn1ToInverter": _q(self.vebus_in_to_inv, 0.0001),
                "State": 3 if shore_charge else 244,
            },
            "dcload/288": {
                "Dc/0/Voltage": v_q, "Dc/0/Current": _q(load / v_q, 0.1),
                "Dc/0/Power": _q(load, 0.01),
            },
            "gps/93": {
                "Speed": speed, "Course": self.course, "NrOfSatellites": self.satellites,
                "Altitude": _q(-31.0 + rng.gauss(0, 1.5), 0.001),
                "Position/Latitude": _q(39.0631256 + rng.gauss(0, 1.5e-6), 1e-7),
                "Position/Longitude": _q(-76.4872894 + rng.gauss(0, 1.5e-6), 1e-7),
            },
        }  # fmt: skip
        for tank, level in self.tank_levels.items():
            out[tank] = {"Level": round(level), "Remaining": _q(self.capacities[tank] * level / 100,
                                                                1e-5)}  # fmt: skip
        for service, value in temps.items():
            out[service] = {"Temperature": value}
        return out


def gx_day(seconds: int = DAY, start: float = 0.0) -> Day:
    """The boat GX, alive for `seconds` (see the module docstring)."""
    import sys

    sys.path.insert(0, str(REPO))
    from custom_components.victron_venus.descriptions import venus as rows

    portal, services = _recording()
    for service, values in BoatGx().step(start).items():  # the model's start (counters too)
        services.setdefault(service, {}).update(values)
    devices = []
    for service, data in services.items():
        service_type = service.split("/")[0]
        if service_type not in rows.SENSORS:
            continue
        devices.append(
            Device(
                service,
                service.replace("/", " "),
                {
                    "sensor": rows.SENSORS[service_type],
                    "binary_sensor": rows.BINARY_SENSORS.get(service_type, ()),
                },
                dict(data),
            )
        )
    known = {d.identifier for d in devices}

    def updates() -> Iterator[tuple[float, str, dict[str, Any]]]:
        boat = BoatGx()
        last: dict[str, dict[str, Any]] = {s: dict(d) for s, d in services.items()}
        for t in range(seconds):
            for service, values in boat.step(start + t).items():
                if service not in known:
                    continue
                before = last[service]
                changed = {k: v for k, v in values.items() if before.get(k) != v}
                if changed:
                    before.update(changed)
                    yield float(t), service, changed

    return Day(
        "boat GX recording",
        devices,
        seconds,
        updates,
        f"portal {portal}: {len(devices)} services of the recording, driven by a day model",
        names_changed=True,
    )
