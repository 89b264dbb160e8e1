"""The house's import contracts (DESIGN.md "The house", "Rules of the house").

The import graph of custom_components/victron_venus is read from the source with `ast` (every
`import` and `from … import`, at module level and inside functions, since a lazy import is still
a dependency). Three named contracts hold:

- **pure-core**: protocol/, battery/ (the maths) and the pure trips modules import nothing from
  Home Assistant, nothing that does I/O (asyncio, sockets, serial), and nothing of the
  integration above them.
- **layers**: a module imports only from its own layer or the layers below it
  (const → protocol → battery → trips → transport → coordinator → entity → descriptions →
  sources → flows/services/diagnostics/platforms → config_flow/__init__); nothing runs back up.
- **no-cycles**: the graph has no cycle (no strongly connected component of two or more modules).
- **one-availability-owner**: only coordinator.py sets a coordinator's `last_update_success`
  (sources call `async_push` / `async_mark_unavailable`).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
import pkgutil

import custom_components.victron_venus as integration
from tests.shared import REPO

PACKAGE = "custom_components.victron_venus"
ROOT = REPO / "custom_components" / "victron_venus"

#: Layers from the bottom up; the first matching prefix decides (module names relative to ROOT).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("const", ("const",)),
    ("protocol", ("protocol",)),
    ("battery", ("battery",)),
    ("trips", ("trips",)),
    ("transport", ("transport",)),
    ("coordinator", ("coordinator",)),
    ("entity", ("entity", "control")),
    ("descriptions", ("descriptions",)),
    ("sources", ("sources",)),
    (
        "frontline",
        (
            "flows",
            "services",
            "diagnostics",
            "repairs",
            "logbook",
            "sensor",
            "binary_sensor",
            "device_tracker",
            "image",
            "number",
            "select",
            "switch",
            "button",
            "time",
        ),
    ),
    ("root", ("config_flow", "__init__")),
]

#: Pure modules (protocol/, the battery maths, and the trips feature's state machine and maths).
PURE_PREFIXES = (
    "protocol",
    "battery",
    "trips.detector",
    "trips.sampling",
    "trips.trip",
    "trips.efficiency",
)
#: What a pure module may not import (besides anything of the integration outside the pure set).
IMPURE_TOP_LEVEL = {"homeassistant", "asyncio", "socket", "serial", "serialx", "bleak", "paho"}


def _modules() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path) -> Iterator[str]:
    """Absolute names (relative to ROOT for ours, else full) of everything `name` imports."""
    is_package = path.name == "__init__.py"
    base = [] if name == "__init__" else name.split(".")
    package = base if is_package else base[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield _ours(alias.name) or "!" + alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                module = node.module or ""
                ours = _ours(module)
                if ours is None:
                    yield "!" + module
                    continue
                target = ours.split(".") if ours != "__init__" else []
            else:
                up = node.level - 1
                target = package[: len(package) - up] if up else list(package)
                if node.module:
                    target = target + node.module.split(".")
            for alias in node.names:
                yield from _resolve(target, alias.name)


def _ours(module: str) -> str | None:
    if module == PACKAGE:
        return "__init__"
    if module.startswith(PACKAGE + "."):
        return module[len(PACKAGE) + 1 :]
    return None


def _resolve(target: list[str], name: str) -> Iterator[str]:
    modules = _modules()
    submodule = ".".join([*target, name])
    if submodule in modules:
        yield submodule
    else:
        yield ".".join(target) or "__init__"


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: set(_imports(name, path)) for name, path in modules.items()}


def _layer(module: str) -> int:
    for index, (_name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if module == prefix or module.startswith(prefix + "."):
                return index
    raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in this test")


def test_contract_pure_core() -> None:
    """protocol/ and the pure trips modules import no Home Assistant, no I/O, nothing above."""
    offences = []
    for module, imports in _graph().items():
        if not module.startswith(PURE_PREFIXES):
            continue
        for target in imports:
            if target.startswith("!"):
                if target[1:].split(".")[0] in IMPURE_TOP_LEVEL:
                    offences.append(f"{module} imports {target[1:]}")
            elif not (target.startswith(PURE_PREFIXES) or target == "const"):
                offences.append(f"{module} imports {target}")
    assert offences == []


def test_contract_layers() -> None:
    """Every import stays in its own layer or goes down; none runs back up."""
    offences = []
    for module, imports in _graph().items():
        for target in imports:
            if target.startswith("!") or target == module:
                continue
            if _layer(target) > _layer(module):
                offences.append(
                    f"{module} ({LAYERS[_layer(module)][0]}) imports {target} "
                    f"({LAYERS[_layer(target)][0]})"
                )
    assert sorted(offences) == []


def test_contract_no_cycles() -> None:
    """No import cycle (Tarjan's strongly connected components of two or more modules)."""
    graph = {
        module: {t for t in imports if not t.startswith("!") and t != module}
        for module, imports in _graph().items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert cycles == []


def test_contract_one_availability_owner() -> None:
    """Only coordinator.py assigns `last_update_success`; everyone else reads it."""
    offences: list[str] = []
    for module, path in _modules().items():
        if module == "coordinator":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            else:
                continue
            offences.extend(
                f"{module}:{node.lineno}"
                for target in targets
                if isinstance(target, ast.Attribute) and target.attr == "last_update_success"
            )
    assert offences == []


def test_the_graph_reader_sees_real_edges() -> None:
    """The reader itself: known edges of the house are found (so the contracts are not vacuous)."""
    graph = _graph()
    assert "const" in graph["sensor"] or "entity" in graph["sensor"]
    assert "protocol.vedirect" in graph["sources.vedirect"]
    assert "!homeassistant.core" in graph["entity"]
    # every module of the package, as Python's import system finds them (the root is __init__)
    prefix = f"{integration.__name__}."
    found = {
        m.name.removeprefix(prefix) for m in pkgutil.walk_packages(integration.__path__, prefix)
    }
    assert set(graph) == found | {"__init__"}
