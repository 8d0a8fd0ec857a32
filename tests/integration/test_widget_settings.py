"""The storefront widget's settings: the admin edits them (If-Match, field errors), the widget reads
them with the app key (cacheable, nothing about customers, served from the cached config)."""

from __future__ import annotations

from typing import Any

from infra.inprocess import ApiResponse, InProcessApi
from infra.seed import DemoStore
from pollen.storage.client import CallCounter

ADMIN = "/v1/admin/widget"
PUBLIC = "/v1/widget/settings"
SETTINGS: dict[str, Any] = {
    "colors": {"primary": "#0a7d32", "text": "#101010", "background": "#fafafa"},
    "launcher": {"position": "bottom-left", "offset_x": 12, "offset_y": 40},
    "locales": ["fr", "en"],
    "default_locale": "fr",
    "texts": {"fr": {"launcher": "Avantages", "title": "Vos avantages"}, "en": {"launcher": "Perks"}},
    "sections": {"referral": False, "history": False},
}


def problem(response: ApiResponse, status: int) -> dict[str, Any]:
    assert response.status == status, response.body
    assert response.content_type == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def test_defaults_then_a_saved_document_that_the_widget_reads_with_the_app_key(
    api: InProcessApi, demo: DemoStore
) -> None:
    first = api.get(ADMIN, key=demo.api_keys.admin)
    assert first.status == 200, first.body
    assert first.headers["etag"] == '"0"'
    defaults = first.json()
    assert defaults["colors"]["primary"] == "#5b3cc4"
    assert defaults["launcher"] == {"position": "bottom-right", "offset_x": 20, "offset_y": 20}
    assert (defaults["locales"], defaults["default_locale"], defaults["version"]) == (["en", "fr"], "en", 0)

    saved = api.put(ADMIN, key=demo.api_keys.admin, json_body=SETTINGS, headers={"if-match": '"0"'})
    assert saved.status == 200, saved.body
    assert saved.headers["etag"] == '"1"'
    body = saved.json()
    assert body["sections"] == {
        "ways_to_earn": True,
        "rewards": True,
        "referral": False,
        "tier": True,
        "history": False,
    }
    assert body["texts"]["fr"] == {
        "launcher": "Avantages",
        "title": "Vos avantages",
        "join_title": None,
        "join_text": None,
    }

    public = api.get(PUBLIC, key=demo.api_keys.public)
    assert public.status == 200, public.body
    assert public.headers["cache-control"] == "public, max-age=60"
    assert public.headers["etag"] == '"1"'
    seen = public.json()
    assert seen["colors"] == SETTINGS["colors"]
    assert seen["launcher"] == SETTINGS["launcher"]
    assert (seen["locales"], seen["default_locale"], seen["version"]) == (["fr", "en"], "fr", 1)
    assert "updated_at" not in seen  # nothing but the merchant's choices
    assert api.get(ADMIN, key=demo.api_keys.admin).json()["updated_at"] is not None


def test_if_match_refuses_a_stale_write_and_keeps_the_newer_one(api: InProcessApi, demo: DemoStore) -> None:
    assert (
        api.put(ADMIN, key=demo.api_keys.admin, json_body=SETTINGS, headers={"if-match": '"0"'}).status == 200
    )
    stale = api.put(
        ADMIN,
        key=demo.api_keys.admin,
        json_body={"colors": {"primary": "#000000"}},
        headers={"if-match": '"0"'},
    )
    problem(stale, 412)
    problem(api.put(ADMIN, key=demo.api_keys.admin, json_body={}, headers={"if-match": "latest"}), 400)
    assert api.get(PUBLIC, key=demo.api_keys.public).json()["colors"]["primary"] == "#0a7d32"
    unconditional = api.put(ADMIN, key=demo.api_keys.admin, json_body={"colors": {"primary": "#000000"}})
    assert unconditional.status == 200, unconditional.body
    assert unconditional.json()["version"] == 2
    assert unconditional.json()["launcher"]["position"] == "bottom-right"  # a PUT replaces the document


def test_invalid_documents_are_field_errors_and_write_nothing(api: InProcessApi, demo: DemoStore) -> None:
    bad: list[tuple[dict[str, Any], str]] = [
        ({"colors": {"primary": "red; background: url(x)"}}, "colors.primary"),
        ({"colors": {"text": "#12345"}}, "colors.text"),
        ({"launcher": {"position": "top-left"}}, "launcher.position"),
        ({"launcher": {"offset_x": 201}}, "launcher.offset_x"),
        ({"launcher": {"offset_y": "20"}}, "launcher.offset_y"),
        ({"locales": ["en", "de"]}, "locales.1"),
        ({"locales": []}, "locales"),
        ({"texts": {"de": {"launcher": "Prämien"}}}, "texts.de.[key]"),
        ({"texts": {"en": {"launcher": "x" * 41}}}, "texts.en.launcher"),
        ({"texts": {"en": {"colour": "red"}}}, "texts.en.colour"),
        ({"sections": {"rewards": "no"}}, "sections.rewards"),
        ({"unknown": 1}, "unknown"),
    ]
    for body, field in bad:
        found = problem(api.put(ADMIN, key=demo.api_keys.admin, json_body=body), 422)
        fields = [e["field"] for e in found.get("errors", [])]
        assert any(f.endswith(field) for f in fields), (body, fields)
    mismatch = problem(api.put(ADMIN, key=demo.api_keys.admin, json_body={"locales": ["fr"]}), 422)
    assert "default_locale" in str(mismatch)
    assert api.get(ADMIN, key=demo.api_keys.admin).json()["version"] == 0


def test_who_may_read_and_write(api: InProcessApi, demo: DemoStore) -> None:
    problem(api.get(PUBLIC), 401)
    problem(api.get(ADMIN, key=demo.api_keys.public), 403)
    problem(api.get(ADMIN, key=demo.api_keys.write), 403)
    problem(api.put(ADMIN, key=demo.api_keys.write, json_body={}), 403)
    assert api.get(PUBLIC, key=demo.api_keys.read).status == 200


def test_the_widget_read_costs_no_dynamodb_call_on_a_warm_container(
    api: InProcessApi, demo: DemoStore, calls: CallCounter
) -> None:
    assert api.get(PUBLIC, key=demo.api_keys.public).status == 200  # warms the key and config caches
    calls.reset()
    assert api.get(PUBLIC, key=demo.api_keys.public).status == 200
    assert calls.total == 0
    assert api.get(ADMIN, key=demo.api_keys.admin).status == 200  # warms the admin key
    calls.reset()
    assert api.put(ADMIN, key=demo.api_keys.admin, json_body=SETTINGS).status == 200
    assert calls.snapshot() == {"PutItem": 1}  # one item: a conditional PutItem (half a transaction's WRU)
    calls.reset()
    assert api.get(PUBLIC, key=demo.api_keys.public).json()["version"] == 1  # this container reads its write
    assert calls.snapshot() == {"Query": 1}
