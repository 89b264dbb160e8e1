"""What a Logbook entry follows and how it decides: entry data and options as one frozen object.

Pure (standard library only) so the flow, the runtime, the replay over recorder history and the
tests read a Logbook entry the same way.

entry.data (set by the config flow and reconfigure; entity ids):
  position        device_tracker with latitude/longitude attributes, or a latitude sensor (°)
  longitude       the longitude sensor (°) when `position` is a latitude sensor, else absent
  speed           speed over ground sensor (any speed unit; converted to m/s)
  power           propulsion or battery power sensor (W or kW)
  power_kind      "propulsion" (positive = drawn) or "battery" (Victron: positive = charging,
                  so the logbook takes -P as the power drawn)
  engine          engine running: binary_sensor / switch / input_boolean (on = running) or a
                  sensor (RPM or power: > 0 = running)
  anchor          anchor alarm: binary_sensor / switch / input_boolean (on = set)
  conditions      wind, weather or any entities recorded at the start and the end of each trip
  soc, current, voltage   battery entities for the CSV export (%, A, V)

entry.options: the update interval (shared by every entry type), the detector thresholds in the
units the form shows (`THRESHOLDS`), `engine_power` (W; with a power sensor and no engine entity,
the engine counts as running while the power drawn is at least this; 0 = off) and `house_load`
(W; the power the boat draws besides propulsion, for the most economical speed; 0 = unknown) and
`fit_max_speed` (kn; the cube law is fitted on the speed bins up to this, about 0.8 x hull speed,
where the wall begins; 0 = every bin).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Final

from .detector import DetectorConfig

CONF_POSITION: Final = "position"
CONF_LONGITUDE: Final = "longitude"
CONF_SPEED: Final = "speed"
CONF_POWER: Final = "power"
CONF_POWER_KIND: Final = "power_kind"
CONF_ENGINE: Final = "engine"
CONF_ANCHOR: Final = "anchor"
CONF_CONDITIONS: Final = "conditions"
CONF_SOC: Final = "soc"
CONF_CURRENT: Final = "current"
CONF_VOLTAGE: Final = "voltage"
CONF_ENGINE_POWER: Final = "engine_power"
CONF_HOUSE_LOAD: Final = "house_load"
CONF_FIT_MAX_SPEED: Final = "fit_max_speed"

POWER_PROPULSION: Final = "propulsion"
POWER_BATTERY: Final = "battery"

#: option key -> (DetectorConfig field, factor from the form's unit to the field's unit,
#: (minimum, maximum, step, unit shown in the form))
THRESHOLDS: Final[dict[str, tuple[str, float, tuple[float, float, float, str]]]] = {
    "start_distance": ("start_distance_m", 1.0, (10, 5000, 10, "m")),
    "start_speed": ("start_speed_kn", 1.0, (0.1, 10, 0.1, "kn")),
    "start_hold": ("start_hold_s", 1.0, (0, 1800, 10, "s")),
    "stop_radius": ("stop_radius_m", 1.0, (10, 2000, 10, "m")),
    "stop_speed": ("stop_speed_kn", 1.0, (0, 5, 0.1, "kn")),
    "stop_window": ("stop_window_s", 60.0, (1, 120, 1, "min")),
    "merge_gap": ("merge_gap_s", 60.0, (0, 720, 1, "min")),
    "merge_distance": ("merge_distance_m", 1.0, (0, 5000, 10, "m")),
    "data_gap": ("gap_s", 60.0, (5, 1440, 1, "min")),
    "min_trip_distance": ("min_trip_nm", 1.0, (0, 10, 0.01, "nmi")),
    "min_trip_duration": ("min_trip_s", 60.0, (0, 120, 1, "min")),
    "max_speed": ("max_speed_kn", 1.0, (1, 100, 1, "kn")),
}
#: the other numeric options: key -> (default, (minimum, maximum, step, unit))
EXTRA_OPTIONS: Final[dict[str, tuple[float, tuple[float, float, float, str]]]] = {
    CONF_ENGINE_POWER: (0.0, (0, 100000, 10, "W")),
    CONF_HOUSE_LOAD: (0.0, (0, 10000, 1, "W")),
    CONF_FIT_MAX_SPEED: (0.0, (0, 50, 0.1, "kn")),
}


def default_options() -> dict[str, float]:
    """Every Logbook option at its default, in the form's units."""
    config = DetectorConfig()
    out = {
        key: round(getattr(config, name) / factor, 6)
        for key, (name, factor, _) in THRESHOLDS.items()
    }
    out.update({key: default for key, (default, _) in EXTRA_OPTIONS.items()})
    return out


