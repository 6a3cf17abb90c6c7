"""The seams between the packages, read in the code: meterpipe reaches localcloud only through
meterpipe/local/, the handlers import neither, and the operator's CLI starts without localcloud's
dependencies (the [local] extra) and says what to install when a local command needs them."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from meterpipe.cli import app
from meterpipe.definitions import REPO_ROOT

LOCAL_ONLY = {"ministack", "duckdb", "sqlglot", "jsonata", "jsonpath_ng", "yaml", "aws_lambda_powertools"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def importers_of(package: str, files: list[Path]) -> list[str]:
    return sorted(
        str(path.relative_to(REPO_ROOT))
        for path in files
        if any(name == package or name.startswith(package + ".") for name in imported_modules(path))
    )


def test_meterpipe_imports_localcloud_only_in_meterpipe_local() -> None:
    package = REPO_ROOT / "meterpipe"
    outside = [p for p in package.rglob("*.py") if (package / "local") not in p.parents]
    assert outside, "no meterpipe modules found"
    assert importers_of("localcloud", outside) == []
    # ... and meterpipe/local does import it (the walk sees imports at all).
    assert importers_of("localcloud", list((package / "local").rglob("*.py")))


def test_the_handlers_import_neither_meterpipe_nor_localcloud() -> None:
    handlers = list((REPO_ROOT / "handlers").rglob("*.py"))
    assert importers_of("meterpipe", handlers) == []
    assert importers_of("localcloud", handlers) == []


def test_the_cli_starts_without_loading_localclouds_dependencies() -> None:
    """The modules `meterpipe --help` loads: none of the [local] extra's."""
    code = (
        "import json, sys\n"
        "from meterpipe.cli import app\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = set(json.loads(done.stdout))
    assert loaded & LOCAL_ONLY == set()


def test_local_up_without_the_local_extra_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = __import__("importlib.metadata").metadata.requires

    def requires(name: str) -> list[str] | None:
        found = real(name)
        return [*(found or []), 'no-such-distribution-anywhere>=1; extra == "local"']

    monkeypatch.setattr("importlib.metadata.requires", requires)
    result = CliRunner().invoke(app, ["local", "up", "--home", str(tmp_path), "--port", "0"])

    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: localcloud needs meterpipe's [local] extra, which is not installed (missing "
        "no-such-distribution-anywhere): pip install 'meterpipe[local]'"
    )
    assert not (tmp_path / "deployment.json").exists()
