"""strings.json is the one source of English text (issue 9 item 4).

Every entity row's name, every enum and select option's state label, every selector option's
label, every form error, abort reason, repair issue and translated exception the code can use
has its text in strings.json; and no Python module of the integration carries English names,
state labels or option labels (nor the legacy dicts strings.json was once built from: nothing
merges them any more, scripts/gen_strings.py only copies strings.json to en.json). Read from
the code itself: the description tables and the sources' `tables` by import, the flows and every
`translation_key=` by ast.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
import importlib
import importlib.util
import inspect
import json
from pathlib import Path
import pkgutil
import re
from types import ModuleType
from typing import Any

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.entity import EntityDescription
import pytest

import custom_components.victron_venus as integration
from custom_components.victron_venus import descriptions, sources
from custom_components.victron_venus.entity import VictronImageEntityDescription
from custom_components.victron_venus.sources.base import Source
from custom_components.victron_venus.sources.errors import ProbeError
from tests.shared import REPO

COMPONENT = REPO / "custom_components" / "victron_venus"
STRINGS: dict[str, Any] = json.loads((COMPONENT / "strings.json").read_text(encoding="utf-8"))

#: the dicts English text used to live in (none may come back: strings.json is the only home)
LEGACY_DICTS = frozenset(
    {"NAMES", "STATE_NAMES", "STRINGS", "OPTIONS_STRINGS", "ISSUES", "EXCEPTIONS"}
)

#: module-level str dicts that look like labels but are not entity, state or option text
NOT_LABELS = {
    ("descriptions/venus.py", "SERVICE_LABELS"): "device name suffixes (device registry names)",
    ("battery/bank.py", "GAPS"): "free text of the 'Missing battery values' sensor's state (Home "
    "Assistant translates enum states only)",
}


# --- the integration's modules and their syntax ---------------------------------------------------


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _paths() -> tuple[Path, ...]:
    return tuple(sorted(COMPONENT.rglob("*.py")))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def _parents(path: Path) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(_tree(path)) for child in ast.iter_child_nodes(node)}


def _module(path: Path) -> ModuleType:
    return importlib.import_module(_module_name(path))


def _where(path: Path, node: ast.AST) -> str:
    return f"{path.relative_to(COMPONENT)}:{getattr(node, 'lineno', 0)}"


def _calls(path: Path, tree: ast.Module | None = None) -> Iterator[ast.Call]:
    """Every call in the module at `path` (or in `tree`)."""
    yield from (n for n in ast.walk(tree or _tree(path)) if isinstance(n, ast.Call))


def _callee(call: ast.Call) -> str:
    """The called name: `f(...)` -> f, `a.b.f(...)` -> f."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _function(path: Path, node: ast.AST) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function `node` is in (None at module level)."""
    parents = _parents(path)
    while node in parents:
        node = parents[node]
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return node
    return None


def _params(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = function.args
    return [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]


def _call_sites(
    path: Path, function: ast.FunctionDef | ast.AsyncFunctionDef
) -> Iterator[tuple[Path, ast.Call]]:
    """Calls of `function` in the integration: `self.f(...)` in its module for a method; for a
    module-level function `f(...)` in its module and where imported, `module.f(...)` elsewhere."""
    name = function.name
    method = isinstance(_parents(path).get(function), ast.ClassDef)
    module = _module_name(path)
    for other in _paths():
        names = {name} if other == path else set()
        aliases: set[str] = set()
        if other != path and not method:
            for node in ast.walk(_tree(other)):
                if isinstance(node, ast.ImportFrom):
                    package = _module_name(other)
                    if other.name != "__init__.py":
                        package = package.rpartition(".")[0]
                    base = (
                        importlib.util.resolve_name("." * node.level + (node.module or ""), package)
                        if node.level
                        else node.module
                    )
                    for alias in node.names:
                        if base == module and alias.name == name:
                            names.add(alias.asname or alias.name)
                        elif f"{base}.{alias.name}" == module:
                            aliases.add(alias.asname or alias.name)
        for call in _calls(other):
            func = call.func
            if method:
                if (
                    other == path
                    and isinstance(func, ast.Attribute)
                    and func.attr == name
                    and isinstance(func.value, ast.Name)
                    and func.value.id == "self"
                ):
                    yield other, call
            elif (isinstance(func, ast.Name) and func.id in names) or (
                isinstance(func, ast.Attribute)
                and func.attr == name
                and isinstance(func.value, ast.Name)
                and func.value.id in aliases
            ):
                yield other, call


def _argument(
    path: Path, call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef, param: str
) -> ast.expr | None:
    """The expression `call` passes for `param` of `function` (defined at `path`); None: the
    default."""
    names = _params(function)
    if isinstance(_parents(path).get(function), ast.ClassDef) and names[:1] == ["self"]:
        names = names[1:]
    index = names.index(param)
    if index < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args):
        return call.args[index]
    return _keyword(call, param)


