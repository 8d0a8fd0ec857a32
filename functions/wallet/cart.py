"""Cart-based coin calculation: what a cart or a product will earn, tier multiplier included."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from pollen.api.app import principal
from pollen.api.auth import requires
from pollen.domain.api_keys import Scope
from pollen.domain.cart import CartCoins, CartRequest, cart_coins
from pollen.services import tier_views
from pollen.services.container import container
from pollen.services.program import program_in_currency

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated


@router.post("/v1/cart/coins", summary="Coins a cart (or a single product) will earn; writes nothing")
@requires(Scope.PUBLIC)
def get_cart_coins(body: Annotated[CartRequest, Body()]) -> CartCoins:
    c, merchant_id = container(), principal(router).merchant_id
    program = program_in_currency(c, merchant_id, body.currency, what="Carts are priced")
    multiplier = tier_views.cart_multiplier(c, merchant_id, body.customer_id)
    return cart_coins(body, program.earning, multiplier=multiplier)
