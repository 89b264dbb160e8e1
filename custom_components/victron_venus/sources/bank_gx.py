"""A battery bank steers a GX's charging: its charge limits written to the GX's DVCC settings.

The bank option `gx_limits` names a Venus GX entry (off when unset). While it is on, the bank's
maximum charge voltage and current (CVL, CCL: battery/charge_limits.py, dbus-serialbattery's
way) are written to the GX's DVCC limits ``settings/0/Settings/SystemSetup/MaxChargeVoltage``
and ``MaxChargeCurrent`` - as dbus-serialbattery and dbus-btbattery hand a GX their batteries'
limits - through the GX entry's own writes (`VenusSource.async_write`: checked against the limits
the GX reports, confirmed by its N/ echo, logged, in its diagnostics). So the GX entry's Control
option must be on too: with Control off nothing is ever published on W/.

* When: once all members report and the limits are known; then again when CVL moved by more than
  `VOLTAGE_STEP` (0.05 V) or CCL by more than `CURRENT_STEP` (1 A), at most once per
  `MIN_INTERVAL` (30 s: a change within that waits for its end, and the latest limits go).
  Values are rounded down (0.01 V, 1 A): never above what the bank allows.
* Before the first write, the GX's settings are read and stored (a Home Assistant Store per bank:
  a restart does not mistake the bank's limits for the GX's own), and so are the limits last
  written (a reload does not write the same ones again).
* Stop, restore the stored settings and raise a repair issue (`bank_gx_<reason>`) when the bank
  loses a battery (`member_lost`), its data goes stale (no update for `STALE_AFTER` s:
  `stale`), the option is turned off or changed (`option_removed`, at the next start) or the
  bank is deleted (`bank_removed`). After a lost battery or stale data the GX follows again
  (its settings read afresh, the issue withdrawn) once every battery reports. A GX entry that is
  gone or has Control off gives its own issue (`gx_missing`, `control_off`; reload the bank
  after fixing it); nothing can be restored then.
* The bank's binary sensor ``gx_following`` is on while the GX holds the bank's last limits.

Stopping Home Assistant or reloading the bank does not restore: the GX keeps the last limits (the
conservative ones) until the bank follows again or one of the stop conditions above.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import logging
import math
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from ..control import ControlSource, VictronControlEntityDescription
from ..descriptions.venus_controls import GX_CONTROLS

_LOGGER = logging.getLogger(__name__)

CONF_GX_LIMITS: Final = "gx_limits"
"""Bank option: the Venus GX entry that follows the bank's charge limits (unset: off)."""
KEY: Final = "gx_following"
"""The bank's value (and binary sensor key): the GX holds the bank's last limits."""

VOLTAGE_PATH: Final = "settings/0/Settings/SystemSetup/MaxChargeVoltage"
CURRENT_PATH: Final = "settings/0/Settings/SystemSetup/MaxChargeCurrent"
VOLTAGE_STEP: Final = 0.05
CURRENT_STEP: Final = 1.0
MIN_INTERVAL = 30.0
"""Seconds between two writes at least (module attribute: tests shorten it)."""
STALE_AFTER = 300.0
"""Seconds without a bank update after which its data counts as stale."""
RETRY = 10.0
"""Seconds before trying again when the GX is not ready (no data yet, not connected)."""

MEMBER_LOST: Final = "member_lost"
STALE: Final = "stale"
OPTION_REMOVED: Final = "option_removed"
BANK_REMOVED: Final = "bank_removed"
GX_MISSING: Final = "gx_missing"
CONTROL_OFF: Final = "control_off"
RESTORE_FAILED: Final = "restore_failed"
REASONS: Final = (
    MEMBER_LOST,
    STALE,
    OPTION_REMOVED,
    BANK_REMOVED,
    GX_MISSING,
    CONTROL_OFF,
    RESTORE_FAILED,
)
"""The repair issues' reasons (translation keys ``bank_gx_<reason>``)."""

