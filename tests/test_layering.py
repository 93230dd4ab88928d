"""Imports between domains point one way: kohort.order → kohort.group, never the reverse.

An order is a group's membership and references its group; the group lifecycle (open, join,
leave, end, cashback of its members) runs in the worker without the order package, and
registering, canceling and refunding an order are use cases that call into the group."""

import ast
from pathlib import Path

import pytest

import kohort

PACKAGE = Path(kohort.__file__).parent


def imported_modules(source: str, module: str) -> set[str]:
    """Every module `source` (the module `module`) imports, relative imports resolved, at any
    depth of the file (under `if TYPE_CHECKING:` and inside functions too)."""
    found: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _is_order(name: str) -> bool:
    return name == "kohort.order" or name.startswith("kohort.order.")


def _group_modules() -> list[Path]:
    return sorted((PACKAGE / "group").rglob("*.py"))


def test_there_are_group_modules_to_check() -> None:
    assert len(_group_modules()) >= 8


@pytest.mark.parametrize("path", _group_modules(), ids=lambda path: path.name)
def test_no_group_module_imports_the_order_package(path: Path) -> None:
    module = "kohort." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    wrong = sorted(n for n in imported_modules(path.read_text(), module) if _is_order(n))
    assert not wrong, f"{module} imports {wrong}: kohort.group must not depend on kohort.order"


@pytest.mark.parametrize(
    "source",
    [
        "from kohort.order import repository",
        "import kohort.order.schemas",
        "if TYPE_CHECKING:\n    from kohort.order.schemas import X",
        "def f():\n    from ..order.errors import E",
        "from .. import order",
    ],
)
def test_the_check_sees_every_form_of_import(source: str) -> None:
    assert any(_is_order(n) for n in imported_modules(source, "kohort.group.service"))


def test_the_check_ignores_look_alike_names() -> None:
    source = "from kohort.group import ordering\nimport kohort.orders_x\nfrom . import order_x"
    assert not any(_is_order(n) for n in imported_modules(source, "kohort.group.service"))
