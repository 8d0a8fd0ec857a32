"""`python -m infra.onboard`: how a merchant who deployed the stack gets their first keys."""

from __future__ import annotations

import json

import pytest

from infra.inprocess import InProcessApi
from infra.onboard import main
from pollen.domain.errors import Conflict


def test_onboarding_prints_working_keys_once(
    api: InProcessApi, table_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--table", table_name, "--merchant-id", "acme", "--name", "Acme", "--currency", "EUR"]
    assert main([*args, "--shop-domain", "acme.myshopify.com", "--webhook-secret", "s3cret"]) == 0
    keys = json.loads(capsys.readouterr().out)
    assert set(keys) == {"public", "read", "write", "admin"}
    program = api.get("/v1/admin/program", key=keys["admin"])
    assert program.status == 200
    assert program.json()["currency"] == "EUR"
    assert api.get("/v1/admin/program", key=keys["read"]).status == 403
    assert api.get("/v1/program", key=keys["public"]).json()["currency"] == "EUR"  # the app key

    with pytest.raises(Conflict):
        main(args)


def test_a_shop_domain_needs_its_webhook_secret(table_name: str) -> None:
    with pytest.raises(SystemExit):
        main(
            [
                "--table",
                table_name,
                "--merchant-id",
                "acme",
                "--name",
                "A",
                "--shop-domain",
                "acme.myshopify.com",
            ]
        )
