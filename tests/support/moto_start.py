"""Starting moto's mock once per test for a thousand tests, without building its routes a thousand times.

``mock_aws().start()`` registers one ``requests`` route per AWS endpoint pattern and HTTP method (about
1,300 ``CallbackResponse`` objects, a fifth of an in-process test's set-up) after emptying the route
registry; ``stop()`` empties it again. The routes are the same every time: the same patterns, all
calling the same stub. This keeps the first start's routes and hands later starts a copy of that list,
so a start registers exactly what moto would. Pollen talks to AWS through botocore, which moto serves
through its botocore stub, not these routes; they matter only to ``requests`` users, and a test that
used ``requests`` would still find them all.

moto internals relied upon (tests/unit/test_moto_start.py asserts them): ``MockAWS._enable_patching``,
``MockAWS.reset``, ``moto.core.models.responses_mock`` and ``botocore_stubber``, and the per-method
``_registered`` lists of moto's ``CustomRegistry``.
"""

from __future__ import annotations

from typing import Any

from moto.core import models

_ROUTES: dict[str, list[Any]] = {}
_ORIGINAL = models.MockAWS._enable_patching


def _registry() -> Any:
    return models.responses_mock.get_registry()


def _enable_patching(self: models.MockAWS, reset: bool = True) -> None:
    if not _ROUTES:
        _ORIGINAL(self, reset=reset)
        _ROUTES.update({method: list(routes) for method, routes in _registry()._registered.items()})
        return
    models.botocore_stubber.enabled = True
    if reset:
        self.reset()
    models.responses_mock.start()
    registered = _registry()._registered
    for method, routes in _ROUTES.items():
        registered[method].extend(routes)


def make_mock_start_cheap() -> None:
    """Install the cached start (idempotent)."""
    models.MockAWS._enable_patching = _enable_patching  # type: ignore[method-assign]