# --- which keys an expression can be --------------------------------------------------------------


class Unresolved(Exception):
    """The test cannot tell which keys an expression stands for (write a constant there)."""


@dataclass(frozen=True)
class Pattern:
    """An f-string key: the keys it can be match `regex`."""

    regex: str


def _defined(path: Path, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The function or method `name` defined in the module at `path`."""
    for node in ast.walk(_tree(path)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            return node
    return None


def _probe_reasons(path: Path) -> set[str]:
    """The reasons of the probe errors a flow module can catch: those its source module
    (sources/<same name>.py) names, and those the sources.errors factories it uses return."""
    source = COMPONENT / "sources" / path.name
    if source.parent.parent != COMPONENT or not source.exists():
        return {cls.reason for cls in _subclasses(ProbeError)}
    namespace = vars(_module(source))
    classes = {v for v in namespace.values() if inspect.isclass(v) and issubclass(v, ProbeError)}
    errors_path = COMPONENT / "sources" / "errors.py"
    errors_module = _module(errors_path)
    for name, value in namespace.items():
        if inspect.isfunction(value) and value.__module__ == errors_module.__name__:
            function = _defined(errors_path, name)
            assert function is not None
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and isinstance(node.value, ast.Call):
                    made = getattr(errors_module, _callee(node.value), None)
                    if inspect.isclass(made) and issubclass(made, ProbeError):
                        classes.add(made)
    return {cls.reason for cls in classes}


def _subclasses[T](cls: type[T]) -> set[type[T]]:
    found = {cls}
    for sub in cls.__subclasses__():
        found |= _subclasses(sub)
    return found


def resolve(path: Path, node: ast.expr, index: int | None = None, depth: int = 0) -> set[Any]:
    """The str values (or `Pattern`s) `node` can have at run time; with `index`, the values of
    element `index` of the tuple it is. Raises `Unresolved`."""
    if depth > 8:
        raise Unresolved(_where(path, node))
    deeper = depth + 1
    if isinstance(node, ast.Await):
        return resolve(path, node.value, index, deeper)
    if index is not None and isinstance(node, (ast.Tuple, ast.List)):
        return resolve(path, node.elts[index], None, deeper)
    if isinstance(node, ast.Constant) and index is None:
        if node.value is None:
            return set()  # no key (no error)
        if isinstance(node.value, str):
            return {node.value}
    if isinstance(node, ast.JoinedStr) and index is None:
        regex = "".join(
            re.escape(str(part.value)) if isinstance(part, ast.Constant) else ".+"
            for part in node.values
        )
        return {Pattern(regex)}
    if isinstance(node, ast.IfExp):
        return resolve(path, node.body, index, deeper) | resolve(path, node.orelse, index, deeper)
    if isinstance(node, ast.Attribute) and node.attr == "reason" and index is None:
        return _probe_reasons(path)
    if isinstance(node, ast.Name):
        return _resolve_name(path, node, index, deeper)
    if isinstance(node, ast.Call):
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Name)
        ):
            table = getattr(_module(path), func.value.id, None)
            if isinstance(table, Mapping) and len(node.args) == 2:
                return set(table.values()) | resolve(path, node.args[1], index, deeper)
        if isinstance(func, ast.Name) and func.id == "str" and len(node.args) == 1:
            return resolve(path, node.args[0], index, deeper)
        home, function = _definition(path, _callee(node))
        if function is not None:
            values: set[Any] = set()
            for ret in ast.walk(function):
                if isinstance(ret, ast.Return) and ret.value is not None:
                    if isinstance(ret.value, ast.Constant) and ret.value.value is None:
                        continue
                    values |= resolve(home, ret.value, index, deeper)
            return values
    raise Unresolved(_where(path, node))


def _definition(
    path: Path, name: str
) -> tuple[Path, ast.FunctionDef | ast.AsyncFunctionDef | None]:
    """Where the function `name` called in the module at `path` is defined: in that module (a
    function or a method), or in the integration module it is imported from."""
    function = _defined(path, name)
    if function is not None:
        return path, function
    imported = getattr(_module(path), name, None)
    if inspect.isfunction(imported):
        source = Path(inspect.getsourcefile(imported) or "")
        if source.is_relative_to(COMPONENT):
            return source, _defined(source, name)
    return path, None


def _bindings_of(path: Path, node: ast.Name) -> list[tuple[Path, ast.expr, int | None]] | None:
    """What the local name `node` is bound to: (path, expression, tuple index or None) for each
    assignment in its function, each call's argument when it is a parameter; None when it is
    not local (a module-level name)."""
    function = _function(path, node)
    if function is None:
        return None
    name = node.id
    if name in _params(function):
        sites = list(_call_sites(path, function))
        if not sites:
            raise Unresolved(f"{_where(path, node)}: {function.name}() is never called")
        found: list[tuple[Path, ast.expr, int | None]] = []
        for site_path, call in sites:
            argument = _argument(path, call, function, name)
            if argument is None:
                raise Unresolved(f"{_where(site_path, call)}: {name} left at its default")
            found.append((site_path, argument, None))
        return found
    bound: list[tuple[Path, ast.expr, int | None]] = []
    for stmt in ast.walk(function):
        if isinstance(stmt, ast.Assign):
            pairs = [(target, stmt.value) for target in stmt.targets]
        elif isinstance(stmt, (ast.NamedExpr, ast.AnnAssign)) and stmt.value is not None:
            pairs = [(stmt.target, stmt.value)]
        elif isinstance(stmt, (ast.For, ast.AsyncFor)) and isinstance(
            stmt.iter, (ast.Tuple, ast.List)
        ):
            pairs = [(stmt.target, item) for item in stmt.iter.elts]
        else:
            continue
        for target, value in pairs:
            if isinstance(target, ast.Name) and target.id == name:
                bound.append((path, value, None))
            elif isinstance(target, ast.Tuple):
                for position, element in enumerate(target.elts):
                    if isinstance(element, ast.Name) and element.id == name:
                        bound.append((path, value, position))
    return bound or None


def _resolve_name(path: Path, node: ast.Name, index: int | None, depth: int) -> set[Any]:
    """A name's values: the union over what it is bound to. A binding the test cannot follow
    (a future's result, a library's return value) is left out as long as another one resolves;
    with none resolving the name is `Unresolved`."""
    bindings = _bindings_of(path, node)
    if bindings is None:
        value = getattr(_module(path), node.id, None)
        if isinstance(value, str) and index is None:
            return {value}
        raise Unresolved(_where(path, node))
    found: set[Any] = set()
    failures: list[Unresolved] = []
    for where, expr, position in bindings:
        try:
            found |= resolve(where, expr, position if position is not None else index, depth)
        except Unresolved as err:
            failures.append(err)
    if failures and len(failures) == len(bindings):
        raise failures[0]
    return found


def _missing(values: set[Any], section: Mapping[str, Any], need: str | None = None) -> list[str]:
    """The values (or patterns) without an entry in `section` (with key `need` in it)."""
    missing = []
    for value in values:
        if isinstance(value, Pattern):
            if not any(re.fullmatch(value.regex, key) for key in section):
                missing.append(f"/{value.regex}/")
            continue
        entry = section.get(value)
        if entry is None or (
            need is not None and not (isinstance(entry, dict) and entry.get(need))
        ):
            missing.append(value)
    return sorted(missing)


# --- entity rows ----------------------------------------------------------------------------------


def _walk(value: Any) -> Iterator[EntityDescription]:
    if isinstance(value, EntityDescription):
        yield value
    elif isinstance(value, (tuple, list, set, frozenset)):
        for item in value:
            yield from _walk(item)
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _walk(item)


def _submodules(package: ModuleType) -> Iterator[ModuleType]:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        yield importlib.import_module(f"{package.__name__}.{info.name}")


def platform_of(row: EntityDescription) -> str:
    """The entity platform of a row, from Home Assistant's description class it derives from."""
    for cls in type(row).__mro__:
        parts = cls.__module__.split(".")
        if parts[:2] == ["homeassistant", "components"] and cls.__name__.endswith(
            "EntityDescription"
        ):
            return parts[2]
    if isinstance(row, VictronImageEntityDescription):
        return "image"
    raise AssertionError(f"{row.key}: no platform for {type(row).__name__}")


def entity_rows() -> list[tuple[str, str, EntityDescription]]:
    """(where, platform, row) of every row of the description tables and the sources' tables."""
    rows: dict[int, tuple[str, str, EntityDescription]] = {}
    for module in _submodules(descriptions):
        for name, value in vars(module).items():
            for row in _walk(value):
                rows.setdefault(id(row), (f"{module.__name__}.{name}", platform_of(row), row))
    for module in _submodules(sources):
        for name, cls in vars(module).items():
            if (
                inspect.isclass(cls)
                and issubclass(cls, Source)
                and cls.__module__ == module.__name__
            ):
                for platform, table in cls.tables.items():
                    for row in table:
                        assert platform_of(row) == str(platform), (cls.__name__, row.key)
                        rows.setdefault(id(row), (f"{module.__name__}.{name}", str(platform), row))
    return list(rows.values())


def test_rows_are_found() -> None:
    """The walk finds every table (a sanity check on the walk itself)."""
    from custom_components.victron_venus.descriptions import jbd, logbook, vedirect, venus

    found = {id(row) for _where, _platform, row in entity_rows()}
    for table in (vedirect.SENSORS, vedirect.BINARY_SENSORS, jbd.SENSORS, logbook.SENSORS):
        assert {id(row) for row in table} <= found
    assert {id(row) for rows in venus.SENSORS.values() for row in rows} <= found
    platforms = {platform for _where, platform, _row in entity_rows()}
    assert {"sensor", "binary_sensor", "device_tracker", "image"} <= platforms


def name_problems(strings: Mapping[str, Any]) -> list[str]:
    """Rows without a name in `strings` (or whose name has placeholders the row does not give)."""
    entity = strings["entity"]
    problems = []
    for where, platform, row in entity_rows():
        if row.translation_key is None:
            if row.name is not None:
                problems.append(f"{where} {row.key}: no translation_key (and not name=None)")
            continue
        name = entity.get(platform, {}).get(row.translation_key, {}).get("name")
        if not name:
            problems.append(f"{where} {row.key}: entity.{platform}.{row.translation_key}.name")
            continue
        wanted = set(re.findall(r"\{(\w+)\}", name))
        given = set(row.translation_placeholders or {})
        if not wanted <= given:
            problems.append(f"{where} {row.key}: placeholders {sorted(wanted - given)} not given")
    return problems


def test_every_entity_row_has_a_name() -> None:
    """Every row's translation_key has a name under entity.<platform> whose placeholders the row
    gives; a row without a translation_key deliberately takes the device's name (name=None)."""
    assert name_problems(STRINGS) == []


def state_problems(strings: Mapping[str, Any]) -> tuple[list[str], int]:
    """(options of enum and select rows without a state label in `strings`, options seen)."""
    entity = strings["entity"]
    problems = []
    options_seen = 0
    for where, platform, row in entity_rows():
        options = getattr(row, "options", None)
        if options is None or callable(options):
            continue
        states = entity.get(platform, {}).get(row.translation_key, {}).get("state", {})
        for option in options:
            options_seen += 1
            if not states.get(option):
                problems.append(f"{where} {row.key}: {platform}.{row.translation_key}.{option}")
    return problems, options_seen


def test_every_enum_and_select_option_has_a_state_label() -> None:
    """Every option of an enum sensor or a select row has its label under ...state.<option>."""
    problems, options_seen = state_problems(STRINGS)
    assert problems == []
    assert options_seen > 100  # the VE.Direct and Venus enums alone have more


# --- flows: selectors, errors, aborts -------------------------------------------------------------


def _selector_configs() -> Iterator[tuple[Path, ast.Call]]:
    for path in _paths():
        for call in _calls(path):
            if _callee(call) == "SelectSelectorConfig":
                yield path, call


def _bindings(path: Path, call: ast.Call) -> list[tuple[Path, dict[str, ast.expr]]]:
    """The contexts a selector config is built in: the module itself, or for each call of the
    function it is in, that call's arguments bound to the function's parameters."""
    function = _function(path, call)
    used = {n.id for n in ast.walk(call) if isinstance(n, ast.Name)}
    if function is None or not used & set(_params(function)):
        return [(path, {})]
    bound = []
    for site_path, site in _call_sites(path, function):
        args = {
            name: arg
            for name in used & set(_params(function))
            if (arg := _argument(path, site, function, name)) is not None
        }
        bound.append((site_path, args))
    return bound


def _evaluate(path: Path, node: ast.expr, names: dict[str, ast.expr], at: Path) -> Any:
    """Evaluate `node` in its module's namespace, its parameters replaced by `names`
    (expressions of the module at `at`)."""
    namespace = dict(vars(_module(path)))
    for name, expr in names.items():
        namespace[name] = _evaluate(at, expr, {}, at)
    code = compile(ast.Expression(node), str(path), "eval")
    return eval(code, namespace)  # the integration's own expressions


def selector_problems(strings: Mapping[str, Any]) -> tuple[list[str], set[str]]:
    """(select selector options without a label in `strings`, the selector keys seen)."""
    problems = []
    keys_seen = set()
    for path, call in _selector_configs():
        options = _keyword(call, "options")
        key = _keyword(call, "translation_key")
        assert options is not None, _where(path, call)
        for at, names in _bindings(path, call):
            if key is None:
                try:
                    values = _evaluate(path, options, names, at)
                except NameError:
                    continue  # built from run-time data
                problems.append(
                    f"{_where(path, call)}: fixed options {values} need a translation_key"
                )
                continue
            translation_key = _evaluate(path, key, names, at)
            keys_seen.add(translation_key)
            labels = strings.get("selector", {}).get(translation_key, {}).get("options", {})
            for option in _evaluate(path, options, names, at):
                value = option["value"] if isinstance(option, Mapping) else option
                if not labels.get(value):
                    problems.append(f"{_where(path, call)}: selector.{translation_key}.{value}")
    return problems, keys_seen


def test_every_selector_option_has_a_label() -> None:
    """A select selector of a form either has a translation_key whose selector.<key>.options
    label every option, or its options are run-time data (batteries, ports) with their labels."""
    problems, keys_seen = selector_problems(STRINGS)
    assert problems == []
    assert {"tls_mode", "mqtt_protocol", "service_types", "wiring", "power_kind"} <= keys_seen


def _flow_paths() -> list[Path]:
    return [*sorted((COMPONENT / "flows").glob("*.py")), COMPONENT / "config_flow.py"]


def flow_errors_and_aborts() -> tuple[dict[str, set[Any]], dict[str, set[Any]]]:
    """(where -> error keys, where -> abort reasons) of every flow step, from the syntax:
    `errors[field] = ...`, `async_abort(reason=...)`, `_abort_if_unique_id_mismatch(reason=...)`,
    `_abort_if_unique_id_configured()` (already_configured), `async_update_reload_and_abort`
    with a reason (without one Home Assistant's own text is used)."""
    errors: dict[str, set[Any]] = {}
    aborts: dict[str, set[Any]] = {}
    for path in _flow_paths():
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Assign):
                for target in node.targets:
                    if (
                        isinstance(target, ast.Subscript)
                        and isinstance(target.value, ast.Name)
                        and target.value.id == "errors"
                    ):
                        errors[_where(path, node)] = resolve(path, node.value)
            elif isinstance(node, ast.Call):
                callee = _callee(node)
                reason = _keyword(node, "reason")
                if callee == "_abort_if_unique_id_configured":
                    aborts[_where(path, node)] = {"already_configured"}
                elif (
                    callee
                    in (
                        "async_abort",
                        "_abort_if_unique_id_mismatch",
                        "async_update_reload_and_abort",
                    )
                    and reason is not None
                ):
                    aborts[_where(path, node)] = resolve(path, reason)
                elif callee == "AbortFlow":
                    aborts[_where(path, node)] = resolve(path, node.args[0])
    return errors, aborts


