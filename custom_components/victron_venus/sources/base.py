"""What every source is: it owns its transport and parser, and one coordinator per device.

A source never touches entities. It pushes each device's latest values into the device's
`DeviceCoordinator`; the generic platforms turn description tables into entities.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send

from ..coordinator import (
    DeviceCoordinator,
    VictronConfigEntry,
    async_track_freshness,
    signal_new_device as signal_new_device,  # noqa: PLC0414  (re-exported for one release)
)
from ..entity import VictronEntityDescription


class Source(ABC):
    """Base of every source: devices by identifier, start/stop, freshness, diagnostics.

    Implements `coordinator.EntrySource` (what `entry.runtime_data` is). A source marks a device
    unavailable only through its coordinator (`async_mark_unavailable`), never by setting
    `last_update_success`.
    """

    #: The platforms this source's entities live on.
    platforms: tuple[Platform, ...] = (Platform.SENSOR,)

    def __init__(self, hass: HomeAssistant, entry: VictronConfigEntry) -> None:
        """Create the source of `entry`; nothing runs before `async_start`."""
        self.hass = hass
        self.entry = entry
        self.devices: dict[str, DeviceCoordinator] = {}
        self._unsub_freshness: CALLBACK_TYPE | None = None

    #: Description rows by platform; a source whose rows depend on the device (a GX service
    #: type) overrides `descriptions` instead.
    tables: Mapping[Platform, Sequence[VictronEntityDescription]] = {}

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform
    ) -> Sequence[VictronEntityDescription]:
        """The rows that may apply to this device on `platform`; a row becomes an entity once
        its key appears in the device's data."""
        return self.tables.get(platform, ())

    @abstractmethod
    async def async_start(self) -> None:
        """Start reading. Raise ConfigEntryNotReady / ConfigEntryAuthFailed if it cannot."""

    async def async_stop(self) -> None:
        """Stop reading and release the transport."""
        if self._unsub_freshness is not None:
            self._unsub_freshness()
            self._unsub_freshness = None

    @callback
    def async_start_freshness(self) -> None:
        """Check every device's freshness once a second from now on."""
        self._unsub_freshness = async_track_freshness(
            self.hass, lambda: list(self.devices.values())
        )

    @callback
    def async_add_device(self, coordinator: DeviceCoordinator) -> None:
        """Register a device and tell the platforms about it."""
        self.devices[coordinator.identifier] = coordinator
        async_dispatcher_send(self.hass, signal_new_device(self.entry.entry_id), coordinator)

    def diagnostics(self) -> dict[str, Any]:
        """Counters and latest data for the diagnostics download (secrets redacted later)."""
        return {
            "devices": {
                identifier: {
                    "available": coordinator.last_update_success,
                    "updates": coordinator.updates,
                    "bad_values": coordinator.bad_values,
                    "decreases_refused": coordinator.decreases_refused,
                    "data": dict(coordinator.data),
                }
                for identifier, coordinator in self.devices.items()
            }
        }
