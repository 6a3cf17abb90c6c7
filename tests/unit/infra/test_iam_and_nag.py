"""Least privilege in the template, and cdk-nag's verdict on it."""

from __future__ import annotations

from cdk_support import Synthesis, as_list, granted, policy_statements, render_intrinsics

# The only actions that may be granted on Resource "*", each with why no narrower scope exists.
_XRAY = "X-Ray's trace and sampling APIs support no resource-level permissions (Lambda's active tracing)"
_VENDED_LOGS = (
    "CloudWatch Logs' log-delivery APIs, which Step Functions' logging configuration calls, support no "
    "resource-level permissions: AWS's own policy for state machine logging grants them on *"
)
UNSCOPABLE = {
    "xray:PutTraceSegments": _XRAY,
    "xray:PutTelemetryRecords": _XRAY,
    "xray:GetSamplingRules": _XRAY,
    "xray:GetSamplingTargets": _XRAY,
    "logs:CreateLogDelivery": _VENDED_LOGS,
    "logs:GetLogDelivery": _VENDED_LOGS,
    "logs:UpdateLogDelivery": _VENDED_LOGS,
    "logs:DeleteLogDelivery": _VENDED_LOGS,
    "logs:ListLogDeliveries": _VENDED_LOGS,
    "logs:PutResourcePolicy": _VENDED_LOGS,
    "logs:DescribeResourcePolicies": _VENDED_LOGS,
    "logs:DescribeLogGroups": _VENDED_LOGS,
}
S3_WRITES = ("s3:Put", "s3:Delete", "s3:Abort", "s3:Restore", "s3:Replicate")


def test_no_policy_grants_a_wildcard_action(synthesis: Synthesis) -> None:
    actions = [a for s in policy_statements(synthesis) for a in as_list(s["Action"])]

    assert actions
    assert [a for a in actions if "*" in a] == []


def test_only_unscopable_actions_are_granted_on_every_resource(synthesis: Synthesis) -> None:
    everywhere = {
        a
        for s in policy_statements(synthesis)
        if "*" in as_list(s.get("Resource"))
        for a in as_list(s["Action"])
    }

    assert everywhere <= set(UNSCOPABLE)
    assert all(len(UNSCOPABLE[action]) > 60 for action in everywhere)


def test_no_role_can_write_to_the_lake(synthesis: Synthesis) -> None:
    lake = synthesis.logical_id("AWS::S3::Bucket", "Lake")

    writes_to_lake = [
        s
        for s in policy_statements(synthesis)
        if any(a.startswith(S3_WRITES) for a in as_list(s["Action"]))
        and any(lake in str(render_intrinsics(r)) for r in as_list(s.get("Resource")))
    ]

    assert writes_to_lake == []


def test_daily_rollup_reads_only_the_lake_tables_prefixes(synthesis: Synthesis) -> None:
    lake = synthesis.logical_id("AWS::S3::Bucket", "Lake")
    statements = policy_statements(synthesis, "DailyRollupRole")

    lake_objects = sorted(
        r
        for s in statements
        if "s3:GetObject" in as_list(s["Action"])
        for r in as_list(render_intrinsics(s["Resource"]))
        if lake in r
    )

    assert lake_objects == [
        f"<{lake}.Arn>/customer_meter_sensor/*",
        f"<{lake}.Arn>/iot_electricity_metering/*",
    ]


def test_only_write_batch_can_write_rollups_and_only_by_putting_items(synthesis: Synthesis) -> None:
    table = synthesis.logical_id("AWS::DynamoDB::Table", "Rollups")
    on_rollups = [
        s
        for s in policy_statements(synthesis)
        if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))
        and s["Resource"] == {"Fn::GetAtt": [table, "Arn"]}
    ]

    assert len(on_rollups) == 1
    assert sorted(as_list(on_rollups[0]["Action"])) == ["dynamodb:BatchWriteItem", "dynamodb:PutItem"]
    assert on_rollups[0] in policy_statements(synthesis, "ComputeRole")