def flow_problems(strings: Mapping[str, Any]) -> list[str]:
    """Form errors and abort reasons without text in `strings`."""
    errors, aborts = flow_errors_and_aborts()
    return [
        f"{where}: config.error.{key}"
        for where, keys in errors.items()
        for key in _missing(keys, strings["config"]["error"])
    ] + [
        f"{where}: config.abort.{key}"
        for where, keys in aborts.items()
        for key in _missing(keys, strings["config"]["abort"])
    ]


def test_every_flow_error_and_abort_has_text() -> None:
    """Every error key a form can show is under config.error, every abort reason under
    config.abort (the options flow shows no errors)."""
    assert flow_problems(STRINGS) == []
    errors, aborts = flow_errors_and_aborts()
    every_error = set().union(*errors.values())
    # the probe errors, the Venus connection errors and the field errors are all found
    assert {"port_not_found", "gx_cannot_connect", "tls_error", "member_count"} <= every_error
    assert {"ca_required", "ble_no_response", "speed_unit"} <= every_error
    assert {"already_configured", "wrong_gx", "no_data"} <= set().union(*aborts.values())


# --- repair issues and exceptions -----------------------------------------------------------------


def _translation_keys() -> Iterator[tuple[Path, ast.Call, str]]:
    """(path, call, kind) of every call with a translation_key outside the description tables:
    kind "issue" (ir.async_create_issue), "exception" (a HomeAssistantError), "selector"."""
    for path in _paths():
        if path.parent.name == "descriptions":
            continue
        for call in _calls(path):
            if _keyword(call, "translation_key") is None:
                continue
            callee = _callee(call)
            made = getattr(_module(path), callee, None)
            if callee == "async_create_issue":
                yield path, call, "issue"
            elif inspect.isclass(made) and issubclass(made, HomeAssistantError):
                yield path, call, "exception"
            elif callee.endswith("SelectorConfig"):
                yield path, call, "selector"
            elif callee.endswith("EntityDescription"):
                continue  # a row: test_every_entity_row_has_a_name
            else:
                raise AssertionError(f"{_where(path, call)}: what is {callee}'s translation_key?")