_ROWS: Final = {row.key: row for row in GX_CONTROLS}


def gx_entry_of(options: Any) -> str | None:
    """The GX entry id a bank's options name, or None (off)."""
    value = options.get(CONF_GX_LIMITS)
    return value if isinstance(value, str) and value else None


def issue_id(bank_entry_id: str) -> str:
    """The repair issue of a bank's GX link (one per bank; its translation key says why)."""
    return f"bank_gx_{bank_entry_id}"


def _store(hass: HomeAssistant, bank_entry_id: str) -> Store[dict[str, Any]]:
    return Store(hass, 1, f"{DOMAIN}.bank_gx_{bank_entry_id}")


def _gx_controls(hass: HomeAssistant, gx_entry_id: str) -> tuple[Any, Any] | None:
    """(the GX source, its GX controls coordinator) when the GX entry runs with Control on and
    has published its settings; None otherwise."""
    entry = hass.config_entries.async_get_entry(gx_entry_id)
    source = getattr(entry, "runtime_data", None) if entry is not None else None
    control = getattr(source, "control", None)
    if not isinstance(source, ControlSource) or control is None:
        return None
    coordinator = getattr(control, "gx_coordinator", None)
    if coordinator is None:
        return None
    return source, coordinator


def _floor(value: float, digits: int) -> float:
    factor = 10.0**digits
    return math.floor(value * factor + 1e-9) / factor


