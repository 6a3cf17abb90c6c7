"""AWS::CloudWatch::Alarm through MiniStack's CloudWatch API (PutMetricAlarm, DeleteAlarms).

MiniStack's own resource handler refuses metric-math alarms (``Metrics``), which the CDK makes for
any alarm on a math expression, and its CloudWatch API accepts them but keeps no ``Metrics`` (it has
no metric math): such an alarm is stored with its name, actions, threshold and comparison, and
never changes state. Nothing localcloud runs publishes the metrics an alarm would watch.
Ref is the alarm's name; Fn::GetAtt gives ``Arn``. AlarmName replaces the alarm.
https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-cloudwatch-alarm.html
"""

from __future__ import annotations

from typing import Any

from localcloud.cloudformation.providers.base import (
    Properties,
    Provider,
    Provisioned,
    physical_name,
    tag_list,
)

# The template's properties are PutMetricAlarm's parameters, by the same names.
_PARAMETERS = (
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "ThresholdMetricId",
)


class CloudWatchAlarmProvider(Provider):
    resource_type = "AWS::CloudWatch::Alarm"
    service = "cloudwatch"
    service_title = "CloudWatch"
    not_found = frozenset({"ResourceNotFound"})

    def create(self, logical_id: str, props: Properties, stack_name: str) -> Provisioned:
        name = props.get("AlarmName") or physical_name(stack_name, logical_id, 255)
        return name, self._put(name, props)

    def update(
        self, physical_id: str, old: Properties, new: Properties, stack_name: str, logical_id: str
    ) -> Provisioned:
        return physical_id, self._put(physical_id, new)

    def delete(self, physical_id: str, props: Properties) -> None:
        self.client().delete_alarms(AlarmNames=[physical_id])

    def _put(self, name: str, props: Properties) -> dict[str, Any]:
        parameters = {key: props[key] for key in _PARAMETERS if props.get(key) is not None}
        if "Threshold" in parameters:
            parameters["Threshold"] = float(parameters["Threshold"])
        # CloudFormation's own aws:cloudformation:* tags: CloudWatch refuses "aws:" keys from anyone
        # but AWS itself, and MiniStack cannot tell CloudFormation's calls from a user's.
        tags = [tag for tag in tag_list(props) if not tag["Key"].lower().startswith("aws:")]
        cloudwatch = self.client()
        cloudwatch.put_metric_alarm(AlarmName=name, **parameters, **({"Tags": tags} if tags else {}))
        arn = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
        return {"Arn": arn}
