"""What a polled battery source is: the poll loop, its bookkeeping and the energy counters.

A JBD battery (sources/jbd.py) and a BLE battery of any other family (sources/ble_battery.py)
read their BMS differently, and keep the same books, which live here once:

* The poll loop (`_run`): one `async_poll()` every `poll_interval` seconds (the entry's option,
  default `JBD_DEFAULT_POLL_INTERVAL`) until cancelled; `async_poll` lets nothing escape.
* Poll bookkeeping: `polls`, `good_polls`, failures counted by kind in `errors`, the latest in
  `last_error` (``"<kind>: <error>"``). A failure is logged once as a warning when the battery
  stops answering ("the BMS does not answer"), then at debug level; an answer after failures is
  logged once ("the BMS answers again").
* Energy: charged and discharged energy integrated from the BMS's power (W, positive =
  charging; `battery.energy.EnergyIntegrator`) on `clock`, restored from and saved to a Store
  per entry (`.storage/victron_venus.<energy_key>.<entry_id>`, at most `save_delay` seconds
  after a change through `EnergySaver`, and at unload), removed with the entry; the kWh
  counters go into every poll's values.
* The battery registry: the running source registers its coordinator, so a bank follows it.
* Diagnostics: poll interval, poll counters, errors, last error, energy totals, gaps and saves.
* Reauth: a rejected password starts Home Assistant's reauth flow once (`_start_reauth`).

Each battery source keeps what is its own: the link, the device info, what a poll reads.
"""

from __future__ import annotations

from abc import abstractmethod
import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Mapping
import logging
import time
from typing import Any, ClassVar

from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.storage import Store

from ..battery.energy import EnergyIntegrator
from ..const import DOMAIN, FRESHNESS_TIMEOUT, JBD_DEFAULT_POLL_INTERVAL
from ..coordinator import DeviceCoordinator, VictronConfigEntry, write_interval_of
from ..protocol.jbd import CellVoltages
from .base import Source
from .registry import battery_registry

__all__ = ["EnergySaver", "PolledBatterySource", "cell_values", "seed_keys"]

#: entry.options key of the poll interval (s) (shared by the JBD and BLE battery entries)
CONF_POLL_INTERVAL = "poll_interval"
#: entry.data keys of what the probe counted (cells, temperature sensors)
DATA_CELLS = "cells"
DATA_SENSORS = "temperature_sensors"
#: version of the energy counters' Store
STORE_VERSION = 1


class EnergySaver:
    """Writes a Store at most `delay` seconds after the first change of each save window.

    `schedule(data_fn)` asks for a write; the first request of a window schedules one
    `async_delay_save(…, delay)`, later requests ride along (they do not postpone it), and the
    write serialises whatever `data_fn` returns at that moment. So what is on disk is never more
    than `delay` seconds (plus one poll) behind, however often `schedule` is called. `flush()`
    writes now (unload). The same pattern as `logbook.store`.
    """

    def __init__(self, store: Store[dict[str, Any]], delay: float) -> None:
        """Debounce writes of `store` (`delay` in seconds)."""
        self.store = store
        self.delay = delay
        self.pending = False
        self.saves = 0
        self._data_fn: Callable[[], dict[str, Any]] | None = None

    def schedule(self, data_fn: Callable[[], dict[str, Any]]) -> None:
        """Write `data_fn()` within `delay` seconds (one write per window)."""
        self._data_fn = data_fn
        if self.pending:
            return
        self.pending = True
        self.store.async_delay_save(self._data, self.delay)

    def _data(self) -> dict[str, Any]:
        """Called by the Store when it writes: the window closes."""
        self.pending = False
        self.saves += 1
        assert self._data_fn is not None
        return self._data_fn()

    async def flush(self, data: dict[str, Any]) -> None:
        """Write `data` now (a pending delayed write finds nothing left to do)."""
        self.pending = False
        self.saves += 1
        await self.store.async_save(data)


