"""Read ``template.yaml`` the way CloudFormation does and describe the functions it declares.

The local stack, the test fixtures and the seed all derive what they run from this module, so the
template stays the single source of truth: a route, a queue setting or an environment variable
added there is picked up locally without another edit.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT_ID = "123456789012"  # moto's default account
DEFAULT_STACK_NAME = "pollen-local"

# Short tags whose long form is ``Fn::<Name>``; ``!Ref`` and ``!Condition`` keep their own names.
_FN_TAGS = (
    "And",
    "Base64",
    "Cidr",
    "Equals",
    "FindInMap",
    "GetAZs",
    "GetAtt",
    "If",
    "ImportValue",
    "Join",
    "Length",
    "Not",
    "Or",
    "Select",
    "Split",
    "Sub",
    "ToJsonString",
    "Transform",
)


try:  # libyaml: the same documents as PyYAML's parser (tests/unit/test_template_libyaml.py)
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class CfnLoader(_SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form intrinsic functions.

    Dates are left as strings (``AWSTemplateFormatVersion: 2010-09-09`` stays text), as in
    CloudFormation, which has no date type. It parses with libyaml where PyYAML has it: every local
    stack start, test session and bench run reads the 60 KB template, and PyYAML's pure-Python scanner
    spent about 0.14 s of CPU on it each time (libyaml: 0.02 s).
    """


CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _node_value(loader: CfnLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node {node.tag}", node.start_mark)


def _long_form(key: str) -> Any:
    def construct(loader: CfnLoader, node: yaml.Node) -> dict[str, Any]:
        value = _node_value(loader, node)
        if key == "Fn::GetAtt" and isinstance(value, str):
            logical_id, _, attribute = value.partition(".")
            value = [logical_id, attribute]
        return {key: value}

    return construct


CfnLoader.add_constructor("!Ref", _long_form("Ref"))
CfnLoader.add_constructor("!Condition", _long_form("Condition"))
for _name in _FN_TAGS:
    CfnLoader.add_constructor(f"!{_name}", _long_form(f"Fn::{_name}"))


def parse_template(text: str) -> dict[str, Any]:
    """Parse template text, short tags turned into their ``Fn::`` long forms."""
    document = yaml.load(text, Loader=CfnLoader)  # noqa: S506 - CfnLoader is a SafeLoader
    if not isinstance(document, dict):
        raise ValueError("a template must be a YAML mapping")
    return document


def load_template(path: Path = Path("template.yaml")) -> dict[str, Any]:
    return parse_template(Path(path).read_text(encoding="utf-8"))


# ---- Resolving intrinsic functions ----------------------------------------------------------------


class UnresolvableError(ValueError):
    """An intrinsic function that has no meaning outside AWS (or a reference to nothing)."""


class _NoValue:
    """``AWS::NoValue``: removes the property (or list element) that holds it."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Any = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass
class Resolver:
    """Resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Sub`` and friends against local physical values.

    ``refs`` maps logical ids to what ``Ref`` returns (a table name, a queue URL);
    ``attributes`` maps logical ids to their ``GetAtt`` attributes (``Arn``, ``StreamArn``...).
    A resource the local stack did not create still resolves, to a stable made-up name or ARN, as
    every CloudFormation resource has a ``Ref``; a name that is not in the template does not.
    """

    template: Mapping[str, Any]
    refs: Mapping[str, Any] = field(default_factory=dict)
    attributes: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    stack_name: str = DEFAULT_STACK_NAME
    _conditions: dict[str, bool] = field(default_factory=dict, init=False, repr=False)

    @property
    def resources(self) -> Mapping[str, Any]:
        resources: Mapping[str, Any] = self.template.get("Resources") or {}
        return resources

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated, ``AWS::NoValue`` entries dropped."""
        if isinstance(value, list):
            items = [self.resolve(item) for item in value]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Condition" and isinstance(argument, str):
                return self.condition(argument)
            if key.startswith("Fn::"):
                return self._function(key[4:], argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local"
            ),
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        declared = (self.template.get("Parameters") or {}).get(name)
        if declared is not None:
            if "Default" not in declared:
                raise UnresolvableError(f"parameter {name} has no Default and no local value")
            default = declared["Default"]
            if declared.get("Type") == "CommaDelimitedList" and isinstance(default, str):
                return [part.strip() for part in default.split(",")]
            return default
        if name in self.refs:
            return self.refs[name]
        if name in self.resources:
            return f"{self.stack_name}-{name}"
        raise UnresolvableError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> Any:
        known = self.attributes.get(logical_id, {})
        if attribute in known:
            return known[attribute]
        if logical_id not in self.resources:
            raise UnresolvableError(f"GetAtt on unknown resource {logical_id!r}")
        resource_type = str(self.resources[logical_id].get("Type", "AWS::Unknown::Resource"))
        service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "unknown"
        arn = f"arn:aws:{service}:{self.region}:{self.account_id}:{self.stack_name}-{logical_id}"
        return arn if attribute == "Arn" else f"{arn}/{attribute}"

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self.template.get("Conditions") or {}
            if name not in conditions:
                raise UnresolvableError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def is_enabled(self, logical_id: str) -> bool:
        """False when the resource carries a ``Condition`` that is false locally."""
        condition = self.resources.get(logical_id, {}).get("Condition")
        return condition is None or self.condition(condition)

    def _function(self, name: str, argument: Any) -> Any:  # noqa: PLR0911, PLR0912 - one branch per function
        if name == "GetAtt":
            if isinstance(argument, str):
                logical_id, _, attribute = argument.partition(".")
            else:
                logical_id, attribute = self.resolve(argument)
            return self.get_att(str(logical_id), str(attribute))
        if name == "Sub":
            return self._sub(argument)
        if name == "If":
            condition_name, when_true, when_false = argument
            return self.resolve(when_true if self.condition(condition_name) else when_false)
        args = self.resolve(argument)
        if name == "Equals":
            left, right = args
            return _cfn_str(left) == _cfn_str(right)
        if name == "Not":
            return not args[0]
        if name == "And":
            return all(args)
        if name == "Or":
            return any(args)
        if name == "Join":
            delimiter, items = args
            return str(delimiter).join(_cfn_str(item) for item in items)
        if name == "Select":
            index, items = args
            return items[int(index)]
        if name == "Split":
            delimiter, text = args
            return str(text).split(str(delimiter))
        if name == "FindInMap":
            map_name, top_key, second_key = args[:3]
            try:
                return self.template["Mappings"][map_name][top_key][second_key]
            except KeyError as exc:
                if len(args) > 3 and isinstance(args[3], dict) and "DefaultValue" in args[3]:
                    return args[3]["DefaultValue"]
                raise UnresolvableError(f"FindInMap {args[:3]} has no value") from exc
        if name == "Base64":
            return base64.b64encode(str(args).encode()).decode()
        if name == "ToJsonString":
            return json.dumps(args, separators=(",", ":"))
        if name == "Length":
            return len(args)
        if name == "GetAZs":
            return [f"{self.region}{zone}" for zone in "abc"]
        raise UnresolvableError(f"Fn::{name} cannot be resolved locally")

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return _cfn_str(variables[expression])
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, _, attribute = expression.partition(".")
                return _cfn_str(self.get_att(logical_id, attribute))
            return _cfn_str(self.ref(expression))

        return _SUB_VARIABLE.sub(replace, str(text))


def _cfn_str(value: Any) -> str:
    """A value the way CloudFormation writes it into a string (booleans lower-case)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


# ---- What the functions are ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HttpRoute:
    """One ``HttpApi`` event. ``path`` is ``$default`` for the catch-all route."""

    method: str
    path: str
    event_name: str = ""

    @property
    def route_key(self) -> str:
        return "$default" if self.path == "$default" else f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class StreamSource:
    """One ``DynamoDB`` event source, with Lambda's defaults for what the template leaves out."""

    event_name: str
    stream_arn: str
    batch_size: int = 100
    batching_window_seconds: float = 0.0
    starting_position: str = "LATEST"
    report_batch_item_failures: bool = False
    maximum_retry_attempts: int = -1  # -1: retry until the record expires, as on AWS
    bisect_on_error: bool = False
    filter_patterns: tuple[dict[str, Any], ...] = ()
    on_failure_arn: str | None = None  # DestinationConfig.OnFailure: where discarded batches are reported


@dataclass(frozen=True, slots=True)
class SqsSource:
    event_name: str
    queue_arn: str
    batch_size: int = 10
    batching_window_seconds: float = 0.0
    report_batch_item_failures: bool = False
    filter_patterns: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class ScheduleSource:
    event_name: str
    expression: str
    input: Any = None  # the parsed Input, or None for EventBridge's own "Scheduled Event"
    enabled: bool = True


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    logical_id: str
    function_name: str
    code_dir: str  # e.g. "admin" for CodeUri functions/admin/
    module: str  # e.g. "functions.admin.app"
    handler_attr: str  # e.g. "lambda_handler"
    env: dict[str, str]
    timeout: int = 3
    memory_size: int = 128
    http_routes: tuple[HttpRoute, ...] = ()
    stream_sources: tuple[StreamSource, ...] = ()
    sqs_sources: tuple[SqsSource, ...] = ()
    schedules: tuple[ScheduleSource, ...] = ()
    function_url: bool = False  # FunctionUrlConfig: also invoked through its Lambda function URL

    @property
    def handler(self) -> str:
        return f"{self.module.rsplit('.', 1)[-1]}.{self.handler_attr}"


FUNCTION_TYPES = ("AWS::Serverless::Function",)


def global_function_env(template: Mapping[str, Any], resolver: Resolver) -> dict[str, str]:
    """``Globals.Function.Environment.Variables``, resolved."""
    variables = (((template.get("Globals") or {}).get("Function") or {}).get("Environment") or {}).get(
        "Variables"
    ) or {}
    return _env_strings(resolver.resolve(variables))


def describe_functions(template: Mapping[str, Any], resolver: Resolver) -> list[FunctionSpec]:
    """Every enabled ``AWS::Serverless::Function``, its environment resolved and events sorted out."""
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    global_env = global_function_env(template, resolver)
    specs: list[FunctionSpec] = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource.get("Type") not in FUNCTION_TYPES or not resolver.is_enabled(logical_id):
            continue
        props = resource.get("Properties") or {}
        own_env = ((props.get("Environment") or {}).get("Variables")) or {}
        env = {**global_env, **_env_strings(resolver.resolve(own_env))}
        code_uri = str(resolver.resolve(props.get("CodeUri", globals_.get("CodeUri", ""))))
        handler = str(resolver.resolve(props.get("Handler", globals_.get("Handler", "app.lambda_handler"))))
        handler_module, _, handler_attr = handler.rpartition(".")
        package = ".".join(part for part in code_uri.strip("/").split("/") if part not in ("", "."))
        name = props.get("FunctionName")
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                function_name=str(resolver.resolve(name)) if name else f"{resolver.stack_name}-{logical_id}",
                code_dir=code_uri.strip("/").rsplit("/", 1)[-1],
                module=f"{package}.{handler_module}" if package else handler_module,
                handler_attr=handler_attr,
                env=env,
                timeout=int(resolver.resolve(props.get("Timeout", globals_.get("Timeout", 3)))),
                memory_size=int(resolver.resolve(props.get("MemorySize", globals_.get("MemorySize", 128)))),
                function_url="FunctionUrlConfig" in props,
                **_events(props.get("Events") or {}, resolver),
            )
        )
    return specs


