"""``realtime`` is neutral ground: it imports neither the domain nor the channels that stand on it."""

from __future__ import annotations

import ast
from pathlib import Path

import realtime

FORBIDDEN = ("tickets", "channels_in", "helpdesk")


def _imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def test_realtime_imports_nothing_of_the_apps() -> None:
    root = Path(realtime.__file__).parent
    modules = sorted(root.rglob("*.py"))
    assert len(modules) > 3
    offending = {
        f"{path.relative_to(root)}: {name}"
        for path in modules
        for name in _imported(path)
        if name.split(".")[0] in FORBIDDEN
    }
    assert not offending


def test_the_walk_sees_imports_inside_functions(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from tickets.models import Ticket\n    import channels_in.models\n")
    assert _imported(sample) == {"tickets.models", "channels_in.models"}
