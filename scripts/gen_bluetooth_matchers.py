"""Write manifest.json's `bluetooth` matchers and README's list of BMS families from aiobmsble.

Discovery of Bluetooth batteries is the library's own: every BMS family of aiobmsble lists the
advertisements it recognises (`BMS.matcher_dict_list()`). Home Assistant starts our config flow
for an advertisement that one of the manifest's matchers accepts, and the flow then asks the
library which family it is (flows/ble_battery.py). This script turns the library's matchers into
manifest matchers:

* our JBD battery's matchers come first (service 0xFF00, and 0xFF00 with each JBD name pattern of
  flows/jbd.py); the library's own JBD family is left out (every one of its matchers has service
  0xFF00, which our first matcher already takes);
* every other family's matchers, in family order, with the keys Home Assistant knows
  (local_name, service_uuid, service_data_uuid, manufacturer_id, manufacturer_data_start,
  connectable). A library `oui` (address prefix) has no manifest key and is dropped, as is an
  empty `service_data_uuid` (the library's "no service data"); a `local_name` pattern with a
  wildcard in its first three characters is dropped too (Home Assistant indexes names by their
  first three characters and refuses such patterns), the matcher's other keys remain. A matcher
  with nothing left but `connectable` cannot be expressed (`unexpressed()`): such a battery is
  still offered in the user step, which asks the library itself;
* duplicates are dropped.

It also writes README.md's section between `<!-- ble-families:start -->` and
`<!-- ble-families:end -->`: the families, as the library names them. Run with
`.venv/bin/python scripts/gen_bluetooth_matchers.py` after upgrading aiobmsble; a test checks that
the committed manifest and README agree with the installed library.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from custom_components.victron_venus.flows.jbd import NAME_PATTERNS  # noqa: E402
from custom_components.victron_venus.sources.ble_battery import (  # noqa: E402
    FAMILIES,
    JBD_FAMILY,
    accepts_password,
    family_label,
)
from custom_components.victron_venus.sources.jbd import SERVICE_UUID  # noqa: E402

MANIFEST = REPO / "custom_components" / "victron_venus" / "manifest.json"
README = REPO / "README.md"
START = "<!-- ble-families:start -->"
END = "<!-- ble-families:end -->"
#: manifest matcher keys, in the order they are written
HA_KEYS = (
    "local_name",
    "service_uuid",
    "service_data_uuid",
    "manufacturer_id",
    "manufacturer_data_start",
    "connectable",
)
#: Home Assistant's bluetooth matcher index (homeassistant/components/bluetooth/match.py)
LOCAL_NAME_MIN_MATCH_LENGTH = 3


def ha_matcher(pattern: dict[str, Any]) -> dict[str, Any] | None:
    """The manifest matcher for one library matcher, or None when nothing is left of it."""
    matcher = {key: pattern[key] for key in HA_KEYS if key in pattern}
    name = matcher.get("local_name")
    if name is not None and any(c in name[:LOCAL_NAME_MIN_MATCH_LENGTH] for c in "*?["):
        del matcher["local_name"]
    if matcher.get("service_data_uuid") == "":
        del matcher["service_data_uuid"]
    if not set(matcher) - {"connectable"}:
        return None
    return matcher


def jbd_matchers() -> list[dict[str, Any]]:
    """Our JBD battery's matchers (flows/jbd.py: service 0xFF00 alone and with each name)."""
    return [
        {"service_uuid": SERVICE_UUID, "connectable": True},
        *(
            {"local_name": name, "service_uuid": SERVICE_UUID, "connectable": True}
            for name in NAME_PATTERNS
        ),
    ]


def matchers() -> list[dict[str, Any]]:
    """The manifest's whole `bluetooth` list (see the module docstring)."""
    result = jbd_matchers()
    for family, cls in FAMILIES.items():
        if family == JBD_FAMILY:
            continue
        for pattern in cls.matcher_dict_list():
            matcher = ha_matcher(dict(pattern))
            if matcher is not None and matcher not in result:
                result.append(matcher)
    return result


def unexpressed() -> list[tuple[str, dict[str, Any]]]:
    """(family, library matcher) pairs that no manifest matcher can express."""
    return [
        (family, dict(pattern))
        for family, cls in FAMILIES.items()
        if family != JBD_FAMILY
        for pattern in cls.matcher_dict_list()
        if ha_matcher(dict(pattern)) is None
    ]


def manifest_text(manifest: dict[str, Any]) -> str:
    """manifest.json as the repository writes it: lists of objects one object per line."""
    lines = []
    for key, value in manifest.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            inner = ",\n".join(f"    {json.dumps(v, ensure_ascii=False)}" for v in value)
            lines.append(f"  {json.dumps(key)}: [\n{inner}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"


def families_markdown() -> str:
    """README's family table (generated: do not edit by hand)."""
    rows = [
        "| BMS family (as aiobmsble names it) | library module | password |",
        "|---|---|---|",
        "| Jiabaida (JBD) and its many rebrands | our own **JBD battery** entry type | optional |",
    ]
    for family in FAMILIES:
        if family == JBD_FAMILY:
            continue
        label = family_label(family).replace("|", "/").replace("\\", "/")
        rows.append(f"| {label} | `{family}` | {'optional' if accepts_password(family) else '-'} |")
    return "\n".join(rows)


def readme_text(readme: str) -> str:
    """README.md with the generated family table between the markers (unchanged without them)."""
    if START not in readme or END not in readme:
        return readme
    head, rest = readme.split(START, 1)
    _old, tail = rest.split(END, 1)
    return f"{head}{START}\n{families_markdown()}\n{END}{tail}"


def main() -> None:
    """Rewrite the manifest's matchers and the README's table; report what cannot be matched."""
    manifest = json.loads(MANIFEST.read_text())
    manifest["bluetooth"] = matchers()
    MANIFEST.write_text(manifest_text(manifest))
    README.write_text(readme_text(README.read_text()))
    print(f"manifest: {len(manifest['bluetooth'])} bluetooth matchers")
    for family, pattern in unexpressed():
        print(f"not discoverable by the manifest (user step only): {family} {pattern}")


if __name__ == "__main__":
    main()
