"""The local stack (``python -m infra.local``) and the in-process Lambda runtime it runs functions on.

:class:`LocalRuntime` stands in for the Lambda service: it imports each function's module as
``template.yaml`` declares it, keeps a small pool of "containers" per function (each its own copy of
the module, so a Powertools resolver is never shared by two concurrent requests), runs every
invocation with that function's environment, and round-trips events and results through JSON the
way Lambda does.
"""

from __future__ import annotations

import contextlib
import decimal
import importlib
import importlib.util
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from infra.apigw import DEFAULT_ACCOUNT_ID, FakeLambdaContext
from infra.template import FunctionSpec

log = logging.getLogger("pollen.local")

Invoker = Callable[[FunctionSpec, Any], Any]


class FunctionError(RuntimeError):
    """The function raised, or returned something Lambda cannot serialise."""


# ---- Per-invocation environment ---------------------------------------------------------------------


class _OverlayEnviron(os._Environ[str]):
    """``os.environ`` with a per-thread overlay: each invocation sees its own function's variables.

    Lambda gives every function its own process environment; in one process the closest match is an
    overlay on the thread running the invocation. Outside an overlay this behaves exactly like the
    ``os.environ`` it replaces (and shares its storage). Threads started by a function see the base
    environment only.
    """

    def __init__(self, base: os._Environ[str]) -> None:
        super().__init__(
            base._data,  # type: ignore[attr-defined]
            base.encodekey,
            base.decodekey,
            base.encodevalue,
            base.decodevalue,
        )
        self._local = threading.local()

    def _overlay(self) -> dict[str, str | None] | None:
        overlay: dict[str, str | None] | None = getattr(self._local, "overlay", None)
        return overlay

    @contextmanager
    def applied(self, variables: Mapping[str, str]) -> Iterator[None]:
        previous = self._overlay()
        self._local.overlay = dict(variables)
        try:
            yield
        finally:
            self._local.overlay = previous

    def __getitem__(self, key: str) -> str:
        overlay = self._overlay()
        if overlay is not None and key in overlay:
            value = overlay[key]
            if value is None:
                raise KeyError(key)
            return value
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__setitem__(key, value)
        elif not isinstance(value, str):
            raise TypeError(f"str expected, not {type(value).__name__}")
        else:
            overlay[key] = value

    def __delitem__(self, key: str) -> None:
        overlay = self._overlay()
        if overlay is None:
            super().__delitem__(key)
            return
        if key not in self:
            raise KeyError(key)
        overlay[key] = None

    def __iter__(self) -> Iterator[str]:
        overlay = self._overlay()
        base = list(super().__iter__())
        if overlay is None:
            yield from base
            return
        yield from (key for key in base if overlay.get(key, "") is not None)
        known = set(base)
        yield from (key for key, value in overlay.items() if value is not None and key not in known)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def copy(self) -> dict[str, str]:
        return dict(self)


_install_lock = threading.Lock()
_HTTP_INVOCATION = threading.Lock()  # see LocalRuntime.invoke


def install_environ_overlay() -> _OverlayEnviron:
    """Replace ``os.environ`` (once per process) with the overlay-capable version."""
    with _install_lock:
        current = os.environ
        if isinstance(current, _OverlayEnviron):
            return current
        overlay = _OverlayEnviron(current)
        os.environ = overlay  # noqa: B003 - a replacement that keeps every variable
        return overlay


# ---- Containers ---------------------------------------------------------------------------------------


@dataclass
class _Container:
    module: ModuleType
    handler: Callable[[Any, Any], Any]
    invocations: int = 0


@dataclass
class _Pool:
    idle: list[_Container] = field(default_factory=list)
    created: int = 0
    condition: threading.Condition = field(default_factory=threading.Condition)


