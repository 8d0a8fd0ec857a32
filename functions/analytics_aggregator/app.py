"""Folds outbox events and delivery-log attempts into daily rollup items (docs/design.md invariant 4).

The whole batch is folded at once, not record by record: per merchant one transaction with one write
per local day touched (plus each fact's token in its 10-second slice's item, which makes redelivery,
retries, split batches and replays count nothing twice: pollen.storage.analytics). So Powertools'
per-record BatchProcessor does not fit; the handler answers the same partial-batch response shape
itself. A record that cannot be read, or whose merchant's write failed, is reported; the stream
retries from it, and the tokens skip what did commit.
"""

from __future__ import annotations

import gc

gc.disable()  # no cyclic collection while init imports: it finds nothing (docs/design.md, "Cold start")

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.dynamo_db_stream_event import DynamoDBRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.clock import utcnow
from pollen.observability import lambda_entry, logger, metrics
from pollen.services.analytics import StreamFact, aggregate
from pollen.services.analytics_stream import read_fact
from pollen.services.container import container


@lambda_entry
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    facts: list[StreamFact] = []
    failures: list[str] = []
    for raw in event.get("Records", []):
        record = DynamoDBRecord(raw)
        try:
            fact = read_fact(record)
        except Exception:
            logger.exception("unreadable stream record", extra={"event_id": record.event_id})
            failures.append(str(record.dynamodb.sequence_number if record.dynamodb else record.event_id))
            continue
        if fact is not None:
            facts.append(fact)
    results, failed = aggregate(container(), facts, utcnow())
    failures.extend(sorted(failed))
    applied = sum(r.applied for r in results.values())
    duplicates = sum(r.duplicates for r in results.values())
    metrics.add_metric(name="RollupFactsApplied", unit=MetricUnit.Count, value=applied)
    if duplicates:
        metrics.add_metric(name="RollupFactsAlreadyCounted", unit=MetricUnit.Count, value=duplicates)
    logger.info(
        "stream batch folded",
        extra={
            "records": len(event.get("Records", [])),
            "applied": applied,
            "duplicates": duplicates,
            "failed": len(failures),
        },
    )
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}


gc.enable()
gc.freeze()  # what init built stays: the collector never walks it again