def test_the_state_machines_write_the_ledger_and_write_batch_only_reads_it(synthesis: Synthesis) -> None:
    ledger = {"Fn::GetAtt": [synthesis.logical_id("AWS::DynamoDB::Table", "Ledger"), "Arn"]}

    def on_ledger(role: str) -> set[str]:
        return {
            a
            for s in policy_statements(synthesis, role)
            if s["Resource"] == ledger
            for a in as_list(s["Action"])
        }

    assert on_ledger("ComputeRole") == {"dynamodb:GetItem"}
    assert on_ledger("DailyRollupRole") == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert on_ledger("LedgerSyncRole") == {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert on_ledger("BackfillRole") == set()


def test_backfill_may_start_describe_and_stop_daily_rollup_and_use_the_sync_rule(
    synthesis: Synthesis,
) -> None:
    allowed = granted(synthesis, "BackfillRole")
    prefix = "arn:<Ref:AWS::Partition>:states:<Ref:AWS::Region>:<Ref:AWS::AccountId>"
    rule = (
        "arn:<Ref:AWS::Partition>:events:<Ref:AWS::Region>:<Ref:AWS::AccountId>"
        ":rule/StepFunctionsGetEventsForStepFunctionsExecutionRule"
    )

    assert {
        ("states:StartExecution", f"{prefix}:stateMachine:meterpipe-daily-rollup"),
        ("states:DescribeExecution", f"{prefix}:execution:meterpipe-daily-rollup:*"),
        ("states:StopExecution", f"{prefix}:execution:meterpipe-daily-rollup:*"),
        ("events:PutTargets", rule),
        ("events:PutRule", rule),
        ("events:DescribeRule", rule),
        # Its own Distributed Map's children.
        ("states:StartExecution", f"{prefix}:stateMachine:meterpipe-backfill"),
    } <= allowed
    assert not any(action.startswith(("athena:", "s3:", "lambda:", "glue:")) for action, _ in allowed)


def test_daily_rollup_may_query_its_workgroup_and_describe_its_own_map_runs(synthesis: Synthesis) -> None:
    allowed = granted(synthesis, "DailyRollupRole")
    prefix = "<Ref:AWS::Region>:<Ref:AWS::AccountId>"

    assert (
        "athena:StartQueryExecution",
        f"arn:<Ref:AWS::Partition>:athena:{prefix}:workgroup/meterpipe",
    ) in allowed
    assert (
        "states:DescribeMapRun",
        f"arn:<Ref:AWS::Partition>:states:{prefix}:mapRun:meterpipe-daily-rollup/*",
    ) in allowed
    assert (
        "states:StartExecution",
        f"arn:<Ref:AWS::Partition>:states:{prefix}:stateMachine:meterpipe-daily-rollup",
    ) in allowed


def test_cdk_nag_aws_solutions_passes_with_every_acknowledgement_reasoned(synthesis: Synthesis) -> None:
    (report,) = synthesis.validation["pluginReports"]

    assert report["pluginName"] == "AwsSolutions"
    assert (report["conclusion"], report["violations"]) == ("success", [])
    reasons = {s["acknowledgedId"]: s["reason"] for s in report["suppressedViolations"]}
    assert reasons
    assert all(len(reason) > 60 for reason in reasons.values())
    rules = {acknowledged.split("::", 1)[1].split("[", 1)[0] for acknowledged in reasons}
    assert rules == {"AwsSolutions-IAM5", "AwsSolutions-L1"}


def test_daily_rollup_reads_only_its_glue_database_and_tables(synthesis: Synthesis) -> None:
    prefix = "arn:<Ref:AWS::Partition>:glue:<Ref:AWS::Region>:<Ref:AWS::AccountId>"
    glue = {(a, r) for a, r in granted(synthesis, "DailyRollupRole") if a.startswith("glue:")}

    assert {a for a, _ in glue} == {
        "glue:GetDatabase",
        "glue:GetTable",
        "glue:GetPartition",
        "glue:GetPartitions",
        "glue:BatchGetPartition",
    }
    assert {r for _, r in glue} == {
        f"{prefix}:catalog",
        f"{prefix}:database/iotanalyticsdb",
        f"{prefix}:table/iotanalyticsdb/iot_electricity_metering",
        f"{prefix}:table/iotanalyticsdb/customer_meter_sensor",
        f"{prefix}:table/iotanalyticsdb/iot_electricity_metering_lines",
        f"{prefix}:table/iotanalyticsdb/customer_meter_sensor_lines",
    }


def test_daily_rollup_reads_and_writes_only_the_results_prefixes(synthesis: Synthesis) -> None:
    results = synthesis.logical_id("AWS::S3::Bucket", "Results")
    on_results = {
        (a, r) for a, r in granted(synthesis, "DailyRollupRole") if r.startswith(f"<{results}.Arn>")
    }

    objects = {r for a, r in on_results if a == "s3:PutObject"}

    assert objects == {f"<{results}.Arn>/athena-results/*", f"<{results}.Arn>/map-results/*"}
    assert {r for a, r in on_results if a == "s3:GetObject"} == objects
    assert not any(a.startswith(("s3:Delete", "s3:PutBucket")) for a, _ in on_results)


def test_daily_rollup_invokes_write_batch_and_nothing_else(synthesis: Synthesis) -> None:
    function = synthesis.logical_id("AWS::Lambda::Function", "WriteBatch")

    invokes = {(a, r) for a, r in granted(synthesis, "DailyRollupRole") if a.startswith("lambda:")}

    assert invokes == {("lambda:InvokeFunction", f"<{function}.Arn>")}
