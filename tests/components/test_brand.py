"""Our brand images: Home Assistant serves them from custom_components/victron_venus/brand/
(issue 12 §1: `/api/brands/integration/victron_venus/icon.png` was 404), and they are what
scripts/gen_brand.py draws."""

from __future__ import annotations

import importlib.util
from io import BytesIO
import sys
from types import ModuleType

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.victron_venus.const import DOMAIN
from tests.shared import REPO

BRAND = REPO / "custom_components" / DOMAIN / "brand"
#: every image Home Assistant's brands view allows, and its size in pixels
SIZES = {
    "icon.png": 256,
    "icon@2x.png": 512,
    "logo.png": 256,
    "logo@2x.png": 512,
    "dark_icon.png": 256,
    "dark_icon@2x.png": 512,
    "dark_logo.png": 256,
    "dark_logo@2x.png": 512,
}


def _gen_brand() -> ModuleType:
    """scripts/gen_brand.py as a module."""
    spec = importlib.util.spec_from_file_location("gen_brand", REPO / "scripts" / "gen_brand.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_brand_folder_is_what_gen_brand_draws() -> None:
    """Each committed PNG has Home Assistant's size and gen_brand's pixels; nothing else."""
    from homeassistant.components.brands.const import ALLOWED_IMAGES

    assert sorted(path.name for path in BRAND.iterdir()) == sorted(SIZES)
    assert set(SIZES) == ALLOWED_IMAGES
    gen = _gen_brand()
    drawn = gen.images()
    for name, size in SIZES.items():
        with Image.open(BRAND / name) as image:
            assert image.format == "PNG"
            assert image.size == (size, size), name
            assert image.mode == "RGBA", name
            corner = image.getpixel((0, 0))
            assert isinstance(corner, tuple)
            assert corner[3] == 0, name  # transparent around the mark
        assert not gen.differs(BRAND / name, drawn[name]), f"{name}: run scripts/gen_brand.py"
    # the dark variant is its own drawing (a light outline), not a copy of the light one
    with Image.open(BRAND / "icon.png") as light, Image.open(BRAND / "dark_icon.png") as dark:
        assert light.getpixel((128, 160)) != dark.getpixel((128, 160))


@pytest.mark.parametrize("image", ["icon.png", "dark_icon.png", "icon@2x.png", "dark_logo@2x.png"])
async def test_home_assistant_serves_our_brand(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, image: str
) -> None:
    """GET /api/brands/integration/victron_venus/<image> answers 200 with our own PNG (the file
    itself: no fallback to another name, no CDN)."""
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    resp = await client.get(f"/api/brands/integration/{DOMAIN}/{image}?placeholder=no")
    assert resp.status == 200
    assert resp.content_type == "image/png"
    body = await resp.read()
    assert body == (BRAND / image).read_bytes()
    with Image.open(BytesIO(body)) as png:
        assert png.size == (SIZES[image], SIZES[image])
