"""localcloud's modules import each other without cycles, states reach their host only through
``StateHost`` (never its store), and the interpreter's parts are registered in one module.

Read from the source with ``ast``: an import under ``if TYPE_CHECKING:`` is for annotations only and
is left out; an import inside a function counts (it runs when called, and was the usual way a
cycle was hidden)."""

from __future__ import annotations

import ast
from pathlib import Path

import localcloud

ROOT = Path(localcloud.__file__).parent
ASL = ROOT / "asl"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def owner(name: str) -> str | None:
    """The localcloud module (or package) a dotted name lives in."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def runtime_imports(path: Path) -> set[str]:
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if isinstance(child, ast.Import):
                found.update(filter(None, (owner(alias.name) for alias in child.names)))
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                found.update(filter(None, (owner(f"{child.module}.{alias.name}") for alias in child.names)))
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import cycle once, as the path that closes it (depth-first search)."""
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def walk(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for target in sorted(graph.get(node, ())):
            if target == node:
                continue
            if state.get(target) == "open":
                found.append([*trail[trail.index(target) :], target])
            elif target not in state:
                walk(target, [*trail, target])
        state[node] = "done"

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    return found


def test_no_localcloud_module_takes_part_in_an_import_cycle() -> None:
    graph = {name: runtime_imports(path) for name, path in MODULES.items()}
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_three_modules() -> None:
    graph = {"definition": {"registry"}, "registry": {"processor"}, "processor": {"definition"}}
    assert cycles(graph) == [["definition", "registry", "processor", "definition"]]


def attribute_uses(path: Path, attribute: str) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute) and node.attr == attribute
    ]


def test_states_integrations_and_processors_never_reach_into_a_store() -> None:
    running = [*(ASL / "states").glob("*.py"), *(ASL / "integrations").glob("*.py")]
    running += [*(ASL / "distributed").glob("*.py"), ASL / "engine.py", ASL / "runtime.py"]
    reaching = {module_name(path): attribute_uses(path, "store") for path in running}
    assert {name: lines for name, lines in reaching.items() if lines} == {}


def test_integrations_and_map_processors_are_registered_in_registrations_only() -> None:
    registering = {
        module_name(path): attribute_uses(path, "register")
        for path in ASL.rglob("*.py")
        if path.name != "registrations.py"
    }
    assert {name: lines for name, lines in registering.items() if lines} == {}
    from localcloud.asl.distributed.processor import DistributedProcessor
    from localcloud.asl.registrations import default_processors
    from localcloud.asl.states.map_state import InlineProcessor

    assert dict(default_processors()) == {"INLINE": InlineProcessor, "DISTRIBUTED": DistributedProcessor}
