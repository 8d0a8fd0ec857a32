"""Analytics: orders, revenue, coins and activity over time (routes arrive with the analytics issue)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.api.app import create_app
from pollen.observability import lambda_entry

app = create_app(title="Pollen Analytics API")


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
