"""Create the template's tables and queues on moto (in-process or server), from their own definitions.

Reading the properties out of ``template.yaml`` instead of restating them means the local stack and
the tests run on exactly the key schema, indexes, stream view and redrive policy that AWS gets.
Clients come from the environment: under ``moto.mock_aws`` nothing needs setting, against the moto
server ``AWS_ENDPOINT_URL`` points at it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from infra.template import DEFAULT_REGION, Resolver

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_sqs import SQSClient

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"

# CloudFormation property -> SQS queue attribute. Tags and the name are handled apart; encryption
# settings are accepted by moto but change nothing locally.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)


@dataclass(frozen=True, slots=True)
class TableInfo:
    name: str
    arn: str
    stream_arn: str | None


@dataclass(frozen=True, slots=True)
class QueueInfo:
    name: str
    url: str
    arn: str


@dataclass(frozen=True)
class LocalResources:
    """Physical names of what :func:`create_resources` made, keyed by logical id."""

    region: str
    account_id: str
    tables: dict[str, TableInfo] = field(default_factory=dict)
    queues: dict[str, QueueInfo] = field(default_factory=dict)

    def refs(self) -> dict[str, str]:
        """What ``Ref`` returns for each resource: a table's name, a queue's URL."""
        refs = {logical_id: table.name for logical_id, table in self.tables.items()}
        refs.update({logical_id: queue.url for logical_id, queue in self.queues.items()})
        return refs

    def attributes(self) -> dict[str, dict[str, str]]:
        """``Fn::GetAtt`` values per resource."""
        attributes: dict[str, dict[str, str]] = {}
        for logical_id, table in self.tables.items():
            attributes[logical_id] = {"Arn": table.arn}
            if table.stream_arn:
                attributes[logical_id]["StreamArn"] = table.stream_arn
        for logical_id, queue in self.queues.items():
            attributes[logical_id] = {"Arn": queue.arn, "QueueName": queue.name, "QueueUrl": queue.url}
        return attributes

    def resolver(
        self, template: Mapping[str, Any], *, parameters: Mapping[str, Any] | None = None, stack_name: str
    ) -> Resolver:
        return Resolver(
            template,
            refs=self.refs(),
            attributes=self.attributes(),
            parameters=dict(parameters or {}),
            region=self.region,
            account_id=self.account_id,
            stack_name=stack_name,
        )

    def queue_url_for_arn(self, arn: str) -> str:
        for queue in self.queues.values():
            if queue.arn == arn:
                return queue.url
        raise KeyError(f"no local queue has the ARN {arn}")

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "account_id": self.account_id,
            "tables": {key: _as_dict(value) for key, value in self.tables.items()},
            "queues": {key: _as_dict(value) for key, value in self.queues.items()},
        }


def _as_dict(info: TableInfo | QueueInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in info.__slots__}


def create_resources(
    template: Mapping[str, Any],
    *,
    prefix: str = "pollen-local",
    region: str = DEFAULT_REGION,
    parameters: Mapping[str, Any] | None = None,
) -> LocalResources:
    """Create every enabled DynamoDB table and SQS queue of ``template``; safe to call twice.

    Names are ``{prefix}-{LogicalId}`` (``.fifo`` appended for FIFO queues). ``parameters`` overrides
    parameter defaults when conditions or properties depend on them.
    """
    dynamodb: DynamoDBClient = boto3.client("dynamodb", region_name=region)
    sqs: SQSClient = boto3.client("sqs", region_name=region)
    resources = LocalResources(region=region, account_id="")
    resolver = resources.resolver(template, parameters=parameters, stack_name=prefix)
    declared = dict(resolver.resources)

    tables: dict[str, TableInfo] = {}
    for logical_id, resource in declared.items():
        if resource.get("Type") == TABLE_TYPE and resolver.is_enabled(logical_id):
            props = resolver.resolve(resource.get("Properties") or {})
            tables[logical_id] = _create_table(dynamodb, f"{prefix}-{logical_id}", props)

    queues: dict[str, QueueInfo] = {}
    pending = [
        logical_id
        for logical_id, resource in declared.items()
        if resource.get("Type") == QUEUE_TYPE and resolver.is_enabled(logical_id)
    ]
    # A queue whose redrive policy names another queue is created after it, as CloudFormation orders
    # them by their GetAtt dependencies.
    queue_ids = set(pending)
    while pending:
        ready = [
            logical_id
            for logical_id in pending
            if not (_queue_dependencies(declared[logical_id]) & queue_ids) - set(queues) - {logical_id}
        ]
        if not ready:
            raise ValueError(f"queues {pending} depend on each other in a cycle")
        for logical_id in ready:
            resolver = LocalResources(region, "", tables, queues).resolver(
                template, parameters=parameters, stack_name=prefix
            )
            props = resolver.resolve(declared[logical_id].get("Properties") or {})
            queues[logical_id] = _create_queue(sqs, f"{prefix}-{logical_id}", props)
            pending.remove(logical_id)

    account_id = _account_id(tables, queues)
    return LocalResources(region=region, account_id=account_id, tables=tables, queues=queues)


def _create_table(client: DynamoDBClient, name: str, props: Mapping[str, Any]) -> TableInfo:
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    if request["BillingMode"] == "PROVISIONED":
        request["ProvisionedThroughput"] = props.get(
            "ProvisionedThroughput", {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}
        )
    for index_kind in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(index_kind):
            request[index_kind] = [_index(index, request["BillingMode"]) for index in props[index_kind]]
    stream = props.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    try:
        description = client.create_table(**request)["TableDescription"]
    except client.exceptions.ResourceInUseException:
        description = client.describe_table(TableName=name)["Table"]
    ttl = props.get("TimeToLiveSpecification")
    if ttl and str(ttl.get("Enabled", False)).lower() == "true":
        current = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if current.get("TimeToLiveStatus") not in ("ENABLED", "ENABLING"):
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
            )
    return TableInfo(name=name, arn=description["TableArn"], stream_arn=description.get("LatestStreamArn"))


def _index(index: Mapping[str, Any], billing_mode: str) -> dict[str, Any]:
    shaped = {key: index[key] for key in ("IndexName", "KeySchema", "Projection") if key in index}
    if billing_mode == "PROVISIONED" and "ProvisionedThroughput" in index:
        shaped["ProvisionedThroughput"] = index["ProvisionedThroughput"]
    return shaped


def _create_queue(client: SQSClient, name: str, props: Mapping[str, Any]) -> QueueInfo:
    attributes = {key: _queue_attribute(props[key]) for key in _QUEUE_ATTRIBUTES if key in props}
    if attributes.get("FifoQueue") == "true" and not name.endswith(".fifo"):
        name = f"{name}.fifo"
    url = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]  # type: ignore[arg-type]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return QueueInfo(name=name, url=url, arn=arn)


def _queue_attribute(value: Any) -> str:
    """CloudFormation values in SQS's all-strings attribute form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _queue_dependencies(resource: Mapping[str, Any]) -> set[str]:
    """Logical ids of the queues this queue's properties point at with GetAtt/Ref."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "Fn::GetAtt" in value:
                target = value["Fn::GetAtt"]
                found.add(target[0] if isinstance(target, list) else str(target).split(".")[0])
            elif "Ref" in value and isinstance(value["Ref"], str):
                found.add(value["Ref"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(resource.get("Properties") or {})
    return found


def _account_id(tables: Mapping[str, TableInfo], queues: Mapping[str, QueueInfo]) -> str:
    for arn in [table.arn for table in tables.values()] + [queue.arn for queue in queues.values()]:
        return arn.split(":")[4]
    return "123456789012"
