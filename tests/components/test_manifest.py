"""What hassfest and the HACS action would check, done offline (ha_testing.md §7)."""

from __future__ import annotations

import json
from pathlib import Path
import re

from awesomeversion import AwesomeVersion
from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_integration
import probatio
import yaml

from custom_components.victron_venus.const import DOMAIN
from custom_components.victron_venus.descriptions import vedirect as ve_desc
from tests.shared import REPO, reference_path

COMPONENT = REPO / "custom_components" / DOMAIN
URL = probatio.Match(r"^https://")

HACS_SCHEMA = probatio.Schema(
    {
        probatio.Required("name"): str,
        probatio.Optional("content_in_root"): bool,
        probatio.Optional("country"): probatio.Any(str, [str]),
        probatio.Optional("filename"): str,
        probatio.Optional("hacs"): str,
        probatio.Optional("hide_default_branch"): bool,
        probatio.Optional("homeassistant"): str,
        probatio.Optional("persistent_directory"): str,
        probatio.Optional("render_readme"): bool,
        probatio.Optional("zip_release"): bool,
    }
)
MANIFEST_SCHEMA = probatio.Schema(
    {
        probatio.Required("domain"): DOMAIN,
        probatio.Required("name"): str,
        probatio.Required("codeowners"): [str],
        probatio.Required("documentation"): URL,
        probatio.Required("issue_tracker"): URL,
        probatio.Required("version"): str,
        probatio.Required("config_flow"): True,
        probatio.Required("integration_type"): probatio.In(["hub", "device", "service"]),
        probatio.Required("iot_class"): probatio.In(
            ["local_push", "local_polling", "cloud_push", "cloud_polling", "assumed_state"]
        ),
        probatio.Optional("dependencies"): [str],
        probatio.Optional("after_dependencies"): [str],
        probatio.Optional("requirements"): [str],
        probatio.Optional("loggers"): [str],
        probatio.Optional("usb"): [dict],
        probatio.Optional("bluetooth"): [dict],
        probatio.Optional("ssdp"): [dict],
        probatio.Optional("quality_scale"): str,
    }
)


def _json(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def test_hacs_json_is_valid() -> None:
    """hacs.json has only keys the HACS validator accepts."""
    HACS_SCHEMA(_json(REPO / "hacs.json"))


def test_manifest_is_valid_and_requirements_fit_home_assistant_pins() -> None:
    """Manifest keys and values are valid; every requirement admits HA's own pinned version."""
    manifest = MANIFEST_SCHEMA(_json(COMPONENT / "manifest.json"))
    assert AwesomeVersion(manifest["version"]).valid
    import homeassistant

    constraints = (Path(homeassistant.__file__).parent / "package_constraints.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", constraints, re.MULTILINE))
    from importlib.metadata import version

    from packaging.requirements import Requirement

    for requirement in manifest["requirements"]:
        req = Requirement(requirement)
        if req.name in pins:
            assert req.specifier.contains(pins[req.name]), requirement
        else:  # not pinned by Home Assistant (gpxpy): the installed version fits the range
            assert req.specifier, f"{requirement}: give a range"
            assert req.specifier.contains(version(req.name)), requirement


def test_translations_match_strings_and_cover_every_entity() -> None:
    """translations/en.json is strings.json; every row of every description table, and every
    option of an enum row, has its name."""
    import importlib
    import pkgutil

    from homeassistant.const import Platform

    from custom_components.victron_venus import descriptions, sources
    from custom_components.victron_venus.descriptions import venus as venus_desc
    from custom_components.victron_venus.entity import (
        VictronBinarySensorEntityDescription,
        VictronSensorEntityDescription,
    )
    from custom_components.victron_venus.sources.base import Source

    strings = _json(COMPONENT / "strings.json")
    assert _json(COMPONENT / "translations" / "en.json") == strings
    entity = strings["entity"]
    checked: set[int] = set()  # ids of the rows checked (a row may sit in several tables)
    used: set[int] = set()  # ids of the rows the platforms take
    for info in pkgutil.iter_modules(descriptions.__path__):
        module = importlib.import_module(f"{descriptions.__name__}.{info.name}")
        for table in vars(module).values():
            for row in table if isinstance(table, tuple) else ():
                if isinstance(row, VictronSensorEntityDescription):
                    checked.add(id(row))
                    assert row.translation_key in entity["sensor"], row.key
                    for option in row.options or ():
                        assert option in entity["sensor"][row.translation_key]["state"], option
                elif isinstance(row, VictronBinarySensorEntityDescription):
                    checked.add(id(row))
                    assert row.translation_key in entity["binary_sensor"], row.key
    # the rows the sensor and binary_sensor platforms take: every source's `tables`, and the
    # Venus GX's rows per service type
    for info in pkgutil.iter_modules(sources.__path__):
        module = importlib.import_module(f"{sources.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Source):
                for platform in (Platform.SENSOR, Platform.BINARY_SENSOR):
                    used.update(id(row) for row in value.tables.get(platform, ()))
    for by_type in (venus_desc.SENSORS, venus_desc.BINARY_SENSORS):
        used.update(id(row) for rows in by_type.values() for row in rows)
    # exactly the rows those platforms use were checked, none left out, none extra
    assert checked == used
    assert {id(row) for row in (*ve_desc.SENSORS, *ve_desc.BINARY_SENSORS)} <= checked


def test_en_json_is_a_copy_of_strings_json() -> None:
    """strings.json is edited by hand; translations/en.json (what Home Assistant reads for a
    custom integration) is its byte-for-byte copy, and `scripts/gen_strings.py --check` passes
    (run `scripts/gen_strings.py` after editing strings.json)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "gen_strings", REPO / "scripts" / "gen_strings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    strings = (COMPONENT / "strings.json").read_bytes()
    assert (COMPONENT / "translations" / "en.json").read_bytes() == strings
    assert module.main(["--check"]) == 0


def test_every_config_flow_step_has_data_descriptions() -> None:
    """Every form field is described (quality scale: config-flow with data_description)."""
    strings = _json(COMPONENT / "strings.json")
    for section in ("config", "options"):
        for step in strings[section]["step"].values():
            for field in step.get("data", {}):
                assert field in step.get("data_description", {}), field


def test_quality_scale_declares_every_rule() -> None:
    """quality_scale.yaml gives every rule a status, with a comment for exempt and todo."""
    rules = yaml.safe_load((COMPONENT / "quality_scale.yaml").read_text())["rules"]
    # exactly the rules of the quality scale (anchors.md §8, from HA's tiers.json and hassfest)
    section = reference_path("anchors.md").read_text(encoding="utf-8")
    section = section.split("## 8. HA Integration Quality Scale rules")[1].split("\n## ")[0]
    scale = set(re.findall(r"^\* `([a-z-]+)` \u2013", section, flags=re.MULTILINE))
    assert len(scale) == 54
    assert set(rules) == scale
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ("done", "todo", "exempt"), name
        if status != "done":
            assert isinstance(rule, dict) and rule.get("comment"), name


async def test_home_assistant_loads_the_integration(hass: HomeAssistant) -> None:
    """Home Assistant's loader accepts the manifest (it refuses custom ones without version)."""
    integration = await async_get_integration(hass, DOMAIN)
    assert integration.domain == DOMAIN
    assert integration.config_flow
    assert {"vid": "0403", "pid": "6015", "description": "*ve*direct*"} in (integration.usb or [])
