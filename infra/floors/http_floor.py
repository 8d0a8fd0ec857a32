"""The HTTP floor: what any validated, traced Powertools HTTP API on DynamoDB costs to import.

Tracer, Logger, Metrics, ``APIGatewayHttpResolver(enable_validation=True)`` with one route taking a
pydantic body, and one boto3 DynamoDB client: the same features every Pollen HTTP function has.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver(enable_validation=True)
dynamodb = boto3.client("dynamodb")
TABLE = os.environ.get("TABLE_NAME", "floor")


class Item(BaseModel):
    item_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1)


@app.post("/items")
@tracer.capture_method
def put_item(body: Annotated[Item, Body()]) -> dict[str, Any]:
    dynamodb.put_item(
        TableName=TABLE, Item={"pk": {"S": body.item_id}, "quantity": {"N": str(body.quantity)}}
    )
    return {"item_id": body.item_id}


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
