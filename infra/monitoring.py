"""Monitoring: an alarm per state machine on failed or timed-out executions, to one SNS topic."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct


class Monitoring(Construct):
    """Alarms on ExecutionsFailed + ExecutionsTimedOut of each machine, published to an
    encrypted, TLS-only topic (optionally with an e-mail subscription)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machines: dict[str, sfn.StateMachine],
        alarm_email: str,
    ) -> None:
        super().__init__(scope, construct_id)
        key = kms.Key(self, "TopicKey", description="meterpipe alarm topic", enable_key_rotation=True)
        # CloudWatch publishes alarm notifications to an encrypted topic only if the key lets it.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
            )
        )
        self.topic = sns.Topic(
            self, "Alarms", display_name="meterpipe alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))

        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for label, machine in state_machines.items():
            failures = cloudwatch.MathExpression(
                expression="failed + timedOut",
                using_metrics={
                    "failed": machine.metric_failed(statistic="Sum"),
                    "timedOut": machine.metric_timed_out(statistic="Sum"),
                },
                period=Duration.minutes(5),
                label=f"{label} executions failed or timed out",
            )
            alarm = cloudwatch.Alarm(
                self,
                f"{label}Failed",
                alarm_description=f"meterpipe {label}: an execution failed or timed out",
                metric=failures,
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )
            alarm.add_alarm_action(actions.SnsAction(self.topic))
            self.alarms[label] = alarm
