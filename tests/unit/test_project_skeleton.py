"""The project's skeleton: the Makefile a newcomer and CI use, `.ci/run`, the README's first
lines, pinned dependencies, and a repository that explains itself with its own documents.

The Makefile and `.ci/run` are exercised on copies in a temporary folder, with stand-in inputs
and stamps, so that nothing here installs anything or touches the checkout's `.venv`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from meterpipe.definitions import REPO_ROOT

MAKE = shutil.which("make")
needs_make = pytest.mark.skipif(MAKE is None, reason="make is not installed")
SETUP_INPUTS = ("pyproject.toml", "package.json", "package-lock.json")
SETUP_STAMPS = (".venv/.installed", "node_modules/.installed")


def make(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MAKE), "--no-print-directory", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """The Makefile beside stand-ins for setup's inputs, with setup done: stamps newer than inputs."""
    shutil.copy(REPO_ROOT / "Makefile", tmp_path / "Makefile")
    for name in SETUP_INPUTS:
        (tmp_path / name).write_text("{}\n")
    for stamp in SETUP_STAMPS:
        (tmp_path / stamp).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / stamp).touch()
        os.utime(tmp_path / stamp, (2_000_000_000, 2_000_000_000))
    return tmp_path


@needs_make
def test_make_help_lists_every_target_a_newcomer_needs() -> None:
    done = make(REPO_ROOT, "help")

    assert done.returncode == 0, done.stderr
    listed = {line.split()[0] for line in re.sub(r"\x1b\[[0-9;]*m", "", done.stdout).splitlines() if line}
    assert {"help", "setup", "test", "lint", "demo", "bench", "synth", "deploy", "destroy"} <= listed


@needs_make
def test_setup_does_nothing_once_done_and_reinstalls_when_an_input_changes(checkout: Path) -> None:
    assert make(checkout, "--question", "setup").returncode == 0

    for name in SETUP_INPUTS:
        os.utime(checkout / name, (2_100_000_000, 2_100_000_000))
    assert make(checkout, "--question", "setup").returncode == 1
    planned = make(checkout, "--dry-run", "setup").stdout
    assert "pip install" in planned and "npm ci" in planned


@needs_make
@pytest.mark.parametrize(
    ("target", "own_command"),
    [
        ("test", "pytest"),
        ("demo", "-m meterpipe.demo"),
        ("lint", "ruff check"),
        ("bench", "-m bench"),
        ("synth", "cdk synth"),
    ],
)
def test_targets_that_need_the_environment_run_setup_first(
    checkout: Path, target: str, own_command: str
) -> None:
    (checkout / SETUP_STAMPS[0]).unlink()

    planned = make(checkout, "--dry-run", target).stdout.splitlines()

    install = [n for n, line in enumerate(planned) if "pip install" in line]
    own = [n for n, line in enumerate(planned) if own_command in line]
    assert install and own and max(install) < min(own), planned


@pytest.mark.parametrize(
    ("makefile", "exit_code"),
    [
        ("lint:\n\t@true\nwheel-check:\n\t@true\ntest:\n\t@true\n", 0),
        ("lint:\n\t@false\nwheel-check:\n\t@true\ntest:\n\t@true\n", 2),
        ("lint:\n\t@true\nwheel-check:\n\t@false\ntest:\n\t@true\n", 2),
        ("lint:\n\t@true\nwheel-check:\n\t@true\ntest:\n\t@false\n", 2),
    ],
)
@needs_make
def test_ci_runs_lint_the_wheel_check_and_test_and_fails_when_any_fails(
    tmp_path: Path, makefile: str, exit_code: int
) -> None:
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPO_ROOT / ".ci" / "run", tmp_path / ".ci" / "run")
    (tmp_path / "Makefile").write_text(makefile)

    done = subprocess.run(
        ["bash", str(tmp_path / ".ci" / "run")], capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode == exit_code, done.stdout + done.stderr
    assert "make lint wheel-check test" in (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_the_readme_opens_with_the_two_commands() -> None:
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")

    first_section = re.search(r"^## (.+)$", readme, re.MULTILINE)
    first_block = re.search(r"^```\w*\n(.*?)^```", readme, re.MULTILINE | re.DOTALL)

    assert first_section is not None and first_section.group(1) == "Quick start"
    assert first_block is not None and first_block.start() > first_section.start()
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_dependencies_are_pinned_to_ranges_and_the_command_is_installed() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"].values()
    requirements = [*project["dependencies"], *(r for group in extras for r in group)]

    unbounded = [r for r in requirements if not re.search(r"<|==", r)]

    assert requirements and unbounded == []
    assert project["scripts"] == {"meterpipe": "meterpipe.cli:main"}


def test_the_repository_explains_itself_without_documents_kept_outside_it() -> None:
    if not (REPO_ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    outside = re.compile(r"DESIGN\.md|STYLE-ANCHORS|\.\./shared\b")
    this_file = Path(__file__).resolve()

    mentions = [
        name
        for name in listed.split("\0")
        if name
        and (REPO_ROOT / name).is_file()
        and (REPO_ROOT / name).resolve() != this_file
        and outside.search((REPO_ROOT / name).read_text(encoding="utf-8", errors="replace"))
    ]

    assert mentions == []
    assert (REPO_ROOT / "docs" / "architecture.md").is_file()
