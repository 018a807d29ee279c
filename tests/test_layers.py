"""The layers of DESIGN.md are checked (import-linter, contracts in pyproject.toml): they hold
for the code as it is, and an import across a layer breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = "from importlinter.cli import lint_imports_command; lint_imports_command()"


def lint_imports(src: Path) -> subprocess.CompletedProcess[str]:
    """import-linter over the fairwell package found first in ``src``, with our contracts."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    return subprocess.run(
        [sys.executable, "-c", LINT, "--no-cache", str(ROOT / "pyproject.toml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
    )


def test_the_code_keeps_every_layer_contract() -> None:
    checked = lint_imports(ROOT / "src")
    assert checked.returncode == 0, checked.stdout
    assert "0 broken" in checked.stdout


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package to break on purpose."""
    shutil.copytree(
        ROOT / "src" / "fairwell",
        tmp_path / "fairwell",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path


def breaks(copy: Path, module: str, line: str) -> str:
    """Add an import to a module of the copy; the output of a check that must fail."""
    path = copy.joinpath(*module.split(".")).with_suffix(".py")
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    checked = lint_imports(copy)
    assert checked.returncode == 1, checked.stdout
    return checked.stdout


def test_a_service_that_imports_a_store_breaks_the_layers(copy: Path) -> None:
    found = breaks(copy, "fairwell.services.users", "from fairwell.storage import users_store")
    assert "services depend on ports, never on storage, delivery, web or cli BROKEN" in found
    assert "fairwell.services.users -> fairwell.storage.users_store" in found


def test_the_domain_importing_sqlalchemy_breaks_its_purity(copy: Path) -> None:
    found = breaks(copy, "fairwell.domain.model", "import sqlalchemy")
    assert "domain and guard import only the standard library" in found
    assert "BROKEN" in found


def test_a_page_that_builds_a_store_breaks_the_thin_edges(copy: Path) -> None:
    found = breaks(copy, "fairwell.web.account", "from fairwell.storage import users_store")
    assert "fairwell.web.account -> fairwell.storage.users_store" in found


def test_a_port_that_reaches_up_to_a_service_breaks_the_layers(copy: Path) -> None:
    found = breaks(copy, "fairwell.ports.outbox", "from fairwell.services import planning")
    assert "fairwell.ports.outbox -> fairwell.services.planning" in found
