"""The scheduler `make test` uses keeps each shared local stack's tests on one worker."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.support.stack_groups import OWN_STACKS, SHARED_MODULES, STACK_DIRECTORIES, scope_of

ROOT = Path(__file__).resolve().parents[2]
MODULE_FIXTURE = re.compile(r"^@pytest\.fixture\(scope=.module.\)", re.MULTILINE)
SHARED = {"stack", "http"}  # the session stack of tests/e2e/conftest.py, and the client bound to it


def test_shared_stack_tests_are_one_unit_and_the_others_one_each() -> None:
    assert scope_of("tests/e2e/test_wallet_over_http.py::test_a") == "tests/e2e/"
    assert scope_of("tests/e2e/test_local_stack.py::test_b[x]") == "tests/e2e/"
    assert scope_of("tests/browser/test_widget.py::test_c") == "tests/browser/"
    assert scope_of("tests/e2e/test_fuzz.py::test_d[1]") == "tests/e2e/test_fuzz.py::test_d[1]"
    assert scope_of("tests/integration/test_x.py::test_e") == "tests/integration/test_x.py::test_e"
    assert scope_of("tests/integration/test_order_cost.py::test_f") == "tests/integration/test_order_cost.py"


def test_modules_with_a_module_fixture_are_one_unit() -> None:
    """Every in-process module with a module-scoped fixture is listed, or each worker builds it."""
    shared = {
        str(module.relative_to(ROOT))
        for module in (ROOT / "tests").rglob("test_*.py")
        if MODULE_FIXTURE.search(module.read_text())
        and not str(module.relative_to(ROOT)).startswith(STACK_DIRECTORIES)
    }
    assert shared == {prefix.removesuffix("::") for prefix in SHARED_MODULES}


def _fixtures_asked(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    asked: set[str] = set()
    for node in ast.walk(tree):
        # what pytest injects: test functions' and fixtures' parameters (helpers may name theirs `stack`)
        if not isinstance(node, ast.FunctionDef):
            continue
        fixture = any("fixture" in ast.unparse(decorator) for decorator in node.decorator_list)
        if node.name.startswith("test_") or fixture:
            asked |= {arg.arg for arg in node.args.args}
    return asked


def test_modules_scheduled_apart_never_use_the_shared_stack() -> None:
    """A test in an OWN_STACKS module that used the shared stack would start a second one on another
    worker, and see none of what the directory's earlier tests did."""
    for prefix in OWN_STACKS:
        module = ROOT / prefix.removesuffix("::")
        assert module.is_file(), prefix
        assert module.parent.relative_to(ROOT).as_posix() + "/" in STACK_DIRECTORIES
        assert not _fixtures_asked(module) & SHARED, f"{module.name} asks for the shared stack"
