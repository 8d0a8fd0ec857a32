"""Wallet API for apps and storefront widgets: customers, balances, history, triggers, cart coins."""

from __future__ import annotations

from importlib import import_module
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.api.app import create_app, principal
from pollen.api.auth import for_customer, requires
from pollen.api.schemas.customers import CustomerProfile, CustomerUpsert, CustomerView, TransactionPage
from pollen.api.schemas.headers import IdempotencyKey
from pollen.api.schemas.program import PublicProgram
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.cart import CartCoins, CartRequest, cart_coins
from pollen.domain.customers import CustomerData, CustomerId
from pollen.domain.errors import Forbidden
from pollen.domain.triggers import TriggerId
from pollen.domain.wallet import TxnType
from pollen.observability import lambda_entry, metrics
from pollen.services import customers, tier_views, triggers, wallet
from pollen.services.container import container
from pollen.services.idempotency import Idempotency
from pollen.services.ledger import Operated
from pollen.services.program import get_program, program_in_currency
from pollen.views.wallet import WalletView

app = create_app(title="Pollen Wallet API")


@app.put("/v1/customers/<customer_id>", summary="Create or update a customer", responses={201: {}})
@for_customer(Scope.WRITE)
def upsert_customer(
    customer_id: Annotated[CustomerId, Path()], body: Annotated[CustomerUpsert, Body()]
) -> Response[CustomerView]:
    caller = principal(app)
    if body.email_verified and caller.acts_as_customer:
        raise Forbidden()  # only the merchant's server can vouch for an email
    data = CustomerData(customer_id=customer_id, **body.model_dump(exclude={"email_verified"}))
    result = customers.upsert_customer(
        container(),
        caller.merchant_id,
        data,
        now=utcnow(),
        source="api",
        email_verified=body.email_verified,
    )
    return Response(
        status_code=201 if result.created else 200,
        content_type="application/json",
        body=CustomerView.of(result.record, result.claimed_orders),
    )


@app.get("/v1/customers/<customer_id>", summary="A customer's profile and wallet summary")
@for_customer(Scope.READ)
def get_customer(customer_id: Annotated[CustomerId, Path()]) -> CustomerProfile:
    return CustomerProfile.of(customers.get_customer(container(), principal(app).merchant_id, customer_id))


@app.get("/v1/customers/<customer_id>/wallet", summary="Balance, pending and expiring coins")
@for_customer(Scope.READ)
def get_wallet(customer_id: Annotated[CustomerId, Path()]) -> WalletView:
    return wallet.wallet_view(container(), principal(app).merchant_id, customer_id)


@app.get("/v1/customers/<customer_id>/transactions", summary="Ledger history, newest first")
@for_customer(Scope.READ)
def get_transactions(
    customer_id: Annotated[CustomerId, Path()],
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
    type: Annotated[list[TxnType] | None, Query()] = None,
) -> TransactionPage:
    page = wallet.history(
        container(), principal(app).merchant_id, customer_id, limit=limit, cursor=cursor, types=type
    )
    return TransactionPage(items=page.items, next_cursor=page.next_cursor)


@app.post(
    "/v1/customers/<customer_id>/triggers/<trigger_id>",
    summary="Award a trigger's coins (409 when its frequency forbids it)",
    responses={201: {}},
)
@for_customer(Scope.WRITE)
def award_trigger(
    customer_id: Annotated[CustomerId, Path()],
    trigger_id: Annotated[TriggerId, Path()],
    idempotency_key: Annotated[IdempotencyKey | None, Header(alias="idempotency-key")] = None,
) -> Response[Operated]:
    idempotency = (
        Idempotency("trigger", idempotency_key, {"customer_id": customer_id, "trigger_id": trigger_id})
        if idempotency_key
        else None
    )
    caller = principal(app)
    status, result = triggers.award_trigger(
        container(),
        caller.merchant_id,
        customer_id,
        trigger_id,
        now=utcnow(),
        idempotency=idempotency,
        by_customer=caller.acts_as_customer,
    )
    metrics.add_metric(name="TriggersAwarded", unit=MetricUnit.Count, value=1)
    return Response(status_code=status, content_type="application/json", body=result)


@app.get(
    "/v1/program", summary="The program as apps show it: currency, coin value, earning, expiry, triggers"
)
@requires(Scope.PUBLIC)
def get_public_program() -> PublicProgram:
    c, merchant_id = container(), principal(app).merchant_id
    return PublicProgram.of(get_program(c, merchant_id), triggers.list_triggers(c, merchant_id))


@app.post("/v1/cart/coins", summary="Coins a cart (or a single product) will earn; writes nothing")
@requires(Scope.PUBLIC)
def get_cart_coins(body: Annotated[CartRequest, Body()]) -> CartCoins:
    c, merchant_id = container(), principal(app).merchant_id
    program = program_in_currency(c, merchant_id, body.currency, what="Carts are priced")
    multiplier = tier_views.cart_multiplier(c, merchant_id, body.customer_id)
    return cart_coins(body, program.earning, multiplier=multiplier)


app.include_router(import_module(f"{__package__}.tiers" if __package__ else "tiers").router)  # VIP tiers


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
