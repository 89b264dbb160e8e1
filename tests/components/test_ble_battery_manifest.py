"""The manifest's Bluetooth matchers and the README's family list agree with aiobmsble.

scripts/gen_bluetooth_matchers.py writes both from the installed library; here they are written
again and compared with what is committed. Then every advertisement of the library's own test data
(aiobmsble.test_data, shipped in its wheel: real advertisements from bug reports, each labelled
with its family) is checked against Home Assistant's own matcher function: the manifest wakes our
flow for each one, the library's matching names the same family, JBD ones go to the JBD type,
and the library's "not a BMS" advertisements are no family.
"""

from __future__ import annotations

import importlib.util
import json
from types import ModuleType
from typing import Any

from aiobmsble.test_data import bms_advertisements, ignore_advertisements
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData
from homeassistant.components.bluetooth import SOURCE_LOCAL, BluetoothServiceInfoBleak
from homeassistant.components.bluetooth.match import ble_device_matches

from custom_components.victron_venus.flows.jbd import is_jbd_advertisement
from custom_components.victron_venus.sources.ble_battery import FAMILIES, JBD_FAMILY, family_of
from tests.shared import REPO

MANIFEST = REPO / "custom_components" / "victron_venus" / "manifest.json"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_bluetooth_matchers", REPO / "scripts" / "gen_bluetooth_matchers.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _info(adv: AdvertisementData, address: str) -> BluetoothServiceInfoBleak:
    address = address or "00:00:00:00:00:01"
    return BluetoothServiceInfoBleak(
        name=adv.local_name or address,
        address=address,
        rssi=adv.rssi,
        manufacturer_data=adv.manufacturer_data,
        service_data=adv.service_data,
        service_uuids=list(adv.service_uuids),
        source=SOURCE_LOCAL,
        device=BLEDevice(address, adv.local_name, {}),
        advertisement=adv,
        connectable=True,
        time=0.0,
        tx_power=-127,
    )


def test_manifest_matchers_are_the_library_matchers() -> None:
    """manifest.json's `bluetooth` list is what the script makes of the installed library, and
    the README's family table is its current output."""
    script = _script()
    manifest: dict[str, Any] = json.loads(MANIFEST.read_text())
    assert manifest["bluetooth"] == script.matchers()
    readme = (REPO / "README.md").read_text()
    assert script.readme_text(readme) == readme
    assert script.START in readme
    # one row per family of the library except its JBD one (our own type has the first row)
    table = readme.split(script.START)[1].split(script.END)[0]
    assert table.count("\n| ") == len(FAMILIES) - 1 + 2  # rows + the JBD row + header
    # no matcher Home Assistant would refuse (a wildcard in a name's first three characters)
    for matcher in manifest["bluetooth"]:
        name = matcher.get("local_name", "abc")
        assert not any(c in name[:3] for c in "*?["), matcher


def test_every_library_advertisement_wakes_the_right_flow() -> None:
    """Each labelled advertisement of the library's test data: some manifest matcher accepts it
    (so Home Assistant starts our flow), `family_of` names its family, and a JBD battery is
    routed to our JBD type; the library's non-BMS advertisements are no family."""
    script = _script()
    matchers = script.matchers()
    unexpressed = {family for family, _pattern in script.unexpressed()}
    samples = bms_advertisements()
    # every family we offer has labelled advertisements (190 in aiobmsble 0.31.0; a patch
    # release of the library may add some, so their number is not pinned)
    assert {family for _adv, _address, family, _comments in samples} == set(FAMILIES)
    missed: list[tuple[str, str | None]] = []
    for adv, address, family, _comments in samples:
        if family not in FAMILIES:
            continue  # the library's test double
        info = _info(adv, address)
        assert family_of(adv, address) == family, (family, adv.local_name)
        if family == JBD_FAMILY:
            assert ble_device_matches(matchers[0], info)  # service 0xFF00: the JBD flow
        elif not any(ble_device_matches(m, info) for m in matchers):
            missed.append((family, adv.local_name))
        if is_jbd_advertisement(info):  # our JBD rule wins: never offered as a BLE battery
            assert family in (JBD_FAMILY, "daren_bms"), (family, adv.local_name)
    # only families with a matcher no manifest key can express may be missed by the manifest
    assert {family for family, _name in missed} <= unexpressed, missed
    for adv, address, _reason, _comments in ignore_advertisements():
        assert family_of(adv, address) is None, adv.local_name
