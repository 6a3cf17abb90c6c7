"""cdk-nag AwsSolutions: every acknowledged finding, each with the reason it is acceptable.

cdk-nag v3 reports findings through CDK's policy validation; a finding is acknowledged with
``Validations.of(construct).acknowledge``. Wildcard findings (AwsSolutions-IAM5) are acknowledged
one resource pattern at a time, never by rule, so a new wildcard fails synthesis until it is
reasoned about here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Acknowledgment, CfnResource, Stack, Token, Validations
from constructs import IConstruct

from meterpipe.definitions import ATHENA_RESULTS_PREFIX, MAP_RESULTS_PREFIX
from meterpipe.tables import LAKE_PREFIXES

if TYPE_CHECKING:
    from infra.compute import Compute
    from infra.orchestration import Orchestration
    from infra.storage import Storage

PACK = "AwsSolutions::"

TRACING_AND_LOGGING = (
    "Resource::* is required by actions that support no resource-level permissions: X-Ray "
    "(xray:PutTraceSegments, PutTelemetryRecords, GetSampling*) for active tracing, and for state "
    "machines CloudWatch Logs' vended log delivery (logs:CreateLogDelivery, GetLogDelivery, ...), "
    "both added by CDK for the tracing and logging this stack turns on. No data access is granted."
)
RUNTIME = (
    "write_batch targets Python 3.12 on purpose: the handler contract and its Powertools layer "
    "(AWSLambdaPowertoolsPythonV3-python312-arm64) are 3.12; moving runtime is a deliberate change "
    "made together with the layer."
)
CHILD_EXECUTIONS = (
    "Executions and map runs are named at run time (Distributed Map children, map runs, the "
    "daily_rollup runs a backfill starts), so they can only be addressed by their state machine's "
    "ARN prefix; the pattern names exactly one state machine."
)
LAKE_OBJECTS = (
    "Athena reads every object under a lake table's prefix (partitions are projected, file names "
    "are arbitrary). Read-only, and only the two table prefixes."
)
RESULT_OBJECTS = (
    "Athena writes query results and ResultWriter writes map-run manifests under generated keys; "
    "access is limited to those two prefixes of the results bucket."
)


def suppress_findings(
    stack: Stack, *, storage: Storage, compute: Compute, orchestration: Orchestration
) -> None:
    """Acknowledge the findings this stack accepts, on the narrowest construct that has them."""
    _acknowledge(compute.role, "AwsSolutions-IAM5[Resource::*]", TRACING_AND_LOGGING)
    _acknowledge(compute.function, "AwsSolutions-L1", RUNTIME)

    daily_name = orchestration.daily_rollup_name
    backfill_name = orchestration.backfill_name

    for role in (
        orchestration.daily_rollup_role,
        orchestration.backfill_role,
        orchestration.ledger_sync_role,
    ):
        _acknowledge(role, "AwsSolutions-IAM5[Resource::*]", TRACING_AND_LOGGING)

    for pattern in (
        states_arn(stack, "execution", f"{daily_name}:*"),
        states_arn(stack, "execution", f"{daily_name}/*"),
        states_arn(stack, "mapRun", f"{daily_name}/*"),
    ):
        _acknowledge(
            orchestration.daily_rollup_role, f"AwsSolutions-IAM5[Resource::{pattern}]", CHILD_EXECUTIONS
        )
    for pattern in (
        states_arn(stack, "execution", f"{daily_name}:*"),
        states_arn(stack, "execution", f"{backfill_name}:*"),
        states_arn(stack, "execution", f"{backfill_name}/*"),
    ):
        _acknowledge(orchestration.backfill_role, f"AwsSolutions-IAM5[Resource::{pattern}]", CHILD_EXECUTIONS)

    # The same prefixes Storage grants on (the lake tables' and the results bucket's).
    lake = _arn_reference(stack, storage.lake_bucket)
    results = _arn_reference(stack, storage.results_bucket)
    for prefix in LAKE_PREFIXES:
        _acknowledge(
            orchestration.daily_rollup_role, f"AwsSolutions-IAM5[Resource::{lake}/{prefix}*]", LAKE_OBJECTS
        )
    for prefix in (ATHENA_RESULTS_PREFIX, MAP_RESULTS_PREFIX):
        _acknowledge(
            orchestration.daily_rollup_role,
            f"AwsSolutions-IAM5[Resource::{results}/{prefix}*]",
            RESULT_OBJECTS,
        )


def states_arn(stack: Stack, resource: str, name: str) -> str:
    """A Step Functions ARN as cdk-nag prints it: unresolved parts as ``<AWS::...>``."""
    region = "<AWS::Region>" if Token.is_unresolved(stack.region) else stack.region
    account = "<AWS::AccountId>" if Token.is_unresolved(stack.account) else stack.account
    return f"arn:<AWS::Partition>:states:{region}:{account}:{resource}:{name}"


def _arn_reference(stack: Stack, construct: IConstruct) -> str:
    """``<LogicalId.Arn>``: how cdk-nag prints a GetAtt of a resource's ARN."""
    default = construct.node.default_child
    assert isinstance(default, CfnResource)
    return f"<{stack.get_logical_id(default)}.Arn>"


def _acknowledge(construct: IConstruct, finding: str, reason: str) -> None:
    Validations.of(construct).acknowledge(Acknowledgment(id=PACK + finding, reason=reason))
