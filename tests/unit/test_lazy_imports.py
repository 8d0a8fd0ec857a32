"""Packages that load their modules on first use still export the same names (docs/design.md,
"Cold start")."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pollen.services import redemption

NAMES = [name for names in redemption._HOMES.values() for name in names]


def test_the_redemption_package_exports_what_it_lists() -> None:
    assert sorted(NAMES) == sorted(redemption.__all__)


@pytest.mark.parametrize("first", ["RedeemRequest", "SETTLING", "coupon_event"])
def test_every_name_is_the_function_or_value_whatever_is_asked_first(first: str) -> None:
    code = (
        f"from pollen.services.redemption import {first}\n"
        "import inspect\n"
        "from pollen.services import redemption\n"
        "from pollen.services.redemption import redeem\n"
        "assert inspect.isfunction(redeem) and redeem.__module__ == 'pollen.services.redemption.redeeming'\n"
        f"assert all(not inspect.ismodule(getattr(redemption, n)) for n in {NAMES!r})\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_submodule_shadows_a_name_the_package_exports() -> None:
    """Importing a submodule sets the package's attribute of its name: a submodule called like an
    exported function replaced it wherever anything (a test walking the package) imported it."""
    import pkgutil  # noqa: PLC0415

    submodules = {info.name for info in pkgutil.iter_modules(redemption.__path__)}
    assert not submodules & set(redemption.__all__)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        getattr(redemption, "nothing_here")  # noqa: B009 - mypy rejects the plain attribute, rightly


def test_every_pollen_model_defers_its_build() -> None:
    """A model built at import costs every function that imports its module (pollen.model)."""
    import pkgutil  # noqa: PLC0415

    import pydantic  # noqa: PLC0415

    import pollen  # noqa: PLC0415
    from pollen.model import BaseModel  # noqa: PLC0415

    for info in pkgutil.walk_packages(pollen.__path__, "pollen."):
        importlib.import_module(info.name)
    seen, todo = set(), list(pydantic.BaseModel.__subclasses__())
    while todo:
        model = todo.pop()
        if model not in seen:
            seen.add(model)
            todo.extend(model.__subclasses__())
    eager = sorted(
        f"{m.__module__}.{m.__qualname__}"
        for m in seen
        if m.__module__.startswith("pollen.") and not issubclass(m, BaseModel)
    )
    assert eager == []


@pytest.mark.parametrize(
    ("function", "loaded"),
    [
        ("order_webhooks", False),  # no customer routes
        ("admin", False),
        ("wallet", True),  # customer routes verify a token: at init, not on the first request
        ("referrals", True),
        ("redemption", True),
        ("analytics", True),
    ],
)
def test_only_functions_with_customer_routes_load_the_customer_token_path(
    function: str, loaded: bool
) -> None:
    root = Path(__file__).resolve().parents[2]
    probe = "import sys\nimport app\nprint('pollen.services.customer_tokens' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=root / "functions" / function,
        env={
            "PYTHONPATH": os.pathsep.join([str(root / "layers" / "pollen"), str(root)]),
            "AWS_DEFAULT_REGION": "us-east-1",
            "PATH": os.environ.get("PATH", ""),
        },
        capture_output=True,
        check=True,
    )
    assert out.stdout.decode().strip() == str(loaded)