def issue_and_exception_problems(
    strings: Mapping[str, Any],
) -> tuple[list[str], dict[str, set[Any]]]:
    """(repair issues and exceptions without text in `strings`, the keys seen by kind)."""
    problems = []
    kinds: dict[str, set[Any]] = {"issue": set(), "exception": set()}
    for path, call, kind in _translation_keys():
        if kind == "selector":
            continue
        keys = resolve(path, _keyword(call, "translation_key"))  # type: ignore[arg-type]
        kinds[kind] |= keys
        if kind == "issue":
            section = strings.get("issues", {})
            missing = _missing(keys, section, "title")
            missing += [
                k
                for k in _missing(keys, section, "description")
                if not section.get(k, {}).get("fix_flow")
            ]
            problems += [f"{_where(path, call)}: issues.{key}" for key in missing]
        else:
            problems += [
                f"{_where(path, call)}: exceptions.{key}.message"
                for key in _missing(keys, strings["exceptions"], "message")
            ]
    return problems, kinds


def test_every_repair_issue_and_exception_has_text() -> None:
    """Every repair issue has a title and a description (or a fix flow) under issues.<key>; every
    translated exception (HomeAssistantError and its kin) has exceptions.<key>.message."""
    problems, kinds = issue_and_exception_problems(STRINGS)
    assert problems == []
    assert "vedirect_other_device" in kinds["issue"]
    assert {"not_a_logbook", "trip_not_found", "no_trips"} <= kinds["exception"]


