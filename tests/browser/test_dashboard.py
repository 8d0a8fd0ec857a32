"""The dashboard issue's acceptance checks in headless Chromium against the local stack."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from playwright.sync_api import expect

from pollen.integrations.standard_webhooks import verify
from tests.browser.conftest import PHONE, Dashboard, Receiver, paid_customer
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e
CONFIG_TTL = 2.5  # the local stack caches a merchant's events config for 2 s


def _admin(stack: LocalStack) -> dict[str, str]:
    return {"x-api-key": stack.key("admin")}


def _until(
    check: Callable[[], bool], timeout: float, what: str, every: Callable[[], None] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        if every:
            every()
        time.sleep(0.3)


@pytest.fixture
def cleanup(http: httpx.Client, stack: LocalStack) -> Iterator[list[str]]:
    """Paths to DELETE after the test (subscriptions before integrations): other tests share the store."""
    paths: list[str] = []
    yield paths
    for path in reversed(paths):
        http.delete(path, headers=_admin(stack))


def test_sign_in_rejects_a_bad_key_with_the_apis_message_then_signs_in_and_out(
    dashboard: Dashboard, stack: LocalStack
) -> None:
    page = dashboard.page
    dashboard.open()
    expect(page.get_by_role("heading", name="Pollen")).to_be_visible()
    assert dashboard.axe() == []
    dashboard.shot("sign-in")

    field = page.get_by_label("Admin API key")
    field.fill(stack.key("read"))
    field.press("Enter")  # keyboard only
    expect(page.get_by_role("alert")).to_have_text(
        "This API key or customer token does not allow this operation."
    )
    field.fill("pollen.demo-store.0000000000000000.not-a-key")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("A valid API key is required in the X-Api-Key header.")

    dashboard.sign_in()
    assert page.evaluate("() => sessionStorage.getItem('pollen.adminKey')") == stack.key("admin")
    assert page.evaluate("() => localStorage.length") == 0
    assert page.evaluate("() => document.cookie") == ""
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Admin API key")).to_be_visible()
    assert page.evaluate("() => sessionStorage.getItem('pollen.adminKey')") is None


def test_analytics_numbers_equal_the_apis_for_the_same_range(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client
) -> None:
    def summary() -> httpx.Response:
        return http.get("/v1/admin/analytics/summary", params={"range": "30d"}, headers=_admin(stack))

    before = summary()
    if before.status_code == 404:
        dashboard.sign_in()
        expect(dashboard.page.get_by_text("no analytics API yet")).to_be_visible()
        dashboard.shot("analytics")
        pytest.skip("the analytics API is not in this build yet (GET /v1/admin/analytics/summary is 404)")
    assert before.status_code == 200, before.text

    def counts(response: httpx.Response) -> list[int]:
        return [m["current"] for m in response.json()["metrics"] if m["unit"] == "count"]

    paid_customer(http, stack)  # something to count: the aggregator reads it from the table's stream
    _until(lambda: counts(summary()) != counts(before), 20, "the new order in the analytics summary")
    dashboard.sign_in()
    page = dashboard.page

    def compare(offset: int) -> None:
        api = http.get(
            "/v1/admin/analytics/summary", params={"range": "30d", "offset": offset}, headers=_admin(stack)
        ).json()
        shown = f"{api['range']['from']} \u2013 {api['range']['to']}"
        expect(page.get_by_test_id("range")).to_contain_text(shown)
        for metric in api["metrics"]:
            card = page.locator(f'[data-metric="{metric["name"]}"]')
            expected = "" if metric["current"] is None else str(metric["current"])
            expect(card).to_have_attribute("data-value", expected)
            expect(card).to_contain_text(metric["label"])

    page.get_by_role("button", name="30 days").click()
    compare(0)
    assert dashboard.axe() == []
    dashboard.shot("analytics")
    page.get_by_role("button", name="Previous period").click()
    compare(-1)
    page.get_by_role("button", name="Next period").click()
    compare(0)
    expect(page.locator(".chart canvas").first).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    assert download.value.suggested_filename.endswith(".csv")


def test_find_a_customer_adjust_coins_and_see_an_order_and_the_apis_error(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client
) -> None:
    customer, order, _ = paid_customer(http, stack)
    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="Customers").click()
    expect(page.get_by_text("Find a customer by their id")).to_be_visible()
    email = http.get(f"/v1/customers/{customer}", headers=_admin(stack)).json()["email"]
    assert email  # the Shopify order's customer: a proven email, so it can be looked up
    page.get_by_label("Customer id").fill(email.upper())  # by email (case does not matter)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_test_id("balance")).to_have_text("234")
    page.get_by_label("Customer id").fill(customer)
    page.get_by_role("button", name="Find").click()
    expect(page.get_by_test_id("balance")).to_have_text("234")

    page.get_by_label("Coins (negative to take away)").fill("50")
    page.get_by_label("Reason").fill("Goodwill: late parcel")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_test_id("balance")).to_have_text("284")
    expect(page.get_by_role("cell", name="Goodwill: late parcel")).to_be_visible()
    wallet = http.get(f"/v1/customers/{customer}/wallet", headers=_admin(stack)).json()
    assert wallet["balance"] == 284
    history = http.get(f"/v1/customers/{customer}/transactions", headers=_admin(stack)).json()["items"]
    latest = history[0]
    assert (latest["type"], latest["coins"], latest["note"]) == ("adjust", 50, "Goodwill: late parcel")

    # A failed request shows the API's own problem detail.
    refused = http.post(
        f"/v1/admin/customers/{customer}/adjustments",
        json={"coins": -99_999, "reason": "too much"},
        headers={**_admin(stack), "idempotency-key": str(uuid.uuid4())},
    )
    assert refused.status_code == 409
    page.get_by_label("Coins (negative to take away)").fill("-99999")
    page.get_by_label("Reason").fill("too much")
    page.get_by_role("button", name="Adjust").click()
    expect(page.get_by_role("alert")).to_have_text(refused.json()["detail"])
    expect(page.get_by_test_id("balance")).to_have_text("284")
    assert dashboard.axe() == []
    dashboard.shot("customers")

    page.get_by_role("link", name=f"order {order}").click()
    expect(page.get_by_role("region", name=f"Order {order}")).to_contain_text("311.69 USD")
    expect(page.get_by_text("No Pollen coupon or referral was used")).to_be_visible()
    dashboard.shot("customers-order")
    page.set_viewport_size(PHONE)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    assert dashboard.axe() == []
    dashboard.shot("customers-375px")


def test_webhook_integration_subscription_and_test_event_in_the_delivery_log(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client, receiver: Receiver, cleanup: list[str]
) -> None:
    customer, _, email = paid_customer(http, stack)
    hook_id = f"browser-{uuid.uuid4().hex[:8]}"
    cleanup.append(f"/v1/admin/integrations/{hook_id}")
    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="Events").click()
    page.get_by_role("button", name="Add integration").click()
    form = page.get_by_role("form", name="New integration")
    form.get_by_label("Integration id").fill(hook_id)
    form.get_by_label("URL").fill(receiver.url)
    form.get_by_role("button", name="Save integration").click()
    secret = page.locator("[data-secret]").inner_text()
    assert secret.startswith("whsec_")
    integrations = page.get_by_role("region", name="Integrations")
    expect(integrations.get_by_role("row").filter(has_text=hook_id)).to_contain_text("whsec_…")

    page.get_by_role("button", name="Create subscription").click()
    form = page.get_by_role("form", name="New subscription")
    form.get_by_label("Event").select_option("wallet_transaction")
    form.get_by_label("Integration").select_option(hook_id)
    form.get_by_label("Name prefix").fill("Browser ")
    form.get_by_label("adjust").check()
    form.get_by_role("button", name="Create").click()
    row = page.get_by_role("region", name="Send events").get_by_role("row").filter(has_text=hook_id)
    expect(row).to_contain_text("Browser Wallet Transaction")
    expect(row).to_contain_text("transaction types: adjust")
    subscriptions = http.get("/v1/admin/event-subscriptions", headers=_admin(stack)).json()["items"]
    mine = next(s for s in subscriptions if s["integration_id"] == hook_id)
    assert mine["filters"]["transaction_types"] == ["adjust"]
    assert mine["name_prefix"] == "Browser "
    cleanup.append(f"/v1/admin/event-subscriptions/{mine['subscription_id']}")

    row.get_by_role("button", name="Send test event").click()
    page.get_by_label("Customer email").fill(email)
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_role("status").filter(has_text="Test event sent")).to_be_visible()
    assert len(receiver.about(customer)) == 1
    hook = receiver.about(customer)[0]
    verify(secret, hook.headers, hook.body, now=int(time.time()))  # signed with the secret shown once

    log = page.get_by_test_id("delivery-log")
    expect(log.get_by_role("row").filter(has_text="test").filter(has_text=hook_id)).to_contain_text(
        "delivered"
    )
    assert dashboard.axe() == []
    dashboard.shot("events")
    page.set_viewport_size(PHONE)
    dashboard.shot("events-375px")


def test_a_dead_letter_is_replayed_from_the_page(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client, receiver: Receiver, cleanup: list[str]
) -> None:
    customer, _, _ = paid_customer(http, stack)
    refusing = {"on": True}
    receiver.status = lambda hook: 400 if refusing["on"] and hook.customer_id() == customer else 200
    hook_id = f"browser-dlq-{uuid.uuid4().hex[:8]}"
    admin = _admin(stack)
    assert http.put(
        f"/v1/admin/integrations/{hook_id}", json={"kind": "webhook", "url": receiver.url}, headers=admin
    ).status_code in (200, 201)
    cleanup.append(f"/v1/admin/integrations/{hook_id}")
    created = http.post(
        "/v1/admin/event-subscriptions",
        json={
            "event": "wallet_transaction",
            "integration_id": hook_id,
            "filters": {"transaction_types": ["adjust"]},
        },
        headers=admin,
    )
    assert created.status_code == 201, created.text
    cleanup.append(f"/v1/admin/event-subscriptions/{created.json()['subscription_id']}")
    time.sleep(CONFIG_TTL)
    adjusted = http.post(
        f"/v1/admin/customers/{customer}/adjustments",
        json={"coins": 7, "reason": "dead letter drill"},
        headers={**admin, "idempotency-key": str(uuid.uuid4())},
    )
    assert adjusted.status_code in (200, 201), adjusted.text
    _until(lambda: len(receiver.about(customer)) >= 1, 30, "the first (refused) delivery")

    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="Events").click()
    dead = page.get_by_test_id("dead-letters").get_by_role("row").filter(has_text=hook_id)
    section = page.get_by_role("region", name="Dead letters")
    _until(
        lambda: dead.count() == 1,
        30,
        "the dead letter on the page",
        every=lambda: section.get_by_role("button", name="Refresh").click(),
    )
    expect(dead).to_contain_text("permanent")
    assert dashboard.axe() == []
    dashboard.shot("events-dead-letter")

    refusing["on"] = False
    dead.get_by_role("button", name=re.compile("^Replay delivery")).click()
    expect(section.get_by_role("status")).to_contain_text("Replayed 1.")
    _until(lambda: any(h.status == 200 for h in receiver.about(customer)), 30, "the replayed delivery")
    delivered = page.get_by_test_id("delivery-log").get_by_role("row").filter(has_text=hook_id)
    log = page.get_by_role("region", name="Delivery log")
    _until(
        lambda: "delivered" in (delivered.first.inner_text() if delivered.count() else ""),
        30,
        "the replayed delivery in the log",
        every=lambda: log.get_by_role("button", name="Refresh").click(),
    )
    expect(dead).to_have_count(0)


def test_program_edit_shows_a_conflict_instead_of_overwriting(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client
) -> None:
    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="Program").click()
    current = http.get("/v1/admin/program", headers=_admin(stack))
    settings = page.get_by_role("region", name="Earning and expiry")
    expect(settings).to_contain_text(f"Version {current.json()['version']},")  # the page has loaded it
    expect(page.get_by_label("Coin value")).to_have_value(current.json()["coin_value"])
    expect(page.get_by_role("region", name="Rewards catalogue")).to_contain_text("Free shipping")
    assert dashboard.axe() == []
    dashboard.shot("program")

    # Someone else saves the program after this page loaded it.
    body = {k: v for k, v in current.json().items() if k not in ("version", "updated_at")}
    saved = http.put(
        "/v1/admin/program", json=body, headers={**_admin(stack), "if-match": current.headers["etag"]}
    )
    assert saved.status_code == 200, saved.text
    page.get_by_role("button", name="Save program").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Conflict")
    after = http.get("/v1/admin/program", headers=_admin(stack))
    assert after.headers["etag"] == saved.headers["etag"]  # nothing overwritten
    dashboard.shot("program-conflict")
    alert.get_by_role("button", name="Load the latest version").click()
    # as a person would, save once the latest version is on the page (a click on the form being
    # replaced saves with the old ETag, and its answer goes with that form)
    expect(settings).to_contain_text(f"Version {saved.json()['version']},")
    page.get_by_role("button", name="Save program").click()
    expect(page.get_by_text("Saved: version")).to_be_visible()

    # A reward of each kind can be made; the dynamic one is shown as such.
    reward_id = f"browser-{uuid.uuid4().hex[:6]}"
    page.get_by_role("button", name="Add reward").click()
    form = page.get_by_role("form", name="New reward")
    form.get_by_label("Reward id").fill(reward_id)
    form.get_by_label("Type").select_option("dynamic")
    form.get_by_label("Name", exact=True).fill("Browser coins")
    form.get_by_label("Minimum coins").fill("10")
    form.get_by_label("Maximum coins").fill("500")
    form.get_by_label("Step").fill("10")
    form.get_by_label("Max share of cart (%)").fill("40")
    form.get_by_role("button", name="Save reward").click()
    row = page.get_by_role("row", name=re.compile("Browser coins"))
    expect(row).to_contain_text("10\u2013500 coins in steps of 10")
    reward = http.get(f"/v1/admin/rewards/{reward_id}", headers=_admin(stack)).json()
    assert (reward["type"], reward["min_coins"], reward["max_coins"], reward["max_cart_percent"]) == (
        "dynamic",
        10,
        500,
        "40",
    )
    page.get_by_role("button", name="Delete reward Browser coins").click()
    expect(page.get_by_role("row", name=re.compile("Browser coins"))).to_have_count(0)


def test_api_keys_created_once_listed_and_revoked(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client
) -> None:
    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="API keys").click()
    name = f"Browser key {uuid.uuid4().hex[:6]}"
    page.get_by_label("Name").fill(name)
    page.get_by_label("Scope").select_option("read")
    page.get_by_role("button", name="Create key").click()
    key = page.locator("[data-secret]").inner_text()
    assert http.get("/v1/rewards", headers={"x-api-key": key}).status_code == 200
    row = page.get_by_role("row", name=re.compile(name))
    expect(row).to_contain_text("active")
    assert key not in row.inner_text()
    assert dashboard.axe() == []
    dashboard.shot("api-keys")
    row.get_by_role("button", name=f"Revoke key {name}").click()
    expect(row).to_contain_text("revoked")
    assert http.get("/v1/rewards", headers={"x-api-key": key}).status_code == 401


def test_every_screen_fits_a_phone_works_from_the_keyboard_and_passes_axe(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client
) -> None:
    customer, _, _ = paid_customer(http, stack)
    dashboard.sign_in()
    page = dashboard.page
    page.set_viewport_size(PHONE)
    expect(page.get_by_role("heading", level=1)).to_be_visible()  # the first screen has settled
    page.get_by_role("link", name="Skip to content").focus()  # the page's first stop (screens move focus)
    assert page.evaluate("() => document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Customers"
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Customers", level=1)).to_be_visible()
    loaded = page.evaluate("() => performance.getEntriesByType('navigation').length")
    for screen, ready in [
        ("analytics", page.get_by_role("heading", name="Analytics", level=1)),
        (f"customers/{customer}", page.get_by_test_id("balance")),
        ("program", page.get_by_role("region", name="Rewards catalogue").get_by_role("table")),
        ("events", page.get_by_role("region", name="Dead letters").get_by_role("button", name="Refresh")),
        ("keys", page.get_by_role("region", name="Keys").get_by_role("table")),
    ]:
        dashboard.go(screen)
        expect(ready).to_be_visible()
        expect(page.get_by_role("status").filter(has_text="Loading")).to_have_count(0)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"], screen
        assert dashboard.axe() == [], screen
        dashboard.shot(f"{screen.split('/')[0]}-375px")
    assert page.evaluate("() => performance.getEntriesByType('navigation').length") == loaded  # no reloads


@pytest.mark.parametrize(
    ("title", "path"), [("Referral program", "/v1/admin/referral-program"), ("VIP tiers", "/v1/admin/tiers")]
)
def test_referral_program_and_tiers_save_with_if_match_or_say_the_api_is_missing(
    dashboard: Dashboard, stack: LocalStack, http: httpx.Client, title: str, path: str
) -> None:
    before = http.get(path, headers=_admin(stack))
    dashboard.sign_in()
    page = dashboard.page
    page.get_by_role("link", name="Program").click()
    section = page.get_by_role("region", name=title)
    if before.status_code == 404:
        expect(section).to_contain_text(f"no {title.lower()} API yet")
        return
    assert before.status_code == 200, before.text
    editor = section.get_by_label("Settings (JSON)")
    expect(section).to_contain_text(f"Version {before.json()['version']},")  # the page has loaded it
    # Someone else saves first: the page's save is refused and nothing is overwritten.
    body = {k: v for k, v in before.json().items() if k not in ("version", "updated_at", "members")}
    theirs = http.put(path, json=body, headers={**_admin(stack), "if-match": before.headers["etag"]})
    assert theirs.status_code == 200, theirs.text
    section.get_by_role("button", name="Save").click()
    expect(section.get_by_role("alert")).to_contain_text("Conflict")
    assert http.get(path, headers=_admin(stack)).headers["etag"] == theirs.headers["etag"]
    section.get_by_role("button", name="Load the latest version").click()
    editor.fill(editor.input_value().replace("{", "{ ", 1))  # still the same settings
    section.get_by_role("button", name="Save").click()
    expect(section.get_by_text("Saved.")).to_be_visible()
    assert http.get(path, headers=_admin(stack)).headers["etag"] != theirs.headers["etag"]