def _json_default(value: Any) -> Any:
    # What the Python runtime's marshaller accepts besides plain JSON types.
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class LocalRuntime:
    """Invokes functions in this process, one invocation per container at a time, as Lambda does.

    ``forced_env`` wins over the template (the moto endpoint, tracing and metrics switches). Up to
    ``max_containers`` copies of a function's module exist; a request that finds them all busy waits.
    """

    def __init__(
        self,
        functions: Iterable[FunctionSpec],
        *,
        forced_env: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        account_id: str = DEFAULT_ACCOUNT_ID,
        max_containers: int = 4,
    ) -> None:
        self.functions = {spec.logical_id: spec for spec in functions}
        self.forced_env = dict(forced_env or {})
        self.region = region
        self.account_id = account_id
        self.max_containers = max(1, max_containers)
        self._environ = install_environ_overlay()
        self._pools = {logical_id: _Pool() for logical_id in self.functions}

    def env_for(self, spec: FunctionSpec) -> dict[str, str]:
        """The function's environment as Lambda would set it, local overrides last."""
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.function_name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.function_name}",
            "_HANDLER": spec.handler,
            **spec.env,
            **self.forced_env,
        }

    def module(self, spec: FunctionSpec) -> ModuleType:
        """The function's canonical module (``functions.<dir>.app``), imported with its environment."""
        with self._environ.applied(self.env_for(spec)):
            return importlib.import_module(spec.module)

    def preload(self) -> dict[str, BaseException]:
        """Import every function now (one warm container each); returns the ones that failed."""
        failures: dict[str, BaseException] = {}
        for spec in self.functions.values():
            try:
                self._release(spec, self._acquire(spec))
            except Exception as exc:
                failures[spec.logical_id] = exc
        return failures

    def invoke(self, spec: FunctionSpec, event: Any) -> Any:
        """Run one invocation; raises :class:`FunctionError` when the function fails."""
        payload = json.loads(json.dumps(event))
        container = self._acquire(spec)
        started = time.monotonic()
        try:
            context = FakeLambdaContext(
                function_name=spec.function_name,
                timeout_seconds=spec.timeout,
                memory_limit_in_mb=spec.memory_size,
                region=self.region,
                account_id=self.account_id,
            )
            # Powertools keeps the current request on its BaseRouter *class* (shared by every resolver in
            # the process), so two HTTP invocations at once would read each other's event: one at a time.
            serial = _HTTP_INVOCATION if spec.http_routes else contextlib.nullcontext()
            with serial, self._environ.applied(self.env_for(spec)):
                container.invocations += 1
                try:
                    result = container.handler(payload, context)
                except Exception as exc:
                    raise FunctionError(f"{spec.logical_id} raised {type(exc).__name__}: {exc}") from exc
            try:
                return json.loads(json.dumps(result, default=_json_default))
            except (TypeError, ValueError) as exc:
                raise FunctionError(
                    f"{spec.logical_id} returned a value Lambda cannot serialise: {exc}"
                ) from exc
        finally:
            elapsed = time.monotonic() - started
            if elapsed > spec.timeout:
                log.warning(
                    "%s ran %.1f s, past its %s s Timeout: AWS would have stopped it",
                    spec.logical_id,
                    elapsed,
                    spec.timeout,
                )
            self._release(spec, container)

    def __call__(self, spec: FunctionSpec, event: Any) -> Any:
        return self.invoke(spec, event)

    def _acquire(self, spec: FunctionSpec) -> _Container:
        pool = self._pools[spec.logical_id]
        with pool.condition:
            while not pool.idle and pool.created >= self.max_containers:
                pool.condition.wait()
            if pool.idle:
                return pool.idle.pop()
            pool.created += 1
            number = pool.created
        try:
            return self._new_container(spec, number)
        except BaseException:
            with pool.condition:
                pool.created -= 1
                pool.condition.notify()
            raise

    def _release(self, spec: FunctionSpec, container: _Container) -> None:
        pool = self._pools[spec.logical_id]
        with pool.condition:
            pool.idle.append(container)
            pool.condition.notify()

    def _new_container(self, spec: FunctionSpec, number: int) -> _Container:
        """Container 1 is the canonical module; the others are fresh copies of the same file."""
        with self._environ.applied(self.env_for(spec)):
            if number == 1:
                module = importlib.import_module(spec.module)
            else:
                module = _load_copy(spec.module, f"{spec.module}__container{number}")
        handler = getattr(module, spec.handler_attr, None)
        if not callable(handler):
            raise FunctionError(f"{spec.module} has no callable {spec.handler_attr}")
        log.debug("started container %d of %s", number, spec.logical_id)
        return _Container(module=module, handler=handler)


def _load_copy(module_name: str, copy_name: str) -> ModuleType:
    found = importlib.util.find_spec(module_name)
    if found is None or found.origin is None:
        raise ModuleNotFoundError(f"no module named {module_name!r}")
    spec = importlib.util.spec_from_file_location(copy_name, found.origin)
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError(f"cannot load {found.origin}")
    module = importlib.util.module_from_spec(spec)
    # Registered so pydantic and dataclasses can resolve the copy's annotations by module name.
    sys.modules[copy_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(copy_name, None)
        raise
    return module
