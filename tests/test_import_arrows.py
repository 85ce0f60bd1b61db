"""The arrows between the packages run one way (ARCHITECTURE §2), read from the source itself.

Every import counts: at module level, inside functions and under ``TYPE_CHECKING``. Tests and
migrations are left out: tests may reach across to build their data. ruff's banned-api rules
(pyproject.toml) say the same to an editor; this test also catches what they cannot, such as a cycle.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# The neutral package shared by both sockets may be absent; the rules hold for it once it exists.
PACKAGES = ("helpdesk", "tickets", "channels_in", "realtime")
# What each package may never import (itself aside, everything else is allowed).
FORBIDDEN: dict[str, set[str]] = {
    "tickets": {"channels_in", "helpdesk"},
    "channels_in": {"helpdesk"},
    "realtime": {"tickets", "channels_in", "helpdesk"},
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module, dotted
    path: Path
    line: int
    target: str  # the imported module, dotted

    @property
    def source_package(self) -> str:
        return self.source.split(".")[0]

    @property
    def target_package(self) -> str:
        return self.target.split(".")[0]

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}: {self.source} imports {self.target}"


def _modules() -> list[tuple[str, Path]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if "tests" in parts or "migrations" in parts:
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append((".".join(parts), path))
    return found


def _imports_of(module: str, path: Path) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [Import(module, path, node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                # Relative: resolved against the importing module's package.
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(Import(module, path, node.lineno, target))
    return [found_import for found_import in found if found_import.target_package in PACKAGES]


def _all_imports() -> list[Import]:
    return [found for module, path in _modules() for found in _imports_of(module, path)]


IMPORTS = _all_imports()


def _report(violations: list[Import]) -> str:
    return "\n".join(["imports against the arrows (ARCHITECTURE §2):", *map(str, violations)])


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_it_may_not(package: str) -> None:
    violations = [
        found
        for found in IMPORTS
        if found.source_package == package and found.target_package in FORBIDDEN[package]
    ]
    if violations:
        pytest.fail(_report(violations), pytrace=False)


def test_only_the_wiring_imports_the_wiring() -> None:
    violations = [
        found
        for found in IMPORTS
        if found.target_package == "helpdesk" and found.source_package != "helpdesk"
    ]
    if violations:
        pytest.fail(_report(violations), pytrace=False)


def test_the_package_graph_has_no_cycle() -> None:
    edges: dict[str, set[str]] = {package: set() for package in PACKAGES}
    witness: dict[tuple[str, str], Import] = {}
    for found in IMPORTS:
        if found.source_package != found.target_package:
            edges[found.source_package].add(found.target_package)
            witness.setdefault((found.source_package, found.target_package), found)

    cycle = _cycle(edges)

    if cycle is not None:
        arrows = "\n".join(str(witness[pair]) for pair in pairwise(cycle))
        pytest.fail(f"a cycle between packages: {' → '.join(cycle)}\n{arrows}", pytrace=False)


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph as a path that returns to its start, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(edges.get(node, ())):
            found = visit(target, [*path, node])
            if found is not None:
                return found
        done.add(node)
        return None

    for start in sorted(edges):
        found = visit(start, [])
        if found is not None:
            return found
    return None


def test_the_walk_sees_function_level_and_type_checking_imports(tmp_path: Path) -> None:
    """The rules are only as good as the walk: imports hidden in a function or a TYPE_CHECKING block
    count, and relative imports are resolved."""
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from channels_in.models import ChannelAccount\n"
        "def f():\n"
        "    import helpdesk.celery\n"
        "    from ..channels_in import base\n"
    )

    found = sorted((item.line, item.target) for item in _imports_of("tickets.services.probe", source))

    assert found == [(3, "channels_in.models"), (5, "helpdesk.celery"), (6, "tickets.channels_in")]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
