"""Draw the integration's brand images into custom_components/victron_venus/brand/.

Home Assistant (2026.3 and later) serves a custom integration's own brand folder at
`/api/brands/integration/<domain>/<image>` (homeassistant/components/brands: the names in
ALLOWED_IMAGES, with fallbacks such as dark_icon.png -> icon.png). The mark is our own, not
Victron Energy's trademark: a battery whose charge is the sea, with a sail on it.

    .venv/bin/python scripts/gen_brand.py           # (re)write the eight PNGs
    .venv/bin/python scripts/gen_brand.py --check   # exit 1 when a committed PNG differs

The drawing is pure geometry (no fonts), rendered 4 times larger and scaled down with Lanczos
for smooth edges, so the same Pillow draws the same pixels. `--check` compares pixels, not
bytes (PNG compression may differ between zlib builds).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
import math
from pathlib import Path
import sys

from PIL import Image, ImageChops, ImageDraw

REPO = Path(__file__).resolve().parent.parent
BRAND = REPO / "custom_components" / "victron_venus" / "brand"
#: supersampling factor: drawn this many times larger, then scaled down
SUPER = 4


@dataclass(frozen=True)
class Palette:
    """Colours (RGBA) of one variant: light backgrounds (default) or dark ones."""

    outline: tuple[int, int, int, int]
    inside: tuple[int, int, int, int]
    sea: tuple[int, int, int, int]
    crest: tuple[int, int, int, int]
    sail: tuple[int, int, int, int]
    hull: tuple[int, int, int, int]


LIGHT = Palette(
    outline=(16, 52, 92, 255),  # deep navy
    inside=(232, 243, 252, 255),  # pale sky
    sea=(25, 118, 210, 255),  # blue
    crest=(100, 181, 246, 255),  # light blue
    sail=(255, 179, 0, 255),  # amber: the energy
    hull=(16, 52, 92, 255),
)
DARK = Palette(
    outline=(200, 224, 250, 255),  # light outline on dark themes
    inside=(18, 38, 62, 255),  # night sky
    sea=(30, 136, 229, 255),
    crest=(120, 190, 250, 255),
    sail=(255, 193, 7, 255),
    hull=(200, 224, 250, 255),
)


def _wave(
    left: float, right: float, level: float, amplitude: float, *, waves: float, crest_at: float
) -> list[tuple[float, float]]:
    """Points of a sine wave from `left` to `right` around height `level` (image y down), with
    `waves` periods across and a crest at x = `crest_at`."""
    steps = 96
    points = []
    for i in range(steps + 1):
        x = left + (right - left) * i / steps
        phase = 2 * math.pi * waves * (x - crest_at) / (right - left)
        points.append((x, level - amplitude * math.cos(phase)))
    return points


def draw_mark(size: int, palette: Palette) -> Image.Image:
    """The mark, `size` by `size` pixels, transparent around it: an upright battery (terminal on
    top) filled two-thirds with the sea, a sailing boat on its waves."""
    s = size * SUPER
    image = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    u = s / 256  # drawing units: the 256 px icon's pixels

    # battery body and terminal
    body = (58 * u, 40 * u, 198 * u, 244 * u)
    stroke = 14 * u
    radius = 26 * u
    draw.rounded_rectangle((100 * u, 14 * u, 156 * u, 44 * u), radius=8 * u, fill=palette.outline)
    draw.rounded_rectangle(body, radius=radius, fill=palette.outline)
    inner = (body[0] + stroke, body[1] + stroke, body[2] - stroke, body[3] - stroke)
    inner_radius = radius - stroke * 0.6

    # the inside on its own layer, clipped to the inner rounded rectangle
    layer = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    ink = ImageDraw.Draw(layer)
    ink.rectangle(inner, fill=palette.inside)
    left, top, right, bottom = inner
    sea_level = top + (bottom - top) * 0.52

    # the boat: a mainsail and a jib on one mast, a hull riding a crest (its keel in the water)
    mast_x = 124 * u
    mast_top = 80 * u
    hull_top = sea_level - 12 * u
    ink.polygon(
        [(mast_x, mast_top), (mast_x, hull_top - 6 * u), (mast_x - 40 * u, hull_top - 6 * u)],
        fill=palette.sail,
    )
    ink.polygon(
        [
            (mast_x + 6 * u, mast_top + 14 * u),
            (mast_x + 6 * u, hull_top - 6 * u),
            (mast_x + 34 * u, hull_top - 6 * u),
        ],
        fill=palette.sail,
    )
    ink.rectangle((mast_x - 1.5 * u, mast_top, mast_x + 1.5 * u, hull_top), fill=palette.hull)
    ink.polygon(
        [
            (mast_x - 48 * u, hull_top),
            (mast_x + 44 * u, hull_top),
            (mast_x + 30 * u, hull_top + 14 * u),
            (mast_x - 36 * u, hull_top + 14 * u),
        ],
        fill=palette.hull,
    )
    crest = _wave(left, right, sea_level, 7 * u, waves=1.25, crest_at=mast_x)
    ink.polygon([*crest, (right, bottom), (left, bottom)], fill=palette.crest)
    deep = _wave(left, right, sea_level + 16 * u, 6 * u, waves=1.5, crest_at=mast_x + 30 * u)
    ink.polygon([*deep, (right, bottom), (left, bottom)], fill=palette.sea)

    mask = Image.new("L", (s, s), 0)
    ImageDraw.Draw(mask).rounded_rectangle(inner, radius=inner_radius, fill=255)
    image.paste(layer, (0, 0), ImageChops.multiply(mask, layer.getchannel("A")))
    return image.resize((size, size), Image.Resampling.LANCZOS)


def images() -> dict[str, Image.Image]:
    """File name → image, for every name Home Assistant's brands view allows. The logo is the
    mark itself (no wordmark: the integration's name belongs beside it, not in it)."""
    result: dict[str, Image.Image] = {}
    for prefix, palette in (("", LIGHT), ("dark_", DARK)):
        for suffix, size in (("", 256), ("@2x", 512)):
            mark = draw_mark(size, palette)
            result[f"{prefix}icon{suffix}.png"] = mark
            result[f"{prefix}logo{suffix}.png"] = mark
    return result


def differs(path: Path, image: Image.Image) -> bool:
    """True when `path` is missing or its pixels are not `image`'s."""
    if not path.exists():
        return True
    with Image.open(path) as saved:
        if saved.size != image.size:
            return True
        return ImageChops.difference(saved.convert("RGBA"), image).getbbox() is not None


def main() -> int:
    """Write the images, or with --check report those that differ (exit 1)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--out", type=Path, default=BRAND, help="folder (default: brand/)")
    args = parser.parse_args()
    stale = []
    args.out.mkdir(parents=True, exist_ok=True)
    for name, image in images().items():
        path = args.out / name
        if args.check:
            if differs(path, image):
                stale.append(name)
            continue
        image.save(path, optimize=True)
        print(f"gen_brand: {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    if stale:
        print(f"gen_brand: out of date: {', '.join(stale)} (run scripts/gen_brand.py)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