def _without(strings: Mapping[str, Any], *paths: str) -> dict[str, Any]:
    """A deep copy of `strings` with the dotted `paths` removed."""
    copy: dict[str, Any] = json.loads(json.dumps(strings))
    for path in paths:
        *parents, last = path.split(".")
        node = copy
        for part in parents:
            node = node[part]
        del node[last]
    return copy


def _found(problems: list[str], text: str) -> bool:
    return any(text in problem for problem in problems)


def test_a_missing_text_is_found() -> None:
    """Each check reports a text taken out of strings.json, wherever the code gets its key
    from: a row, an enum's options, a selector, a constant, a method's return value, a loop
    over tuples, a probe error's reason, a helper's parameter, an f-string."""
    cut = _without(
        STRINGS, "entity.sensor.battery_voltage", "entity.sensor.device_state.state.bulk"
    )
    assert _found(name_problems(cut), "entity.sensor.battery_voltage.name")
    assert _found(state_problems(cut)[0], "sensor.device_state.bulk")
    cut = _without(STRINGS, "entity.sensor.cell_voltage_n.name")
    cut["entity"]["sensor"]["cell_voltage_n"]["name"] = "Cell {number} voltage"
    assert _found(name_problems(cut), "placeholders ['number'] not given")
    cut = _without(STRINGS, "selector.wiring.options.series", "selector.tls_mode.options.pinned")
    problems = selector_problems(cut)[0]
    assert _found(problems, "selector.wiring.series")
    assert _found(problems, "selector.tls_mode.pinned")  # through the _select helper
    errors = ("member_count", "speed_unit", "gx_cannot_connect", "ca_required")
    cut = _without(STRINGS, *(f"config.error.{key}" for key in errors), "config.abort.no_data")
    problems = flow_problems(cut)
    assert all(_found(problems, f"config.error.{key}") for key in errors)
    assert _found(problems, "config.abort.no_data")  # a VE.Direct probe error's reason
    cut = _without(
        STRINGS,
        "exceptions.range_too_long",
        "exceptions.control_refused",
        "issues.vedirect_other_device",
        "issues.venus_too_many_devices",
        "issues.venus_too_much_data",
    )
    problems = issue_and_exception_problems(cut)[0]
    assert _found(problems, "exceptions.range_too_long.message")  # services._error("...")
    assert _found(problems, "exceptions.control_refused.message")  # control.error(REFUSED)
    assert _found(problems, "issues.vedirect_other_device")
    assert _found(problems, "issues./venus_.+/")  # f"venus_{limit}"


