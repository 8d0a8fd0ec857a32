"""Create a merchant in a deployed (or local) Pollen table and print its first API keys.

    python -m infra.onboard --table <TableName output> --merchant-id my-store --name "My Store" \\
        --currency USD [--shop-domain my-store.myshopify.com --webhook-secret ...] [--region eu-west-1]

Uses your AWS credentials (the usual AWS_PROFILE / environment). The keys are printed once as
JSON (an app key, ``public``, and server keys ``read``, ``write``, ``admin``); only their SHA-256
hashes are stored. More keys can then be made with the admin API.
"""

from __future__ import annotations

import argparse
import os
import sys

from pydantic import BaseModel

from pollen.clock import utcnow
from pollen.domain.api_keys import Scope
from pollen.domain.merchants import Merchant, ShopifyConnection
from pollen.domain.program import ProgramSettings, default_settings
from pollen.services import api_keys, merchants
from pollen.services.container import container


class MerchantKeys(BaseModel):
    public: str  # the app key
    read: str
    write: str
    admin: str


def onboard(
    merchant_id: str, name: str, settings: ProgramSettings, *, shopify: ShopifyConnection | None = None
) -> MerchantKeys:
    """The merchant, its program, its Shopify link and one key per scope, in the configured table."""
    c = container()
    now = utcnow()
    merchants.onboard_merchant(
        c, Merchant(merchant_id=merchant_id, name=name, created_at=now), settings, shopify=shopify, now=now
    )
    keys = {
        scope.value: api_keys.create_key(
            c, merchant_id, name=f"Initial {scope.value} key", scope=scope, now=now
        )[1]
        for scope in Scope
    }
    return MerchantKeys.model_validate(keys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--table", required=True, help="the stack's TableName output")
    parser.add_argument("--merchant-id", required=True, help="lower-case letters, digits and dashes")
    parser.add_argument("--name", required=True)
    parser.add_argument("--currency", default="USD")
    parser.add_argument("--shop-domain")
    parser.add_argument("--webhook-secret")
    parser.add_argument("--region")
    args = parser.parse_args(argv)
    os.environ["TABLE_NAME"] = args.table
    if args.region:
        os.environ["AWS_REGION"] = os.environ["AWS_DEFAULT_REGION"] = args.region
    shopify = None
    if args.shop_domain:
        if not args.webhook_secret:
            parser.error("--webhook-secret is required with --shop-domain")
        shopify = ShopifyConnection(shop_domain=args.shop_domain, webhook_secret=args.webhook_secret)
    keys = onboard(args.merchant_id, args.name, default_settings(args.currency), shopify=shopify)
    print(keys.model_dump_json(indent=2))
    print("Store these keys now: Pollen keeps only their hashes.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
