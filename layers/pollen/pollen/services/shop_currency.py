"""The shop's currency checked against the program's when Shopify is connected.

Shopify sends every order amount in the shop currency; a program in another currency would credit
them at face value (284 HKD as 284 USD), so ``PUT /v1/admin/shopify`` asks the shop first with one
Admin GraphQL query, ``shop { currencyCode }``:

- the same currency: ``matches``;
- another currency and the program has no history (no customer yet, so no wallet, ledger entry or
  credited order): the program takes the shop's currency, in the connection's own transaction:
  ``adopted``;
- another currency and the program has history: 422, nothing written (the merchant changes the
  shop or starts a new program);
- Shopify refuses the access token (401/403): 422, nothing written;
- Shopify unreachable, throttled or answering something else: the connection is saved with
  ``unverified`` and a warning in ``currency_check_detail`` (like the Klaviyo/Omnisend key checks:
  Shopify being down says nothing about the shop). Orders in another currency are still refused at
  the webhook and listed in the rejected-webhooks log, so nothing is credited at face value;
- no admin access token (webhooks only): ``skipped``, same safety net.
"""

from __future__ import annotations

from datetime import datetime

from pollen.domain.errors import FieldError, ValidationFailed
from pollen.domain.merchants import ShopifyConnection
from pollen.domain.program import Program
from pollen.domain.values import value
from pollen.events.internal import ProgramUpdatedPayload
from pollen.services.container import Container
from pollen.services.unit_of_work import UnitOfWork
from pollen.storage.customers import has_customers


@value
class CurrencyCheck:
    status: str  # matches | adopted | unverified | skipped
    detail: str
    adopt: Program | None = None  # the program in the shop's currency, to stage with the connection

    def stage(self, uow: UnitOfWork, current: Program) -> None:
        """Save the adopted program, guarded by the version the decision was made on."""
        if self.adopt is None:
            return
        uow.programs.save(self.adopt, expected_version=current.version)
        settings = self.adopt.model_dump(mode="json", exclude={"version", "updated_at"})
        payload = ProgramUpdatedPayload(version=self.adopt.version, settings=settings)
        uow.emit("program_updated", payload, customer_id=None, now=self.adopt.updated_at)


def _mismatch(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError("shop_domain", message, code)])


def check(
    c: Container, merchant_id: str, connection: ShopifyConnection, program: Program, *, now: datetime
) -> CurrencyCheck:
    """Ask the shop for its currency and decide (see the module docstring); raises the 422s."""
    if not connection.admin_access_token:
        return CurrencyCheck(
            "skipped",
            "No admin access token: the shop's currency was not checked; orders in another "
            f"currency than {program.currency} are refused and listed in the rejected-webhooks log.",
        )
    from pollen.integrations.shopify.discounts import ShopifyFailure  # noqa: PLC0415 - httpx on use
    from pollen.services.shopify_admin import admin_for  # noqa: PLC0415

    try:
        shop = admin_for(connection).shop_currency()
    except ValueError as exc:  # a stored token that cannot go in a header (UnicodeEncodeError)
        return CurrencyCheck(
            "unverified", f"The shop could not be asked ({type(exc).__name__}); saved unchecked."
        )
    except ShopifyFailure as failure:
        if failure.kind == "unauthorized":
            raise _mismatch(
                f"Shopify refused the admin access token (HTTP {failure.status_code}); nothing was saved.",
                "token_rejected",
            ) from failure
        return CurrencyCheck(
            "unverified",
            f"Shopify could not be asked for the shop's currency ({failure.kind}); saved unchecked. "
            f"Orders in another currency than {program.currency} are refused and listed in the "
            "rejected-webhooks log; connect again to check.",
        )
    if shop == program.currency:
        return CurrencyCheck("matches", f"The shop's currency is the program's ({shop}).")
    if has_customers(c.table, merchant_id):
        raise _mismatch(
            f"The shop's currency is {shop} but the program's is {program.currency}, and the program "
            f"already has customers: its coins were earned in {program.currency}. Connect a shop in "
            f"{program.currency}, or start a program in {shop}.",
            "currency_mismatch",
        )
    adopted = program.model_copy(update={"currency": shop, "version": program.version + 1, "updated_at": now})
    return CurrencyCheck(
        "adopted",
        f"The program had no history: its currency changed from {program.currency} to the shop's ({shop}). "
        "Reward amounts keep their numbers, now in the new currency: review them.",
        adopt=adopted,
    )