# --- scripts/gen_strings.py ---------------------------------------------------------------------


def _gen_strings() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_strings", REPO / "scripts" / "gen_strings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _tool_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, strings: dict[str, Any]) -> Any:
    """gen_strings working on a strings.json and translations/en.json in tmp_path."""
    tool = _gen_strings()
    monkeypatch.setattr(tool, "STRINGS", tmp_path / "strings.json")
    monkeypatch.setattr(tool, "EN", tmp_path / "translations" / "en.json")
    tool.STRINGS.write_text(tool.dump(strings), encoding="utf-8")
    return tool


def test_gen_strings_check_finds_a_stale_copy_and_the_sync_fixes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--check exits 1 while en.json differs from strings.json and writes nothing; the sync
    copies strings.json byte for byte."""
    tool = _tool_on(tmp_path, monkeypatch, {"config": {"error": {"x": "An error."}}})
    tool.EN.parent.mkdir()
    tool.EN.write_text("{}\n", encoding="utf-8")
    assert tool.main(["--check"]) == 1
    assert tool.EN.read_text(encoding="utf-8") == "{}\n"
    assert tool.main([]) == 0
    assert tool.EN.read_bytes() == tool.STRINGS.read_bytes()
    assert tool.main(["--check"]) == 0


def test_gen_strings_lays_out_strings_json_and_reads_no_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync rewrites a strings.json laid out otherwise in its one layout (and copies that);
    --check compares the copy only. The tool has no other source of text: it defines no
    legacy-dict reader or merger and imports nothing of the integration."""
    tool = _tool_on(tmp_path, monkeypatch, {})
    tool.STRINGS.write_text('{"config": {"error": {"x": "Ä b."}}}', encoding="utf-8")
    assert tool.main([]) == 0
    expected = '{\n  "config": {\n    "error": {\n      "x": "Ä b."\n    }\n  }\n}\n'
    assert tool.STRINGS.read_text(encoding="utf-8") == expected
    assert tool.EN.read_text(encoding="utf-8") == expected
    assert tool.main(["--check"]) == 0
    assert not {"legacy_fragments", "merge", "LEGACY_DICTS"} & set(vars(tool))
    tree = _tree(REPO / "scripts" / "gen_strings.py")
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    assert not imported & {"importlib", "pkgutil", "custom_components"}