def cell_values(cells: CellVoltages) -> dict[str, Any]:
    """The coordinator values of a cell voltage record: each cell, min/max/average/delta (V)."""
    voltages = cells.voltages
    data: dict[str, Any] = {"cells": list(voltages)}
    for index, value in enumerate(voltages, start=1):
        data[f"cell_voltage_{index}"] = value
    if voltages:
        low = min(voltages)
        high = max(voltages)
        data.update(
            cell_min=low,
            cell_max=high,
            cell_average=round(sum(voltages) / len(voltages), 4),
            cell_delta=round(high - low, 4),
            cell_min_index=voltages.index(low) + 1,
            cell_max_index=voltages.index(high) + 1,
        )
    return data


def seed_keys(entry_data: Mapping[str, Any]) -> dict[str, Any]:
    """Value keys known from the config flow's probe (`DATA_CELLS`, `DATA_SENSORS` counts), all
    None, so cell and temperature entities exist before the first poll."""
    keys: dict[str, Any] = {}
    if (cells := entry_data.get(DATA_CELLS)) is not None:
        keys.update(cell_values(CellVoltages([0.0] * int(cells))))
    if (sensors := entry_data.get(DATA_SENSORS)) is not None:
        keys.update({f"temperature_{n}": 0.0 for n in range(1, int(sensors) + 1)})
    return dict.fromkeys(keys)


