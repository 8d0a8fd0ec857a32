"""The one place that creates the logger, tracer and metrics (STYLE.md rule 4).

Every handler is wrapped by :func:`lambda_entry`, which applies the Powertools decorators in one
fixed order and starts fresh DynamoDB and SQS call counts for the invocation.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics.functions import is_metrics_disabled
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.storage.client import call_counter, sqs_call_counter

logger = Logger(utc=True)
tracer = Tracer()
metrics = Metrics()

# Read-only requests have no business metric to publish; Powertools warns on every such flush.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

Handler = TypeVar("Handler", bound=Callable[[dict[str, Any], LambdaContext], Any])


def lambda_entry(handler: Handler) -> Handler:
    """Decorate a Lambda entry point: logging context, tracing, metrics, DynamoDB call count."""

    @wraps(handler)
    def counted(event: dict[str, Any], context: LambdaContext) -> Any:
        call_counter.reset()
        sqs_call_counter.reset()
        try:
            return handler(event, context)
        finally:
            logger.debug(
                "aws calls",
                extra={"dynamodb_calls": call_counter.snapshot(), "sqs_calls": sqs_call_counter.snapshot()},
            )

    decorated = logger.inject_lambda_context(clear_state=True)(
        tracer.capture_lambda_handler(capture_response=False)(
            # Powertools prints the ColdStart metric even with metrics disabled: ask for it only when on.
            metrics.log_metrics(capture_cold_start_metric=not is_metrics_disabled())(counted)
        )
    )

    @wraps(handler)
    def entry(event: dict[str, Any], context: LambdaContext) -> Any:
        try:
            return decorated(event, context)
        finally:
            # Flushing clears the metrics, except when metrics are disabled (tests, the local stack):
            # then they would pile up across invocations until Powertools force-publishes at 100.
            metrics.clear_metrics()

    return cast("Handler", entry)