# --- no English in Python -------------------------------------------------------------------------


def _module_assignments(tree: ast.Module) -> Iterator[tuple[str, ast.expr, ast.stmt]]:
    for stmt in tree.body:
        if isinstance(stmt, ast.Assign) and stmt.value is not None:
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    yield target.id, stmt.value, stmt
        elif (
            isinstance(stmt, ast.AnnAssign)
            and stmt.value is not None
            and isinstance(stmt.target, ast.Name)
        ):
            yield stmt.target.id, stmt.value, stmt


def _is_text(node: ast.expr, *, words: bool = True) -> bool:
    """A str literal (or f-string or sum with literal parts); with `words`, one that reads as
    English words (letters, a space, letters), not an identifier or a path ("at_rest",
    "Dc/0/Voltage")."""
    if isinstance(node, ast.JoinedStr):
        return any(_is_text(p, words=words) for p in node.values if isinstance(p, ast.Constant))
    if isinstance(node, ast.BinOp):
        return _is_text(node.left, words=words) or _is_text(node.right, words=words)
    if not (isinstance(node, ast.Constant) and isinstance(node.value, str)):
        return False
    return not words or re.search(r"[A-Za-z] +[A-Za-z(]", node.value) is not None


def _label_tables(tree: ast.Module) -> dict[str, ast.stmt]:
    """Module-level dicts whose values are English text (name -> statement)."""
    return {
        name: stmt
        for name, value, stmt in _module_assignments(tree)
        if isinstance(value, ast.Dict)
        and value.values
        and all(isinstance(v, (ast.Constant, ast.JoinedStr, ast.BinOp)) for v in value.values)
        and any(_is_text(v) for v in value.values)
    }


