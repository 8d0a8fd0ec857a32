"""The template loader: CloudFormation short tags, intrinsic functions, and what each function is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from infra.template import (
    NO_VALUE,
    FunctionSpec,
    HttpRoute,
    Resolver,
    UnresolvableError,
    describe_functions,
    global_function_env,
    load_template,
    parse_template,
)

ROOT = Path(__file__).resolve().parents[2]

TEMPLATE = """
AWSTemplateFormatVersion: 2010-09-09
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  LogLevel:
    Type: String
    Default: INFO
  Zones:
    Type: CommaDelimitedList
    Default: "a, b"
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsNotProd: !Not [!Condition IsProd]
Mappings:
  Levels:
    INFO:
      Level: INFO
    WARNING:
      Level: WARN
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
    Handler: app.lambda_handler
    Environment:
      Variables:
        TABLE_NAME: !Ref Table
        STAGE: !Ref Stage
        SERVICE: pollen
        DEBUG: false
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      StreamSpecification:
        StreamViewType: NEW_IMAGE
  Queue:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::HttpApi
  ApiFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Environment:
        Variables:
          SERVICE: api
          QUEUE_URL: !Ref Queue
          QUEUE_ARN: !GetAtt Queue.Arn
          LEVEL: !FindInMap [Levels, !Ref LogLevel, Level]
          PROD_ONLY: !If [IsProd, "yes", !Ref AWS::NoValue]
      Events:
        GetThing:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
            Method: get
            Path: /v1/things/{thing_id}
        CatchAll:
          Type: HttpApi
          Properties:
            ApiId: !Ref Api
  StreamFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/stream/
      Handler: handler.main
      Timeout: 60
      Events:
        Outbox:
          Type: DynamoDB
          Properties:
            Stream: !GetAtt Table.StreamArn
            StartingPosition: LATEST
            BatchSize: 25
            MaximumBatchingWindowInSeconds: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
            MaximumRetryAttempts: 3
            BisectBatchOnFunctionError: true
            FilterCriteria:
              Filters:
                - Pattern: '{"eventName": ["INSERT"]}'
            DestinationConfig:
              OnFailure:
                Type: SQS
                Destination: !GetAtt Queue.Arn
        Deliveries:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 5
        Hourly:
          Type: Schedule
          Properties:
            Schedule: rate(1 hour)
            Input: '{"jobs": "hourly"}'
        Paused:
          Type: Schedule
          Properties:
            Schedule: cron(0 3 * * ? *)
            Enabled: false
  ProdOnlyFunction:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties:
      CodeUri: functions/prod_only/