class BankGxLink:
    """One bank's link to its GX (see the module docstring). `refresh` recomputes the bank."""

    def __init__(
        self, hass: HomeAssistant, entry: ConfigEntry, refresh: Callable[[], None]
    ) -> None:
        """The link of bank `entry` (idle when its option is off)."""
        self.hass = hass
        self.entry = entry
        self.gx_entry_id = gx_entry_of(entry.options)
        self._refresh = refresh
        self._store = _store(hass, entry.entry_id)
        #: the GX's own settings before the bank: {"gx", "voltage", "current"} (stored)
        self.previous: dict[str, Any] | None = None
        self.following = False
        self.stopped: str | None = None
        self.wanted: tuple[float, float] | None = None
        self.written: tuple[float, float] | None = None
        self.writes = 0
        self._cooldown: CALLBACK_TYPE | None = None
        self._stale: CALLBACK_TYPE | None = None
        self._retry: CALLBACK_TYPE | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def enabled(self) -> bool:
        """Whether the bank's option names a GX."""
        return self.gx_entry_id is not None

    async def async_start(self) -> None:
        """Load the stored GX settings; restore them when the option was turned off or now
        names another GX."""
        stored = await self._store.async_load()
        if stored is not None and stored.get("gx") != self.gx_entry_id:
            await self._async_restore(stored, OPTION_REMOVED)
            stored = None
        self.previous = (
            {k: v for k, v in stored.items() if k != "written"} if stored is not None else None
        )
        if stored is not None and isinstance(stored.get("written"), list):
            self.written = (float(stored["written"][0]), float(stored["written"][1]))
        if self.enabled:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))

    @callback
    def async_stop(self) -> None:
        """Stop timers and writes (the GX keeps the last limits; see the module docstring)."""
        for unsub in (self._cooldown, self._stale, self._retry):
            if unsub is not None:
                unsub()
        self._cooldown = self._stale = self._retry = None
        if self._task is not None and not self._task.done():
            self._task.cancel()

    # --- the bank's updates ---------------------------------------------------------------------

    @callback
    def update(self, values: dict[str, Any], unavailable: list[int]) -> None:
        """A bank recompute: set `values[KEY]`; stop when a member is unavailable (once the GX
        followed); follow again once every member reports after a lost member or stale data;
        else note the limits and write them when due."""
        if not self.enabled:
            return
        if unavailable:
            if self.stopped is None and (self.following or self.previous is not None):
                self._stop(MEMBER_LOST)
        elif self.stopped in (MEMBER_LOST, STALE) and not self._busy():
            _LOGGER.info(
                "%s: every battery reports again; the GX follows the bank", self.entry.title
            )
            self.stopped = None
            self.written = None
            ir.async_delete_issue(self.hass, DOMAIN, issue_id(self.entry.entry_id))
        if self.stopped is None and not unavailable:
            voltage = values.get("max_charge_voltage")
            current = values.get("max_charge_current")
            if isinstance(voltage, (int, float)) and isinstance(current, (int, float)):
                self.wanted = (_floor(voltage, 2), float(math.floor(current + 1e-9)))
                self._arm_stale()
                self._due()
        values[KEY] = self.following

    def _busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _arm_stale(self) -> None:
        if self._stale is not None:
            self._stale()
        self._stale = async_call_later(
            self.hass, STALE_AFTER, HassJob(self._went_stale, cancel_on_shutdown=True)
        )

    @callback
    def _went_stale(self, _now: Any) -> None:
        self._stale = None
        if self.stopped is None:
            self._stop(STALE)
            self._refresh()

    def _changed_enough(self) -> bool:
        if self.wanted is None:
            return False
        if self.written is None:
            return True
        return (
            abs(self.wanted[0] - self.written[0]) > VOLTAGE_STEP + 1e-9
            or abs(self.wanted[1] - self.written[1]) > CURRENT_STEP + 1e-9
        )

    @callback
    def _due(self) -> None:
        """Write now when the limits moved enough, no write runs and no cooldown holds."""
        if self.stopped is not None or self._cooldown is not None or self._retry is not None:
            return
        if self._busy():
            return
        if not self._changed_enough():
            return
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_send(), f"{DOMAIN} bank {self.entry.entry_id} to GX"
        )

    @callback
    def _cooled(self, _now: Any) -> None:
        self._cooldown = None
        self._due()

    @callback
    def _retried(self, _now: Any) -> None:
        self._retry = None
        self._due()

    def diagnostics(self) -> dict[str, Any]:
        """Whether a GX follows, why it stopped, the last limits written and how many times."""
        return {
            "enabled": self.enabled,
            "following": self.following,
            "stopped": self.stopped,
            "written": list(self.written) if self.written else None,
            "writes": self.writes,
            "previous_stored": self.previous is not None,
        }

    # --- writing --------------------------------------------------------------------------------

    async def _async_write(self, source: Any, coordinator: Any, path: str, value: float) -> None:
        row: VictronControlEntityDescription = _ROWS[path]
        device_value: int | float = int(value) if path == CURRENT_PATH else value
        await source.async_write(
            coordinator,
            row,
            device_value,
            entity_id=f"{self.entry.title} (bank)",
            old=coordinator.data.get(path),
            new=device_value,
        )

    async def _async_send(self) -> None:
        """Read and store the GX's settings (first time), then write the wanted limits."""
        assert self.gx_entry_id is not None
        found = _gx_controls(self.hass, self.gx_entry_id)
        if found is None:
            gx = self.hass.config_entries.async_get_entry(self.gx_entry_id)
            if gx is None:
                self._stop(GX_MISSING)
            elif not getattr(
                getattr(getattr(gx, "runtime_data", None), "control", None), "enabled", False
            ):
                self._stop(CONTROL_OFF)
            else:  # the GX has not published its settings yet
                self._later()
            self._refresh()
            return
        source, coordinator = found
        if self.previous is None:
            voltage = coordinator.data.get(VOLTAGE_PATH)
            current = coordinator.data.get(CURRENT_PATH)
            if voltage is None or current is None:
                self._later()
                return
            self.previous = {"gx": self.gx_entry_id, "voltage": voltage, "current": current}
            await self._store.async_save(self.previous)
        wanted = self.wanted
        assert wanted is not None
        try:
            await self._async_write(source, coordinator, VOLTAGE_PATH, wanted[0])
            await self._async_write(source, coordinator, CURRENT_PATH, wanted[1])
        except HomeAssistantError as err:
            key = getattr(err, "translation_key", None)
            _LOGGER.warning("%s: the GX did not take the bank's limits: %s", self.entry.title, err)
            self.following = False
            if key == "control_off":
                self._stop(CONTROL_OFF)
            else:
                self._later()
            self._refresh()
            return
        self.written = wanted
        self.writes += 1
        if self.previous is not None:  # a reload does not write the same limits again
            await self._store.async_save({**self.previous, "written": list(wanted)})
        self.following = True
        self._cooldown = async_call_later(
            self.hass, MIN_INTERVAL, HassJob(self._cooled, cancel_on_shutdown=True)
        )
        self._refresh()

    def _later(self) -> None:
        if self._retry is None:
            self._retry = async_call_later(
                self.hass, RETRY, HassJob(self._retried, cancel_on_shutdown=True)
            )

    # --- stopping -------------------------------------------------------------------------------

    @callback
    def _stop(self, reason: str) -> None:
        """Stop following for `reason`; restore the GX's settings (in the background). A bank
        that never wrote to the GX has nothing to restore and raises no issue for a lost member
        or stale data."""
        self.stopped = reason
        self.following = False
        self.async_stop()
        _LOGGER.warning("%s: the GX stops following the bank (%s)", self.entry.title, reason)
        if reason in (GX_MISSING, CONTROL_OFF):
            _issue(self.hass, self.entry.entry_id, reason, self.entry.title, self.previous)
            return
        if self.previous is None:
            return
        previous = self.previous
        self._task = self.entry.async_create_background_task(
            self.hass, self._async_restore(previous, reason), f"{DOMAIN} bank GX restore"
        )

    async def _async_restore(self, previous: dict[str, Any], reason: str) -> None:
        await async_restore(self.hass, self.entry.entry_id, self.entry.title, previous, reason)
        self.previous = None


