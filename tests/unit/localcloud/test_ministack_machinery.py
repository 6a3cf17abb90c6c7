"""What would start MiniStack's own schedule and rule firing, read off the pinned MiniStack's source
(nothing of it is imported here), and how localcloud reports that none of it runs."""

from __future__ import annotations

import ast
import importlib.util
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localcloud.server import ministack
from localcloud.server.ministack import FIRING_THREAD_NAMES, REPLACED_MODULES, own_machinery


def _source(relative: str) -> ast.Module:
    spec = importlib.util.find_spec("ministack")
    assert spec is not None and spec.submodule_search_locations
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    return ast.parse(path.read_text(encoding="utf-8"))


def _functions(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _thread_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    names = []
    for node in ast.walk(function):
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "threading.Thread":
            names += [
                kw.value.value
                for kw in node.keywords
                if kw.arg == "name" and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str)
            ]
    return names


def test_the_firing_threads_watched_for_are_the_ones_ministacks_start_scheduler_functions_start() -> None:
    started = []
    for module in ("services/scheduler.py", "services/eventbridge.py"):
        (start,) = [f for f in _functions(_source(module)) if f.name == "start_scheduler"]
        started += _thread_names(start)
    assert sorted(started) == sorted(FIRING_THREAD_NAMES)


def test_only_ministacks_lifespan_calls_the_start_scheduler_functions_and_their_modules_are_replaced() -> (
    None
):
    callers = {
        function.name
        for function in _functions(_source("app.py"))
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(".start_scheduler")
    }
    assert callers == {"_handle_lifespan"}  # localcloud never runs MiniStack's lifespan
    assert {"scheduler", "eventbridge"} <= set(REPLACED_MODULES)


def test_own_machinery_reports_the_guards_installed_and_any_firing_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for module in ("scheduler", "eventbridge"):
        name = f"ministack.services.{module}"
        monkeypatch.setitem(sys.modules, name, ministack._Guard(name))
    assert own_machinery() == {"replaced_modules": ["eventbridge", "scheduler"], "firing_threads": []}
    release = threading.Event()
    rogue = threading.Thread(target=release.wait, name="eb-scheduler", daemon=True)
    rogue.start()
    try:
        assert own_machinery()["firing_threads"] == ["eb-scheduler"]
    finally:
        release.set()
        rogue.join()
