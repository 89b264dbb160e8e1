"""Persistence of a Logbook entry with Home Assistant's `Store` (files in .storage/).

One entry keeps (`<entry>` = the config entry id; keys as in logbook.md §5.1):

* `victron_venus.logbook.<entry>.state`: the detector snapshot (`TripDetector.snapshot()`), the
  feed's clock and the lifetime totals, written together so they always match; delayed save,
  30 s, and `on_state_saved` hears when a write is on disk (the totals shown are those: a kill can
  never take them back);
* `....open_track`: the open trip's full-resolution points and conditions; delayed, 60 s;
* `....index`: the trips index (summaries, no tracks); delayed, 5 s;
* `....efficiency`: steady-state (speed kn, power W) samples of the latest trips; delayed, 5 s;
* `....track.<trip id>`: one finished trip (`FinishedTrip.to_dict()`); written when it ends.

Delayed saves are debounced here (Home Assistant's `async_delay_save` pushes a pending write
further out on every call, which would never write while samples keep arriving every few
seconds): the first request schedules the write, later ones ride along; the data is taken when
the write happens. Every pending write also happens on Home Assistant's final write and when the
entry unloads (`async_flush`). Nothing here blocks the event loop: `Store` writes in the executor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
import logging
from typing import Any, Final

from homeassistant.const import EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.storage import Store

from ..const import DOMAIN
from .records import FinishedTrip

_LOGGER = logging.getLogger(__name__)

STORE_VERSION: Final = 1
STATE_DELAY: Final = 30.0
POINTS_DELAY: Final = 60.0
INDEX_DELAY: Final = 5.0

type JsonDict = dict[str, Any]


def store_key(entry_id: str, part: str) -> str:
    """The Store key of one part of an entry's logbook ("state", "index", "track.<id>"...)."""
    return f"{DOMAIN}.logbook.{entry_id}.{part}"


@dataclass(slots=True)
class Loaded:
    """What `LogbookStore.async_load` found (empty values for a new logbook)."""

    state: JsonDict = field(default_factory=dict)
    open_track: JsonDict = field(default_factory=dict)
    index: JsonDict = field(default_factory=dict)
    efficiency: JsonDict = field(default_factory=dict)


class _Delayed:
    """One Store with a debounced delayed save: written `delay` s after the first request, with
    the data of the latest request's function, taken at write time; `on_saved(data)` once the
    write is done."""

    def __init__(
        self,
        hass: HomeAssistant,
        store: Store[JsonDict],
        delay: float,
        on_saved: Callable[[JsonDict], None] | None = None,
    ) -> None:
        self.hass = hass
        self.store = store
        self.delay = delay
        self.on_saved = on_saved
        self.pending = False
        self._data_fn: Callable[[], JsonDict] | None = None
        self._cancel: CALLBACK_TYPE | None = None

    @callback
    def schedule(self, data_fn: Callable[[], JsonDict]) -> None:
        self._data_fn = data_fn
        if self.pending:
            return
        self.pending = True
        self._cancel = async_call_later(self.hass, self.delay, self._due)

    @callback
    def _due(self, _now: datetime) -> None:
        self._cancel = None
        self.hass.async_create_task(self.flush(), f"{self.store.key} save", eager_start=True)

    async def flush(self) -> None:
        if self._cancel is not None:
            self._cancel()
            self._cancel = None
        if not self.pending or self._data_fn is None:
            return
        self.pending = False
        data = self._data_fn()
        await self.store.async_save(data)
        if self.on_saved is not None:
            self.on_saved(data)


class LogbookStore:
    """The Stores of one Logbook entry. See the module docstring for the layout."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry_id: str,
        on_state_saved: Callable[[JsonDict], None] | None = None,
    ) -> None:
        """Create the Store objects; nothing is read before `async_load`. `on_state_saved` gets
        the state's data each time it is on disk."""
        self.hass = hass
        self.entry_id = entry_id
        self._state = _Delayed(hass, self._store("state"), STATE_DELAY, on_state_saved)
        self._open_track = _Delayed(hass, self._store("open_track"), POINTS_DELAY)
        self._index = _Delayed(hass, self._store("index"), INDEX_DELAY)
        self._efficiency = _Delayed(hass, self._store("efficiency"), INDEX_DELAY)
        self._parts = (self._state, self._open_track, self._index, self._efficiency)
        self._unsub_final_write: CALLBACK_TYPE | None = None

    def _store(self, part: str) -> Store[JsonDict]:
        return Store(self.hass, STORE_VERSION, store_key(self.entry_id, part), private=True)

    async def async_load(self) -> Loaded:
        """Read every part (empty dicts for parts never written); from now on, what is pending
        is also written at Home Assistant's final write."""
        if self._unsub_final_write is None:
            self._unsub_final_write = self.hass.bus.async_listen_once(
                EVENT_HOMEASSISTANT_FINAL_WRITE, self._async_final_write
            )
        return Loaded(
            state=await self._state.store.async_load() or {},
            open_track=await self._open_track.store.async_load() or {},
            index=await self._index.store.async_load() or {},
            efficiency=await self._efficiency.store.async_load() or {},
        )

    def schedule_state(self, data_fn: Callable[[], JsonDict]) -> None:
        """Save the detector state soon (at most every 30 s)."""
        self._state.schedule(data_fn)

    def schedule_open_track(self, data_fn: Callable[[], JsonDict]) -> None:
        """Save the open trip's points soon (at most every 60 s)."""
        self._open_track.schedule(data_fn)

    def schedule_index(self, data_fn: Callable[[], JsonDict]) -> None:
        """Save the trips index and totals soon (5 s)."""
        self._index.schedule(data_fn)

    def schedule_efficiency(self, data_fn: Callable[[], JsonDict]) -> None:
        """Save the efficiency samples soon (5 s)."""
        self._efficiency.schedule(data_fn)

    async def _async_final_write(self, _event: Event) -> None:
        self._unsub_final_write = None
        await self.async_flush()

    async def async_flush(self) -> None:
        """Write every pending part now."""
        for part in self._parts:
            await part.flush()

    async def async_close(self) -> None:
        """The entry unloads: write every pending part, stop listening for the final write."""
        if self._unsub_final_write is not None:
            self._unsub_final_write()
            self._unsub_final_write = None
        await self.async_flush()

    async def async_save_track(self, finished: FinishedTrip) -> None:
        """Write a finished trip's own file (written once; a rebuild may rewrite it)."""
        await self._store(f"track.{finished.trip.id}").async_save(finished.to_dict())

    async def async_load_track(self, trip_id: str) -> FinishedTrip | None:
        """A finished trip's file, None when there is none (or it cannot be read)."""
        data = await self._store(f"track.{trip_id}").async_load()
        if not data:
            return None
        try:
            return FinishedTrip.from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            _LOGGER.warning("Logbook track %s is unreadable: %r", trip_id, err)
            return None

    async def async_remove_track(self, trip_id: str) -> None:
        """Delete a trip's file."""
        await self._store(f"track.{trip_id}").async_remove()

    @classmethod
    async def async_remove_all(cls, hass: HomeAssistant, entry_id: str) -> None:
        """Delete every file of an entry's logbook (the entry was deleted)."""
        store = cls(hass, entry_id)
        index = await store._index.store.async_load() or {}
        for summary in index.get("trips", []):
            await store.async_remove_track(str(summary["id"]))
        for part in store._parts:
            await part.store.async_remove()