"""


@pytest.fixture
def template() -> dict[str, Any]:
    return parse_template(TEMPLATE)


@pytest.fixture
def resolver(template: dict[str, Any]) -> Resolver:
    return Resolver(
        template,
        refs={"Table": "local-table", "Queue": "http://moto/123456789012/local-queue"},
        attributes={
            "Table": {"Arn": "arn:table", "StreamArn": "arn:table/stream/1"},
            "Queue": {"Arn": "arn:aws:sqs:us-east-1:123456789012:local-queue"},
        },
        parameters={"Stage": "local"},
    )


# ---- Short tags ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("!Ref Table", {"Ref": "Table"}),
        ("!GetAtt Table.StreamArn", {"Fn::GetAtt": ["Table", "StreamArn"]}),
        ("!GetAtt [Table, Arn]", {"Fn::GetAtt": ["Table", "Arn"]}),
        ("!Sub 'arn:${AWS::Partition}:x'", {"Fn::Sub": "arn:${AWS::Partition}:x"}),
        ("!Sub ['${A}-b', {A: !Ref Stage}]", {"Fn::Sub": ["${A}-b", {"A": {"Ref": "Stage"}}]}),
        ("!If [IsProd, 1, 2]", {"Fn::If": ["IsProd", 1, 2]}),
        ("!Equals [!Ref Stage, prod]", {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}),
        ("!Not [!Condition IsProd]", {"Fn::Not": [{"Condition": "IsProd"}]}),
        ("!Join [',', [a, b]]", {"Fn::Join": [",", ["a", "b"]]}),
        ("!Select [0, !GetAZs '']", {"Fn::Select": [0, {"Fn::GetAZs": ""}]}),
        ("!FindInMap [M, a, b]", {"Fn::FindInMap": ["M", "a", "b"]}),
        ("!Base64 abc", {"Fn::Base64": "abc"}),
        ("!Split [',', 'a,b']", {"Fn::Split": [",", "a,b"]}),
        ("!ImportValue shared", {"Fn::ImportValue": "shared"}),
    ],
)
def test_short_tags_become_long_forms(yaml_text: str, expected: Any) -> None:
    assert parse_template(f"value: {yaml_text}\n")["value"] == expected


def test_dates_stay_strings_as_in_cloudformation(template: dict[str, Any]) -> None:
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"


def test_a_template_must_be_a_mapping() -> None:
    with pytest.raises(ValueError, match="mapping"):
        parse_template("- a\n- b\n")


# ---- Resolver --------------------------------------------------------------------------------------


def test_ref_resolves_parameters_pseudo_parameters_and_resources(resolver: Resolver) -> None:
    assert resolver.resolve({"Ref": "Stage"}) == "local"  # overridden
    assert resolver.resolve({"Ref": "LogLevel"}) == "INFO"  # default
    assert resolver.resolve({"Ref": "Zones"}) == ["a", "b"]
    assert resolver.resolve({"Ref": "AWS::Region"}) == "us-east-1"
    assert resolver.resolve({"Ref": "AWS::AccountId"}) == "123456789012"
    assert resolver.resolve({"Ref": "Table"}) == "local-table"
    assert resolver.resolve({"Ref": "Api"}) == "pollen-local-Api"  # declared but not created locally
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Ref": "Nowhere"})


def test_get_att_uses_local_values_and_refuses_unknown_resources(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::GetAtt": ["Table", "StreamArn"]}) == "arn:table/stream/1"
    assert resolver.resolve({"Fn::GetAtt": "Table.Arn"}) == "arn:table"
    assert resolver.resolve({"Fn::GetAtt": ["Api", "Arn"]}).startswith("arn:aws:serverless:")
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::GetAtt": ["Nowhere", "Arn"]})


def test_sub_handles_refs_attributes_variables_and_escapes(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::Sub": "${AWS::StackName}-${Stage}"}) == "pollen-local-local"
    assert resolver.resolve({"Fn::Sub": "${Table.StreamArn}"}) == "arn:table/stream/1"
    assert resolver.resolve({"Fn::Sub": ["${Name}!", {"Name": {"Ref": "Table"}}]}) == "local-table!"
    assert resolver.resolve({"Fn::Sub": "${!Literal}"}) == "${Literal}"


def test_conditions_if_and_no_value(resolver: Resolver) -> None:
    assert resolver.condition("IsProd") is False
    assert resolver.condition("IsNotProd") is True
    assert resolver.resolve({"Fn::If": ["IsProd", "a", "b"]}) == "b"
    assert resolver.resolve({"k": {"Fn::If": ["IsProd", "a", {"Ref": "AWS::NoValue"}]}}) == {}
    assert resolver.resolve([{"Ref": "AWS::NoValue"}, 1]) == [1]
    assert resolver.ref("AWS::NoValue") is NO_VALUE
    prod = Resolver(resolver.template, parameters={"Stage": "prod"})
    assert prod.resolve({"Fn::If": ["IsProd", "a", "b"]}) == "a"


def test_other_functions(resolver: Resolver) -> None:
    assert resolver.resolve({"Fn::FindInMap": ["Levels", {"Ref": "LogLevel"}, "Level"]}) == "INFO"
    assert resolver.resolve({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 1]]}) == "a-local-1"
    assert resolver.resolve({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}) == "y"
    assert resolver.resolve({"Fn::Base64": "hi"}) == "aGk="
    assert resolver.resolve({"Fn::Equals": [True, "true"]}) is True
    with pytest.raises(UnresolvableError):
        resolver.resolve({"Fn::ImportValue": "shared"})


# ---- Functions ---------------------------------------------------------------------------------------


def _by_id(specs: list[FunctionSpec]) -> dict[str, FunctionSpec]:
    return {spec.logical_id: spec for spec in specs}


def test_describe_functions_merges_environment_over_globals(
    template: dict[str, Any], resolver: Resolver
) -> None:
    api = _by_id(describe_functions(template, resolver))["ApiFunction"]
    assert api.env == {
        "TABLE_NAME": "local-table",
        "STAGE": "local",
        "SERVICE": "api",  # the function's own value wins
        "DEBUG": "false",  # CloudFormation writes booleans in lower case
        "QUEUE_URL": "http://moto/123456789012/local-queue",
        "QUEUE_ARN": "arn:aws:sqs:us-east-1:123456789012:local-queue",
        "LEVEL": "INFO",
    }
    assert global_function_env(template, resolver)["SERVICE"] == "pollen"


def test_describe_functions_reads_code_location_and_limits(
    template: dict[str, Any], resolver: Resolver
) -> None:
    specs = _by_id(describe_functions(template, resolver))
    assert set(specs) == {"ApiFunction", "StreamFunction"}  # ProdOnlyFunction's condition is false
    api, stream = specs["ApiFunction"], specs["StreamFunction"]
    assert (api.code_dir, api.module, api.handler_attr, api.handler) == (
        "api",
        "functions.api.app",
        "lambda_handler",
        "app.lambda_handler",
    )
    assert (api.timeout, api.memory_size) == (10, 256)
    assert (stream.module, stream.handler_attr, stream.timeout) == ("functions.stream.handler", "main", 60)
    assert api.function_name == "pollen-local-ApiFunction"


def test_describe_functions_sorts_out_events(template: dict[str, Any], resolver: Resolver) -> None:
    specs = _by_id(describe_functions(template, resolver))
    api, stream = specs["ApiFunction"], specs["StreamFunction"]
    assert api.http_routes == (
        HttpRoute(method="GET", path="/v1/things/{thing_id}", event_name="GetThing"),
        HttpRoute(method="ANY", path="$default", event_name="CatchAll"),
    )
    assert [route.route_key for route in api.http_routes] == ["GET /v1/things/{thing_id}", "$default"]

    (outbox,) = stream.stream_sources
    assert outbox.stream_arn == "arn:table/stream/1"
    assert (outbox.batch_size, outbox.batching_window_seconds, outbox.maximum_retry_attempts) == (25, 1.0, 3)
    assert outbox.report_batch_item_failures
    assert outbox.bisect_on_error
    assert outbox.filter_patterns == ({"eventName": ["INSERT"]},)
    assert outbox.on_failure_arn == "arn:aws:sqs:us-east-1:123456789012:local-queue"

    (deliveries,) = stream.sqs_sources
    assert (deliveries.queue_arn, deliveries.batch_size) == (
        "arn:aws:sqs:us-east-1:123456789012:local-queue",
        5,
    )
    assert not deliveries.report_batch_item_failures

    hourly, paused = stream.schedules
    assert (hourly.expression, hourly.input, hourly.enabled) == ("rate(1 hour)", {"jobs": "hourly"}, True)
    assert (paused.expression, paused.input, paused.enabled) == ("cron(0 3 * * ? *)", None, False)


def test_stream_and_queue_sources_default_like_lambda() -> None:
    template = parse_template(
        """