async def async_restore(
    hass: HomeAssistant, bank_entry_id: str, title: str, previous: dict[str, Any], reason: str
) -> bool:
    """Write a GX's stored settings back, forget them, raise the repair issue of `reason` (and
    `bank_gx_restore_failed` when the GX did not confirm them). True when it confirmed both."""
    restored = False
    found = _gx_controls(hass, str(previous.get("gx")))
    if found is not None:
        source, coordinator = found
        try:
            for path, key in ((VOLTAGE_PATH, "voltage"), (CURRENT_PATH, "current")):
                await source.async_write(
                    coordinator,
                    _ROWS[path],
                    previous[key],
                    entity_id=f"{title} (bank)",
                    old=coordinator.data.get(path),
                    new=previous[key],
                )
            restored = True
        except HomeAssistantError as err:
            _LOGGER.warning("%s: could not restore the GX's charge limits: %s", title, err)
    await _store(hass, bank_entry_id).async_remove()
    _issue(hass, bank_entry_id, reason, title, previous)
    if not restored:
        _issue(hass, bank_entry_id, "restore_failed", title, previous)
    return restored


def _issue(
    hass: HomeAssistant,
    bank_entry_id: str,
    reason: str,
    title: str,
    previous: dict[str, Any] | None,
) -> None:
    """Raise the repair issue `bank_gx_<reason>` of a bank (placeholders: the bank's title and
    the GX's own limits)."""
    voltage = previous.get("voltage") if previous else None
    current = previous.get("current") if previous else None
    suffix = "_restore" if reason == "restore_failed" else ""
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id(bank_entry_id) + suffix,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"bank_gx_{reason}",
        translation_placeholders={
            "bank": title,
            "voltage": "unknown" if voltage is None else str(voltage),
            "current": "unknown" if current is None else str(current),
        },
    )


async def async_remove_bank(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """The bank entry is deleted: restore the GX's stored settings (if the bank was followed)."""
    stored = await _store(hass, entry.entry_id).async_load()
    if stored is not None:
        await async_restore(hass, entry.entry_id, entry.title, stored, BANK_REMOVED)
