"""One push coordinator per device, its freshness, the typed config entry and the new-device signal.

Every source (VE.Direct, Venus GX, JBD, bank, logbook) hands each of its devices a
`DeviceCoordinator` and pushes the device's latest decoded values into it with `async_push`,
which goes through Home Assistant's `async_set_updated_data`; nothing is ever fetched.

Availability has one owner: the coordinator. A push makes the device available;
`async_mark_unavailable` is the only way to make it unavailable (a connection lost, another
device on the port, a service gone, or `async_check_fresh` when the last verified data is older
than the device's freshness timeout: 10 s for VE.Direct). The coordinator logs the loss once and
the return once; a source that logs one loss for many devices (a GX lost) marks them without a
reason, and then their return is not logged either.

The write interval (option `write_interval`, seconds, default 5) is the shortest time between two
state writes of one entity that are not urgent, and so between two of its recorder rows; it is
not a polling interval (Home Assistant's `update_interval`): every value still reaches the
coordinator. The recording option (`recording`: detailed / balanced / lean, `recording_of`) says
which changes are written at all; entity.py's write policy decides per quantity.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import timedelta
import logging
import time
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import (
    CONF_RECORDING,
    CONF_WRITE_INTERVAL,
    DEFAULT_RECORDING,
    DEFAULT_WRITE_INTERVAL,
    DOMAIN,
    FRESHNESS_TIMEOUT,
    Recording,
)

_LOGGER = logging.getLogger(__package__)

type DeviceData = Mapping[str, Any]
"""A device's latest values: value key (a protocol label such as "V", a D-Bus path) -> value."""


class DataReads(Mapping[str, Any]):
    """A device's data as one entity's functions see it, noting the keys they read.

    An entity evaluates its row through it (`track` before each evaluation); `read` is then the
    set of keys that evaluation read (`get`, `[]`, `in`; a missing key too), or None when it
    looked at the whole mapping (iteration, `len`) or has not been evaluated yet. Its value
    depends on nothing else (a row's functions depend on the data alone), so until one of those
    keys changes it would evaluate the same: a push that names its changed keys
    (`DeviceCoordinator.async_push(changed=...)`) skips it. The keys read are those of the
    latest evaluation: a function that reads a key only under a condition reads the condition's
    keys first, and a change of those evaluates it again.
    """

    __slots__ = ("data", "read")

    def __init__(self) -> None:
        """Nothing read yet: notified of every push."""
        self.data: DeviceData = {}
        self.read: set[str] | None = None

    def track(self, data: DeviceData) -> DataReads:
        """Start an evaluation over `data`: forget the keys read before; returns itself."""
        self.data = data
        self.read = set()
        return self

    def get(self, key: str, default: Any = None) -> Any:
        """`data.get(key, default)`, noted."""
        read = self.read
        if read is not None:
            read.add(key)
        return self.data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        """`data[key]`, noted (a missing key too)."""
        read = self.read
        if read is not None:
            read.add(key)
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        """`key in data`, noted."""
        read = self.read
        if read is not None and type(key) is str:
            read.add(key)
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        """Iterating the data reads all of it (and whatever keys come)."""
        self.read = None
        return iter(self.data)

    def __len__(self) -> int:
        """The number of keys depends on all of them."""
        self.read = None
        return len(self.data)


class EntrySource(Protocol):
    """What a config entry's `runtime_data` is: the entry's running source.

    `sources.base.Source` implements it; the protocol lives here so that the typed entry alias
    needs nothing from the layers above (no import runs back up, no cycle).
    """

    @property
    def platforms(self) -> tuple[Platform, ...]:
        """The platforms the source's entities live on."""
        ...

    @property
    def devices(self) -> Mapping[str, DeviceCoordinator]:
        """The source's devices by identifier (a serial)."""
        ...

    def descriptions(
        self, coordinator: DeviceCoordinator, platform: Platform
    ) -> Sequence[EntityDescription]:
        """The description rows that may apply to the device on `platform`."""
        ...

    async def async_start(self) -> None:
        """Start reading (raises ConfigEntryNotReady / ConfigEntryAuthFailed)."""
        ...

    async def async_stop(self) -> None:
        """Stop reading and release the transport."""
        ...

    def diagnostics(self) -> dict[str, Any]:
        """Counters and latest data for the diagnostics download (redacted later)."""
        ...