Resources:
  Table: {Type: AWS::DynamoDB::Table}
  Queue: {Type: AWS::SQS::Queue}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/fn
      Handler: app.handler
      Events:
        S: {Type: DynamoDB, Properties: {Stream: !GetAtt Table.StreamArn, StartingPosition: LATEST}}
        Q: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn}}
"""
    )
    (spec,) = describe_functions(template, Resolver(template))
    (stream,) = spec.stream_sources
    (queue,) = spec.sqs_sources
    assert (stream.batch_size, stream.maximum_retry_attempts, stream.bisect_on_error) == (100, -1, False)
    assert (stream.filter_patterns, stream.on_failure_arn) == ((), None)
    assert (queue.batch_size, queue.batching_window_seconds) == (10, 0.0)
    assert (spec.timeout, spec.memory_size) == (3, 128)


def test_the_real_template_describes_importable_function_files() -> None:
    """Every function of template.yaml resolves locally and points at a file that exists."""
    template = load_template(ROOT / "template.yaml")
    resolver = Resolver(template, parameters={"Stage": "local"})
    specs = describe_functions(template, resolver)
    assert specs
    for spec in specs:
        path = ROOT / Path(*spec.module.split(".")).with_suffix(".py")
        assert path.is_file(), f"{spec.logical_id}: {path} is missing"
        assert all(isinstance(value, str) for value in spec.env.values())
