"""How `make test` shares its tests between xdist workers.

The e2e and browser tests drive a local stack (and Chromium) in another process and mostly wait on it.
Each of those directories starts its shared stack (the session ``stack`` fixture) once per worker, and
its tests build on what earlier ones did there, so each directory is one unit of work, given to one
worker whole. Modules that start stacks of their own (``OWN_STACKS``) do not need the shared one: each
of their tests is a unit of its own, like every in-process test, and runs on whichever worker is free;
an in-process module whose tests share a module-scoped fixture (``SHARED_MODULES``) is one unit.
The largest units are handed out first, so the stack directories start at once, on workers of their
own, while the in-process tests fill the waits.

xdist's own ``loadgroup`` groups by ``xdist_group`` marks, which it carries by rewriting node ids; pytest 9
keeps node ids elsewhere and the marks are silently ignored (pytest-dev/pytest-xdist#1386), so this
scheduler groups by path instead of by mark.
"""

from __future__ import annotations

from xdist.scheduler.loadscope import LoadScopeScheduling  # type: ignore[import-untyped]

STACK_DIRECTORIES = ("tests/e2e/", "tests/browser/")
OWN_STACKS = ("tests/e2e/test_fuzz.py::", "tests/e2e/test_local_restart.py::")
# In-process modules whose tests share an expensive module-scoped fixture: one unit each, so the
# fixture is built once (test_order_cost.py runs a whole order life through every function).
SHARED_MODULES = ("tests/integration/test_order_cost.py::",)


def scope_of(nodeid: str) -> str:
    """The unit a test is scheduled in: its directory's shared stack, its module's shared fixture, or
    the test itself."""
    if nodeid.startswith(OWN_STACKS):
        return nodeid
    if nodeid.startswith(SHARED_MODULES):
        return nodeid.split("::", 1)[0]
    return next((directory for directory in STACK_DIRECTORIES if nodeid.startswith(directory)), nodeid)


class StackGroupScheduling(LoadScopeScheduling):  # type: ignore[misc]  # xdist ships no types
    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)