def _events(events: Mapping[str, Any], resolver: Resolver) -> dict[str, Any]:
    routes: list[HttpRoute] = []
    streams: list[StreamSource] = []
    queues: list[SqsSource] = []
    schedules: list[ScheduleSource] = []
    for event_name, event in events.items():
        kind = event.get("Type")
        props = resolver.resolve(event.get("Properties") or {})
        if kind == "HttpApi":
            method = str(props.get("Method", "ANY")).upper()
            routes.append(
                HttpRoute(method=method, path=str(props.get("Path", "$default")), event_name=event_name)
            )
        elif kind == "DynamoDB":
            streams.append(
                StreamSource(
                    event_name=event_name,
                    stream_arn=str(props["Stream"]),
                    batch_size=int(props.get("BatchSize", 100)),
                    batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    bisect_on_error=_truthy(props.get("BisectBatchOnFunctionError", False)),
                    filter_patterns=_filter_patterns(props),
                    on_failure_arn=((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                        "Destination"
                    ),
                )
            )
        elif kind == "SQS":
            queues.append(
                SqsSource(
                    event_name=event_name,
                    queue_arn=str(props["Queue"]),
                    batch_size=int(props.get("BatchSize", 10)),
                    batching_window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                    filter_patterns=_filter_patterns(props),
                )
            )
        elif kind in ("Schedule", "ScheduleV2"):
            raw_input = props.get("Input")
            enabled = _truthy(props.get("Enabled", True)) and str(props.get("State", "ENABLED")) != "DISABLED"
            schedules.append(
                ScheduleSource(
                    event_name=event_name,
                    expression=str(props.get("Schedule") or props.get("ScheduleExpression")),
                    input=json.loads(raw_input) if isinstance(raw_input, str) else raw_input,
                    enabled=enabled,
                )
            )
    return {
        "http_routes": tuple(routes),
        "stream_sources": tuple(streams),
        "sqs_sources": tuple(queues),
        "schedules": tuple(schedules),
    }


def _filter_patterns(props: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    filters = (props.get("FilterCriteria") or {}).get("Filters") or []
    patterns = []
    for entry in filters:
        pattern = entry.get("Pattern")
        patterns.append(json.loads(pattern) if isinstance(pattern, str) else dict(pattern))
    return tuple(patterns)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _env_strings(variables: Mapping[str, Any]) -> dict[str, str]:
    return {str(name): _cfn_str(value) for name, value in variables.items()}
