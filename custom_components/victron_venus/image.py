"""Image platform: every source's image rows (the logbook's efficiency curve, as SVG).

A row's `value_fn` gives a version; when it changes the entity writes its state with a new
`image_last_updated`, and Home Assistant fetches the new bytes from `image_fn` (rendered by the
integration, nothing downloaded).
"""

from __future__ import annotations

from collections.abc import Mapping
import logging
from typing import Any

from homeassistant.components.image import ImageEntity
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import DeviceCoordinator, VictronConfigEntry
from .entity import (
    VictronEntity,
    VictronImageEntityDescription,
    async_setup_platform,
)

_LOGGER = logging.getLogger(__package__)

PARALLEL_UPDATES = 0  # push: nothing to poll


async def async_setup_entry(
    hass: HomeAssistant,
    entry: VictronConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Add image entities as their devices and values appear."""

    def factory(
        coordinator: DeviceCoordinator, description: VictronImageEntityDescription
    ) -> VictronImage:
        return VictronImage(hass, coordinator, description)

    async_setup_platform(hass, entry, Platform.IMAGE, factory, async_add_entities)


class VictronImage(VictronEntity, ImageEntity):
    """An image from an image row of a description table."""

    entity_description: VictronImageEntityDescription

    def __init__(
        self,
        hass: HomeAssistant,
        coordinator: DeviceCoordinator,
        description: VictronImageEntityDescription,
    ) -> None:
        """Create the entity; the image is as new as the entity."""
        VictronEntity.__init__(self, coordinator, description)
        ImageEntity.__init__(self, hass)
        self._attr_content_type = description.content_type
        self._attr_image_last_updated = dt_util.utcnow()
        self._image_errors = 0

    @callback
    def _set(self, available: bool, value: Any, attrs: Mapping[str, Any] | None) -> None:
        """A new version is a new image: Home Assistant fetches it again."""
        if self._written is not None and self._written[1] != value:
            self._attr_image_last_updated = dt_util.utcnow()
        super()._set(available, value, attrs)

    async def async_image(self) -> bytes | None:
        """The image bytes (rendered from the device's latest data); None (no image) when
        rendering fails (counted in `image_errors`, logged once)."""
        try:
            image = self.entity_description.image_fn(self.coordinator.data)
        except Exception:
            self._image_errors += 1
            if self._image_errors == 1:
                _LOGGER.exception("%s: cannot render its image (logged once)", self.entity_id)
            return None
        return image if isinstance(image, bytes) else None
