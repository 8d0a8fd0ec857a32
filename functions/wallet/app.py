"""Wallet API for apps and storefront widgets: customers, balances, history, triggers, cart coins."""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.utilities.typing import LambdaContext

import pollen.services.customer_tokens  # noqa: F401 - customer routes verify a customer token: at init
from pollen.api.app import create_app, principal
from pollen.api.auth import for_customer
from pollen.api.schemas.customers import CustomerProfile, CustomerUpsert, CustomerView, TransactionPage
from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.customers import CustomerData, CustomerId
from pollen.domain.errors import Forbidden
from pollen.domain.wallet import TxnType
from pollen.observability import lambda_entry
from pollen.services import customers, wallet
from pollen.services.container import container
from pollen.views.wallet import WalletView

app = create_app(title="Pollen Wallet API")


def _here(module: str) -> str:
    """A module of this function: ``wallet.<module>`` locally, ``<module>`` in Lambda's task root."""
    return f"{__package__}.{module}" if __package__ else module


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


# Earning (trigger awards, the public program), cart coins and VIP tiers: each router is imported by
# the first request under its paths, so a container serving balances never loads the cart's models.
app.include_lazily(_here("earning"), "/v1/customers/*/triggers", "/v1/program")
app.include_lazily(_here("cart"), "/v1/cart")
app.include_lazily(_here("tiers"), "/v1/customers/*/tier")


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
