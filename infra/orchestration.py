"""Orchestration: daily_rollup, backfill and ledger_sync from the rendered
meterpipe/state_machines/*.asl.json, and the EventBridge rule that starts ledger_sync on
daily_rollup's status changes."""

from __future__ import annotations

from typing import Any

from aws_cdk import ArnFormat, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.retention import retention
from meterpipe.definitions import (
    BACKFILL,
    DAILY_ROLLUP,
    LEDGER_SYNC,
    DeploymentValues,
    ledger_sync_event_pattern,
    render_state_machines,
)

# The managed rule Step Functions creates to learn when a .sync child execution ends.
SYNC_EXECUTION_RULE = "StepFunctionsGetEventsForStepFunctionsExecutionRule"


def state_machine_arn(scope: Construct, name: str) -> str:
    """A state machine's ARN from its name: usable before (and without depending on) the machine."""
    return _states_arn(scope, "stateMachine", name)


def _states_arn(scope: Construct, resource: str, name: str) -> str:
    """``arn:<partition>:states:<region>:<account>:<resource>:<name>`` in the scope's stack."""
    return Stack.of(scope).format_arn(
        service="states", resource=resource, resource_name=name, arn_format=ArnFormat.COLON_RESOURCE_NAME
    )


class Orchestration(Construct):
    """The state machines (daily_rollup and backfill STANDARD, ledger_sync EXPRESS), logged (ALL) and
    traced, each with its own least-privilege role, and ledger_sync's EventBridge rule.

    The roles get what the definitions themselves do (their Distributed Maps, nested executions);
    the stack adds the grants on other constructs' resources (queries, buckets, function).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        # Built with daily_rollup_state_machine_arn=state_machine_arn(scope, daily_rollup_name).
        values: DeploymentValues,
        daily_rollup_name: str,
        backfill_name: str,
        ledger_sync_name: str,
        log_retention_days: int,
        remove_logs_on_destroy: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.daily_rollup_name = daily_rollup_name
        self.backfill_name = backfill_name
        definitions = render_state_machines(values)
        self._log_retention = retention(log_retention_days)
        self._log_removal = RemovalPolicy.DESTROY if remove_logs_on_destroy else RemovalPolicy.RETAIN

        self.daily_rollup_role = self._role(
            "DailyRollupRole", "daily_rollup: queries, batch writes, its map runs"
        )
        self.daily_rollup = self._machine(
            "DailyRollup", daily_rollup_name, definitions[DAILY_ROLLUP], self.daily_rollup_role
        )
        self.backfill_role = self._role("BackfillRole", "backfill: runs daily_rollup per day, its map runs")
        self.backfill = self._machine("Backfill", backfill_name, definitions[BACKFILL], self.backfill_role)
        # The backfill's definition names daily_rollup by its ARN (built from the name, so the two
        # roles never depend on each other's resources); create it second all the same.
        self.backfill.node.add_dependency(self.daily_rollup)

        self.ledger_sync_role = self._role(
            "LedgerSyncRole", "ledger_sync: records daily_rollup's ends in the ledger"
        )
        self.ledger_sync = self._machine(
            "LedgerSync",
            ledger_sync_name,
            definitions[LEDGER_SYNC],
            self.ledger_sync_role,
            kind=sfn.StateMachineType.EXPRESS,
        )
        # docs/ledger.md: the ends daily_rollup cannot record itself (a failure, a time-out, a stop)
        # and its redrives reach the ledger through its status-change events.
        self.ledger_sync_rule = events.Rule(
            self,
            "LedgerSyncRule",
            description="Starts ledger_sync on daily_rollup's failures, time-outs, stops and redrives",
            event_pattern=_event_pattern(ledger_sync_event_pattern(self.daily_rollup.state_machine_arn)),
            targets=[targets.SfnStateMachine(self.ledger_sync)],
        )

        self._grant_distributed_map(self.daily_rollup_role, daily_rollup_name, describe_map_runs=True)
        self._grant_distributed_map(self.backfill_role, backfill_name, describe_map_runs=False)
        self._grant_sync_execution(self.backfill_role, daily_rollup_name)

    def _role(self, role_id: str, description: str) -> iam.Role:
        return iam.Role(
            self, role_id, assumed_by=iam.ServicePrincipal("states.amazonaws.com"), description=description
        )

    def _machine(
        self,
        machine_id: str,
        name: str,
        definition: str,
        role: iam.Role,
        *,
        kind: sfn.StateMachineType = sfn.StateMachineType.STANDARD,
    ) -> sfn.StateMachine:
        log_group = logs.LogGroup(
            self,
            f"{machine_id}Logs",
            # The vendedlogs prefix keeps CloudWatch's resource policy small however many machines log.
            log_group_name=f"/aws/vendedlogs/states/{name}",
            retention=self._log_retention,
            removal_policy=self._log_removal,
        )
        return sfn.StateMachine(
            self,
            machine_id,
            state_machine_name=name,
            state_machine_type=kind,
            definition_body=sfn.DefinitionBody.from_string(definition),
            role=role,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )

    def _grant_distributed_map(self, role: iam.Role, name: str, *, describe_map_runs: bool) -> None:
        """What a Distributed Map needs of its own machine: start, watch and stop its children,
        and redrive them when a map run is redriven."""
        role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[state_machine_arn(self, name)])
        )
        children = [_states_arn(self, "execution", f"{name}:*"), _states_arn(self, "execution", f"{name}/*")]
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=children
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:RedriveExecution"], resources=[_states_arn(self, "execution", f"{name}/*")]
            )
        )
        if describe_map_runs:
            map_runs = _states_arn(self, "mapRun", f"{name}/*")
            role.add_to_policy(iam.PolicyStatement(actions=["states:DescribeMapRun"], resources=[map_runs]))

    def _grant_sync_execution(self, role: iam.Role, name: str) -> None:
        """startExecution.sync:2 of another machine: start, describe, stop, and the managed rule."""
        stack = Stack.of(self)
        role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[state_machine_arn(self, name)])
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[_states_arn(self, "execution", f"{name}:*")],
            )
        )
        role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    stack.format_arn(service="events", resource="rule", resource_name=SYNC_EXECUTION_RULE)
                ],
            )
        )


def _event_pattern(pattern: dict[str, Any]) -> events.EventPattern:
    """The pattern (meterpipe.definitions, the same the local deploy puts) as CDK's EventPattern."""
    return events.EventPattern(
        source=pattern["source"], detail_type=pattern["detail-type"], detail=pattern["detail"]
    )