type VictronConfigEntry = ConfigEntry[EntrySource]
"""A config entry of this integration: `runtime_data` is its running source."""


def signal_new_device(entry_id: str) -> str:
    """Dispatcher signal a source sends with a new `DeviceCoordinator` (dynamic devices)."""
    return f"{DOMAIN}_{entry_id}_new_device"


def write_interval_of(entry: ConfigEntry) -> float:
    """The entry's write interval option in seconds (default 5; 0 = every change)."""
    return float(entry.options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL))


def recording_of(options: Mapping[str, Any]) -> Recording:
    """The write policy an entry's options ask for (`ConfigEntry.options`).

    The option `recording` when set (an unknown value: the default); else, for entries that
    have only the write interval (created before config entry version 1.3, or by a caller that
    sets only the interval), detailed when the write interval is 0 (every change was asked
    for) and balanced, the default, otherwise.
    """
    value = options.get(CONF_RECORDING)
    if value is not None:
        try:
            return Recording(value)
        except ValueError:
            return DEFAULT_RECORDING
    if float(options.get(CONF_WRITE_INTERVAL, DEFAULT_WRITE_INTERVAL)) <= 0:
        return Recording.DETAILED
    return DEFAULT_RECORDING


class DeviceCoordinator(DataUpdateCoordinator[DeviceData]):
    """Latest values of one device, pushed by its source; no polling.

    `data` maps a value key (a protocol label such as "V" or "SOC", or a D-Bus path) to its
    decoded value in SI units. `last_update_success` is the device's availability: True with
    each push, False after `async_mark_unavailable` (the only method that sets it False) until
    the next push. Sources read it, never set it.

    Counters for diagnostics and the entity layer: `updates` (pushes), `keys_version` (changes
    of the key set: new rows may now exist), `bad_values` (values its entities could not show),
    `decreases_refused` (values lower than a total_increasing counter's last write).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        *,
        identifier: str,
        device_info: DeviceInfo,
        write_interval: float | None = None,
        freshness_timeout: float = FRESHNESS_TIMEOUT,
        update_interval: float | None = None,
        recording: Recording | str | None = None,
    ) -> None:
        """Create the coordinator of the device with the stable `identifier` (its serial).

        `write_interval`: seconds between two state writes of one entity (0 = every change;
        default: the entry's option). `update_interval` is its old name, accepted for one
        release. `freshness_timeout`: seconds without a push before `async_check_fresh` marks
        the device unavailable (math.inf: never). `recording`: the write policy (default: the
        entry's, `recording_of`; detailed when `write_interval` 0 is given and the entry sets
        no policy).
        """
        super().__init__(
            hass, _LOGGER, config_entry=entry, name=str(device_info.get("name") or identifier)
        )
        if write_interval is None:
            write_interval = update_interval
        self.identifier = identifier
        self.device_info = device_info
        #: Seconds between two state writes of one entity (0 = every change).
        self.write_interval = float(
            write_interval_of(entry) if write_interval is None else write_interval
        )
        #: The write policy of its entities (entity.py).
        self.recording = _recording(entry, recording, self.write_interval)
        self.freshness_timeout = freshness_timeout
        self.data = {}
        self.last_update_success = False
        self.last_seen: float | None = None  # time.monotonic() of the last push
        self.updates = 0
        #: Bumped whenever the set of keys in `data` changes (new rows may now exist).
        self.keys_version = 0
        self._keys: frozenset[str] = frozenset()
        #: Values its entities could not show (shown as unknown instead), over all its entities.
        self.bad_values = 0
        #: Values lower than a total_increasing counter's last write, refused.
        self.decreases_refused = 0
        #: Whether the coordinator logged the current loss (then it logs the return too).
        self._loss_logged = False
        #: The keys received of the push being notified (None: notify every listener).
        self._changed: Collection[str] | None = None

    @callback
    def async_push(self, data: DeviceData, changed: Collection[str] | None = None) -> None:
        """Take the device's latest values (a verified record) and notify its entities.

        `data` may be a new mapping or the same one edited in place; either way a change of its
        key set bumps `keys_version` (one set comparison per push, at C speed: about 1 µs for
        100 keys). The device becomes available (a logged loss is followed by one "back" line).
        `changed`: the keys received since the last push, when the source knows them (the GX
        publishes a path when it changes); an entity that read none of them in its last
        evaluation (`DataReads`) is not notified. Every listener is notified when it is None,
        when the key set changed, and when the device was unavailable.
        """
        keys = data.keys()
        if len(keys) != len(self._keys) or keys != self._keys:
            self._keys = frozenset(keys)
            self.keys_version += 1
            changed = None
        if not self.last_update_success:
            changed = None
        self.updates += 1
        self.last_seen = time.monotonic()
        if self._loss_logged:
            self._loss_logged = False
            self.logger.info("%s: data is back, entities available again", self.name)
        self._changed = changed
        try:
            self.async_set_updated_data(data)
        finally:
            self._changed = None

    @callback
    def async_update_listeners(self) -> None:
        """Notify the listeners; during a push that names its changed keys, only those whose
        context is not a `DataReads` that read none of them."""
        changed = self._changed
        if changed is None:
            super().async_update_listeners()
            return
        for update_callback, context in list(self._listeners.values()):
            if (
                type(context) is DataReads
                and context.read is not None
                and context.read.isdisjoint(changed)
            ):
                continue
            try:
                update_callback()
            except Exception:
                self.logger.exception(
                    "Unexpected error updating listener %s for %s", id(update_callback), self.name
                )

    @callback
    def async_mark_unavailable(self, reason: str | None = None) -> None:
        """Make every entity of the device unavailable at once, until the next push.

        The only way a device becomes unavailable. `reason` is logged once (and then the
        return once); None when the caller logs one line for many devices itself. Nothing
        happens when the device is already unavailable.
        """
        if not self.last_update_success:
            return
        self.last_update_success = False
        if reason is not None:
            self._loss_logged = True
            self.logger.info("%s: %s; entities unavailable until data returns", self.name, reason)
        self.async_update_listeners()

    @callback
    def async_check_fresh(self, now: float | None = None) -> None:
        """Mark the device unavailable when its data is older than the freshness timeout.

        `now` is a `time.monotonic()` reading (default: now).
        """
        if not self.last_update_success:
            return
        now = time.monotonic() if now is None else now
        if self.last_seen is None or now - self.last_seen > self.freshness_timeout:
            self.async_mark_unavailable(f"no verified data for {self.freshness_timeout:.0f} s")

    async def async_refresh(self) -> None:
        """Nothing to fetch: the source pushes (`homeassistant.update_entity` lands here through
        Home Assistant's CoordinatorEntity otherwise; the base class would raise
        NotImplementedError and mark the device unavailable)."""

    async def async_request_refresh(self) -> None:
        """Nothing to fetch: the source pushes (see `async_refresh`)."""


def _recording(
    entry: ConfigEntry, recording: Recording | str | None, write_interval: float
) -> Recording:
    """The coordinator's write policy: the given one, else the entry's (`recording_of`), where an
    entry without the option follows the coordinator's own write interval."""
    if recording is not None:
        return Recording(recording)
    if CONF_RECORDING in entry.options:
        return recording_of(entry.options)
    return recording_of({CONF_WRITE_INTERVAL: write_interval})


@callback
def async_track_freshness(
    hass: HomeAssistant, coordinators: Callable[[], list[DeviceCoordinator]]
) -> CALLBACK_TYPE:
    """Check every second that each coordinator is fresh; returns the unsubscribe callback."""

    @callback
    def _check(_now: Any) -> None:
        now = time.monotonic()
        for coordinator in coordinators():
            coordinator.async_check_fresh(now)

    return async_track_time_interval(hass, _check, timedelta(seconds=1), cancel_on_shutdown=True)