def detector_config(options: Mapping[str, Any]) -> DetectorConfig:
    """DetectorConfig from entry.options (defaults for missing keys).

    Raises ValueError when a value is not a finite number >= 0 (DetectorConfig's own checks).
    """
    changes: dict[str, Any] = {}
    for key, (name, factor, _) in THRESHOLDS.items():
        if key in options and options[key] is not None:
            changes[name] = float(options[key]) * factor
    return replace(DetectorConfig(), **changes)


@dataclass(frozen=True, slots=True)
class LogbookSettings:
    """A Logbook entry's entity ids (None when not chosen) and its non-detector options."""

    position: str
    longitude: str | None = None
    speed: str | None = None
    power: str | None = None
    power_kind: str = POWER_PROPULSION
    engine: str | None = None
    anchor: str | None = None
    conditions: tuple[str, ...] = ()
    soc: str | None = None
    current: str | None = None
    voltage: str | None = None
    engine_power_w: float = 0.0
    house_load_w: float = 0.0
    fit_max_kn: float | None = None
    config: DetectorConfig = field(default_factory=DetectorConfig)

    @classmethod
    def from_entry(cls, data: Mapping[str, Any], options: Mapping[str, Any]) -> LogbookSettings:
        """Settings from a config entry's data and options. Raises ValueError on bad options."""

        def entity(key: str) -> str | None:
            value = data.get(key)
            return str(value) if value else None

        return cls(
            position=str(data[CONF_POSITION]),
            longitude=entity(CONF_LONGITUDE),
            speed=entity(CONF_SPEED),
            power=entity(CONF_POWER),
            power_kind=str(data.get(CONF_POWER_KIND) or POWER_PROPULSION),
            engine=entity(CONF_ENGINE),
            anchor=entity(CONF_ANCHOR),
            conditions=tuple(str(e) for e in data.get(CONF_CONDITIONS) or ()),
            soc=entity(CONF_SOC),
            current=entity(CONF_CURRENT),
            voltage=entity(CONF_VOLTAGE),
            engine_power_w=float(options.get(CONF_ENGINE_POWER) or 0.0),
            house_load_w=float(options.get(CONF_HOUSE_LOAD) or 0.0),
            fit_max_kn=float(options.get(CONF_FIT_MAX_SPEED) or 0.0) or None,
            config=detector_config(options),
        )

    @property
    def tracker(self) -> bool:
        """True when the position comes from one device_tracker (else a lat/lon sensor pair)."""
        return self.position.startswith("device_tracker.")

    @property
    def position_entities(self) -> tuple[str, ...]:
        """The entity ids that carry the position."""
        return (self.position,) if self.longitude is None else (self.position, self.longitude)

    @property
    def value_entities(self) -> tuple[str, ...]:
        """Speed, power, engine and anchor entities that are set."""
        return tuple(e for e in (self.speed, self.power, self.engine, self.anchor) if e)

    @property
    def followed(self) -> tuple[str, ...]:
        """Every entity the live logbook listens to (position, values, conditions), no repeats."""
        return tuple(
            dict.fromkeys((*self.position_entities, *self.value_entities, *self.conditions))
        )

    @property
    def has_engine(self) -> bool:
        """True when engine running time can be known (an entity or a power threshold)."""
        return self.engine is not None or (self.power is not None and self.engine_power_w > 0)

    @property
    def battery_power(self) -> bool:
        """True when `power` is battery power in Victron's sign (positive = charging)."""
        return self.power_kind == POWER_BATTERY


def option_names() -> tuple[str, ...]:
    """Every option key of a Logbook entry beside the shared update interval."""
    return (*THRESHOLDS, *EXTRA_OPTIONS)


def _check_thresholds() -> None:
    """Import-time guard: every THRESHOLDS target is a DetectorConfig field."""
    names = {f.name for f in fields(DetectorConfig)}
    missing = [name for name, _, _ in THRESHOLDS.values() if name not in names]
    if missing:  # pragma: no cover - a programming error caught by any import
        raise RuntimeError(f"THRESHOLDS names unknown DetectorConfig fields: {missing}")


_check_thresholds()