def english_in_python(
    modules: list[tuple[Path, ast.Module]] | None = None,
) -> tuple[list[str], list[str]]:
    """(legacy dicts, other English labels) in the integration's modules (or in `modules`), as
    "file:line NAME"."""
    legacy: list[str] = []
    labels: list[str] = []
    for path, tree in modules if modules is not None else [(p, _tree(p)) for p in _paths()]:
        relative = str(path.relative_to(COMPONENT))
        if relative.startswith("protocol/"):
            continue  # the pure protocol library: field and flag names of the wire format
        for name, _value, stmt in _module_assignments(tree):
            if name in LEGACY_DICTS:
                legacy.append(f"{_where(path, stmt)} {name}")
        tables = _label_tables(tree)
        for name, stmt in tables.items():
            if name not in LEGACY_DICTS and (relative, name) not in NOT_LABELS:
                labels.append(f"{_where(path, stmt)} {name} (a dict of labels)")
        for call in _calls(path, tree):
            if _callee(call) != "SelectOptionDict":
                continue
            label = _keyword(call, "label")
            if label is None:
                continue
            literal = _is_text(label, words=False) or (
                isinstance(label, ast.Subscript)
                and isinstance(label.value, ast.Name)
                and label.value.id in tables
            )
            if isinstance(label, ast.Name):
                # bound by a comprehension over a label table: `for k, label in TABLE.items()`
                for node in ast.walk(tree):
                    if isinstance(node, ast.comprehension) and any(
                        isinstance(n, ast.Name) and n.id == label.id for n in ast.walk(node.target)
                    ):
                        literal |= any(
                            isinstance(n, ast.Name) and n.id in tables for n in ast.walk(node.iter)
                        )
            if literal:
                labels.append(f"{_where(path, call)} SelectOptionDict label (use translation_key)")
    return legacy, labels


def test_no_legacy_string_dicts_remain() -> None:
    """No module defines NAMES, STATE_NAMES, STRINGS, OPTIONS_STRINGS, ISSUES or EXCEPTIONS:
    their text belongs in strings.json (nothing merges such a dict into it any more)."""
    legacy, _labels = english_in_python()
    assert legacy == []


def test_no_english_labels_in_python() -> None:
    """No select option gets a literal English label, and no module keeps a table of English
    labels (device name suffixes aside): selector options are labelled in strings.json."""
    _legacy, labels = english_in_python()
    assert labels == []


def test_the_scan_finds_english() -> None:
    """The scans above see the forms English took before strings.json was its only home."""
    source = """
NAMES = {"sensor": {"x": "X"}}
LABELS = {"a": "Plain text", "b": "Other"}
IDS = {1: "at_rest"}
def schema():
    return [SelectOptionDict(value="a", label="Series"),
            SelectOptionDict(value="b", label=LABELS["b"]),
            *[SelectOptionDict(value=k, label=v) for k, v in LABELS.items()],
            SelectOptionDict(value="c", label=name)]
"""
    path = COMPONENT / "flows" / "_scan_example.py"
    legacy, labels = english_in_python([(path, ast.parse(source))])
    assert legacy == ["flows/_scan_example.py:2 NAMES"]
    assert labels == [
        "flows/_scan_example.py:3 LABELS (a dict of labels)",
        "flows/_scan_example.py:6 SelectOptionDict label (use translation_key)",
        "flows/_scan_example.py:7 SelectOptionDict label (use translation_key)",
        "flows/_scan_example.py:8 SelectOptionDict label (use translation_key)",
    ]


def test_integration_package_is_the_one_scanned() -> None:
    """The scan reads the imported integration's own files."""
    assert Path(integration.__file__).parent == COMPONENT