class PolledBatterySource(Source):
    """Base of the battery sources that poll a BMS (module docstring).

    A subclass sets `energy_key`, `task_label` and `logger`, builds its coordinator with
    `_make_coordinator`, implements `async_poll` (True when the BMS answered) and `_async_close`,
    and calls `_restore_energy` and `_start_polling` from `async_start`. Its poll reports with
    `_failed(kind, err)`, `_integrate(power)`, `_energy_values()` and `_answered()`.
    """

    #: the Store key's middle part: `.storage/victron_venus.<energy_key>.<entry_id>`
    energy_key: ClassVar[str]
    #: the poll task's name: "victron_venus <task_label> <entry title>"
    task_label: ClassVar[str]
    #: the subclass module's logger (log records keep their source's logger name)
    logger: ClassVar[logging.Logger]

    coordinator: DeviceCoordinator

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry, save_delay: float) -> None:
        """Poll interval, energy integrator, Store and saver (`save_delay` s), zeroed counters."""
        super().__init__(hass, entry)
        self.poll_interval = float(entry.options.get(CONF_POLL_INTERVAL, JBD_DEFAULT_POLL_INTERVAL))
        self.energy = EnergyIntegrator(max_gap=max(60.0, 5 * self.poll_interval))
        self.store = self.energy_store(hass, entry.entry_id)
        self.saver = EnergySaver(self.store, save_delay)
        self.polls = 0
        self.good_polls = 0
        self.errors: Counter[str] = Counter()
        self.last_error: str | None = None
        self._failing = False
        self._reauth_started = False
        self._task: asyncio.Task[None] | None = None
        self._unregister: CALLBACK_TYPE | None = None
        #: the clock energy is integrated on (s, monotonic; tests replace it)
        self.clock: Callable[[], float] = time.monotonic

    @classmethod
    def energy_store(cls, hass: HomeAssistant, entry_id: str) -> Store[dict[str, Any]]:
        """The Store that keeps one battery's energy counters."""
        return Store(hass, STORE_VERSION, f"{DOMAIN}.{cls.energy_key}.{entry_id}")

    @classmethod
    async def async_remove_entry(cls, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """The entry is deleted: delete its energy counters too."""
        await cls.energy_store(hass, entry.entry_id).async_remove()

    def _make_coordinator(self, device_info: DeviceInfo, poll_time: float) -> DeviceCoordinator:
        """The battery's coordinator, seeded with the probe's keys (`seed_keys`).

        Three missed polls (plus `poll_time`, the seconds one poll may take) before the battery
        is unavailable, never less than `FRESHNESS_TIMEOUT`.
        """
        assert self.entry.unique_id is not None
        coordinator = DeviceCoordinator(
            self.hass,
            self.entry,
            identifier=self.entry.unique_id,
            device_info=device_info,
            write_interval=write_interval_of(self.entry),
            freshness_timeout=max(FRESHNESS_TIMEOUT, 3 * self.poll_interval + poll_time),
        )
        coordinator.data = seed_keys(self.entry.data)
        return coordinator

    async def _restore_energy(self) -> None:
        """Load the energy counters saved by the last run (none: they start at 0)."""
        stored = await self.store.async_load()
        if stored:
            self.energy.charged_wh = float(stored.get("charged_wh", 0.0))
            self.energy.discharged_wh = float(stored.get("discharged_wh", 0.0))

    def _create_task(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        """A background task of the entry (cancelled at unload)."""
        task: asyncio.Task[None] = self.entry.async_create_background_task(
            self.hass, coro, f"{DOMAIN} {self.task_label} {self.entry.title}"
        )
        return task

    def _start_polling(self) -> None:
        """Register the device, start the poll loop and freshness, join the battery registry."""
        self.devices[self.coordinator.identifier] = self.coordinator
        self._task = self._create_task(self._run())
        self.async_start_freshness()
        self._unregister = battery_registry(self.hass).async_register(
            self.entry.entry_id, self.coordinator
        )

    async def async_stop(self) -> None:
        """Leave the battery registry, stop polling, close the link, write the energy counters."""
        if self._unregister is not None:
            self._unregister()
            self._unregister = None
        await super().async_stop()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._async_close()
        await self.saver.flush(self.energy.as_dict())

    @abstractmethod
    async def _async_close(self) -> None:
        """Release the connection to the BMS (unload); must not raise."""

    @abstractmethod
    async def async_poll(self) -> bool:
        """One poll; True when the BMS answered in full. Must not raise."""

    async def _run(self) -> None:
        """Poll every `poll_interval` seconds until cancelled; nothing escapes."""
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            await self.async_poll()
            await asyncio.sleep(max(0.0, started + self.poll_interval - loop.time()))

    def _integrate(self, power: float) -> None:
        """Add one power reading (W, positive = charging) now; save within the save delay."""
        self.energy.add(self.clock(), power)
        self.saver.schedule(self.energy.as_dict)

    def _energy_values(self) -> dict[str, float]:
        """Our own counters (kWh): always known (restored), whatever this poll brought."""
        return {
            "charged_energy": round(self.energy.charged_wh / 1000, 6),
            "discharged_energy": round(self.energy.discharged_wh / 1000, 6),
        }

    def _error_text(self, err: BaseException) -> str:
        """How an error reads in `last_error` and the log (its message)."""
        return str(err)

    def _answered(self) -> None:
        """A good poll: counted; after failures, logged once that the BMS answers again."""
        self.good_polls += 1
        if self._failing:
            self._failing = False
            self.logger.info("%s: the BMS answers again", self.entry.title)

    def _failed(
        self, kind: str, err: BaseException, *, quiet: bool = False, exc_info: bool = False
    ) -> None:
        """A failed request or poll: counted by `kind`, the first of a run logged as a warning.

        `quiet` (an optional request): counted and logged at debug level only, and the battery
        is not marked failing by it.
        """
        self.errors[kind] += 1
        self.last_error = f"{kind}: {self._error_text(err)}"
        if quiet:
            self.logger.debug("%s: %s", self.entry.title, self.last_error)
            return
        if not self._failing:
            self._failing = True
            self.logger.warning(
                "%s: the BMS does not answer (%s); retrying every %.0f s",
                self.entry.title,
                self.last_error,
                self.poll_interval,
                exc_info=exc_info,
            )
        else:
            self.logger.debug("%s: still failing: %s", self.entry.title, self.last_error)

    def _start_reauth(self) -> None:
        """The BMS rejected the password: start Home Assistant's reauth flow (once per run)."""
        if not self._reauth_started:
            self._reauth_started = True
            self.entry.async_start_reauth(self.hass)

    def diagnostics(self) -> dict[str, Any]:
        """The devices, poll interval and counters, errors and the energy totals."""
        return {
            **super().diagnostics(),
            "poll_interval": self.poll_interval,
            "polls": self.polls,
            "good_polls": self.good_polls,
            "errors": dict(self.errors),
            "last_error": self.last_error,
            "energy": {
                **self.energy.as_dict(),
                "gaps": self.energy.gaps,
                "saves": self.saver.saves,
            },
        }
