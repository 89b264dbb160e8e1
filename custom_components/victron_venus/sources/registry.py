"""The running batteries by config entry id: how a bank follows its members.

A battery source registers its `DeviceCoordinator` under its entry id when it starts and
unregisters it when it stops (`async_register` returns the undo). A bank asks for its members'
coordinators here and tracks the member ids (`async_track`): it hears at once when a member
starts, stops or is reloaded with a new source, and listens to each member's coordinator for its
updates and its availability. Nobody reads another entry's `runtime_data`, and nothing polls.

One registry per Home Assistant instance, in `hass.data` (`battery_registry(hass)`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.util.hass_dict import HassKey

from ..const import DOMAIN
from ..coordinator import DeviceCoordinator


class BatteryRegistry:
    """entry id -> the coordinator of that battery entry's running source; change listeners."""

    def __init__(self) -> None:
        """Start empty."""
        self._coordinators: dict[str, DeviceCoordinator] = {}
        self._trackers: dict[str, list[Callable[[str], None]]] = {}

    def get(self, entry_id: str) -> DeviceCoordinator | None:
        """The coordinator of the running battery `entry_id`, or None (not running)."""
        return self._coordinators.get(entry_id)

    @callback
    def async_register(self, entry_id: str, coordinator: DeviceCoordinator) -> CALLBACK_TYPE:
        """The battery `entry_id` runs with `coordinator`; returns the call that unregisters it.

        Registering again replaces the previous coordinator. The trackers of `entry_id` are
        called on registering and on unregistering (the undo does nothing once replaced).
        """
        self._coordinators[entry_id] = coordinator
        self._notify(entry_id)

        @callback
        def unregister() -> None:
            if self._coordinators.get(entry_id) is coordinator:
                del self._coordinators[entry_id]
                self._notify(entry_id)

        return unregister

    @callback
    def async_track(self, entry_ids: Iterable[str], action: Callable[[str], None]) -> CALLBACK_TYPE:
        """Call `action(entry_id)` whenever one of `entry_ids` registers or unregisters.

        Returns the call that stops tracking.
        """
        ids = list(dict.fromkeys(entry_ids))
        for entry_id in ids:
            self._trackers.setdefault(entry_id, []).append(action)

        @callback
        def untrack() -> None:
            for entry_id in ids:
                actions = self._trackers.get(entry_id, [])
                if action in actions:
                    actions.remove(action)
                if not actions:
                    self._trackers.pop(entry_id, None)

        return untrack

    def _notify(self, entry_id: str) -> None:
        for action in list(self._trackers.get(entry_id, ())):
            action(entry_id)


BATTERIES: HassKey[BatteryRegistry] = HassKey(f"{DOMAIN}_batteries")


def battery_registry(hass: HomeAssistant) -> BatteryRegistry:
    """The registry of this Home Assistant instance (created on first use)."""
    registry = hass.data.get(BATTERIES)
    if registry is None:
        registry = hass.data[BATTERIES] = BatteryRegistry()
    return registry
