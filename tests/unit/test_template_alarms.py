"""The template alarms on what can go wrong in production, and every alarm reaches the alarm topic."""

from __future__ import annotations

from typing import Any

from pollen.integrations.outbound import TIMEOUT_SECONDS


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def _alarmed(template: dict[str, Any]) -> set[tuple[str, str]]:
    """(metric, what it watches) for every alarm; `what` is a Ref'd resource or a literal."""
    watched: set[tuple[str, str]] = set()
    for alarm in _resources(template, "AWS::CloudWatch::Alarm").values():
        props = alarm["Properties"]
        stats = [m["MetricStat"]["Metric"] for m in props.get("Metrics", []) if "MetricStat" in m]
        for metric in [props, *stats]:
            if "MetricName" not in metric:
                continue
            for dimension in metric.get("Dimensions", []):
                value = dimension["Value"]
                target = value["Ref"] if isinstance(value, dict) and "Ref" in value else str(value)
                watched.add((metric["MetricName"], target))
    return watched


def test_every_function_alarms_on_errors_and_throttles(template: dict[str, Any]) -> None:
    watched = _alarmed(template)
    functions = _resources(template, "AWS::Serverless::Function")
    assert len(functions) >= 10
    for name in functions:
        assert ("Errors", name) in watched, name
        assert ("Throttles", name) in watched, name


def test_api_5xx_stream_lag_and_table_throttles_alarm(template: dict[str, Any]) -> None:
    watched = _alarmed(template)
    assert ("5xx", "PollenApi") in watched
    for name, function in _resources(template, "AWS::Serverless::Function").items():
        if any(e["Type"] == "DynamoDB" for e in function["Properties"].get("Events", {}).values()):
            assert ("IteratorAge", name) in watched, name
    for metric in ("ReadThrottleEvents", "WriteThrottleEvents"):
        assert (metric, "PollenTable") in watched
        assert (metric, "GSI1") in watched


def test_every_alarm_notifies_the_topic_which_always_exists(template: dict[str, Any]) -> None:
    assert "Condition" not in template["Resources"]["AlarmTopic"]
    alarms = _resources(template, "AWS::CloudWatch::Alarm")
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", name


def test_the_admin_function_outlives_its_outbound_test_event_budget(template: dict[str, Any]) -> None:
    admin = template["Resources"]["AdminFunction"]["Properties"]
    timeout = admin.get("Timeout", template["Globals"]["Function"]["Timeout"])
    assert timeout > TIMEOUT_SECONDS + 2
