"""AWS's optimized integrations: every ``arn:aws:states:::<service>:<action>`` Step Functions
accepts, with the integration patterns each action supports.

Source: the developer guide's "Integrating optimized services with Step Functions" (the table of
patterns per service: https://docs.aws.amazon.com/step-functions/latest/dg/integrate-optimized.html)
and each service's page under it ("Call Amazon SQS with Step Functions", "Run Amazon ECS or Fargate
tasks with Step Functions", ...) for the actions. A Resource outside this table (and outside
``aws-sdk:*``, function and activity ARNs) is refused at CreateStateMachine as AWS refuses it.

localcloud runs some of them itself (``lambda:invoke``, ``dynamodb:*``, ``athena:*``,
``states:startExecution``: see their modules). The others are still accepted: an execution calls
the service through the host's clients (an endpoint may serve it), a mock configuration can stand
in for it, and a call nobody answers fails as an unreachable integration does on AWS
(:mod:`.not_emulated`).
"""

from __future__ import annotations

from dataclasses import dataclass

RR = ""
SYNC = "sync"
CALLBACK = "waitForTaskToken"


@dataclass(frozen=True)
class OptimizedService:
    """What an optimized service's integrations share: its title, the boto3 client that serves
    it, the prefix of its error names (``SQS.QueueDoesNotExist``), its AWS SDK for Java 1.x name in
    causes (``AmazonSQS``), whether request-response results carry ``SdkHttpMetadata``, and its
    actions with the patterns each supports."""

    title: str
    boto3: str
    prefix: str
    java: str
    actions: dict[str, frozenset[str]]
    metadata: bool = True
    # Actions answered by another boto3 client than the service's (Bedrock's InvokeModel is
    # bedrock-runtime's), or by none (API Gateway's invoke calls an API, not an SDK operation).
    clients: tuple[tuple[str, str | None], ...] = ()
    # Error names end in "Exception" even where the service's code does not (SNS's NotFound is
    # SNS.NotFoundException), as LocalStack's emulation of SNS names them (moto vendors it).
    exception_suffix: bool = False

    def client_for(self, action: str) -> str | None:
        return dict(self.clients).get(action, self.boto3)


def _patterns(*patterns: str) -> frozenset[str]:
    return frozenset(patterns)


_RR = _patterns(RR)
_JOB = _patterns(RR, SYNC)
_CALLBACK = _patterns(RR, CALLBACK)
_ALL = _patterns(RR, SYNC, CALLBACK)

OPTIMIZED: dict[str, OptimizedService] = {
    "apigateway": OptimizedService(
        "Amazon API Gateway",
        "apigateway",
        "ApiGateway",
        "AmazonApiGateway",
        {"invoke": _CALLBACK},
        clients=(("invoke", None),),
    ),
    "athena": OptimizedService(
        "Amazon Athena",
        "athena",
        "Athena",
        "AmazonAthena",
        {
            "startQueryExecution": _JOB,
            "stopQueryExecution": _RR,
            "getQueryExecution": _RR,
            "getQueryResults": _RR,
        },
    ),
    "batch": OptimizedService("AWS Batch", "batch", "Batch", "AWSBatch", {"submitJob": _JOB}),
    "bedrock": OptimizedService(
        "Amazon Bedrock",
        "bedrock",
        "Bedrock",
        "AmazonBedrock",
        {"invokeModel": _CALLBACK, "createModelCustomizationJob": _ALL},
        clients=(("invokeModel", "bedrock-runtime"),),
    ),
    "codebuild": OptimizedService(
        "AWS CodeBuild",
        "codebuild",
        "CodeBuild",
        "AWSCodeBuild",
        {
            "startBuild": _JOB,
            "stopBuild": _RR,
            "batchDeleteBuilds": _RR,
            "batchGetReports": _RR,
            "startBuildBatch": _JOB,
            "stopBuildBatch": _RR,
            "retryBuildBatch": _JOB,
            "retryBuild": _JOB,
            "deleteBuildBatch": _RR,
        },
    ),
    "dynamodb": OptimizedService(
        "Amazon DynamoDB",
        "dynamodb",
        "DynamoDB",
        "AmazonDynamoDBv2",
        {"getItem": _RR, "putItem": _RR, "updateItem": _RR, "deleteItem": _RR},
    ),
    "ecs": OptimizedService("Amazon ECS", "ecs", "ECS", "AmazonECS", {"runTask": _ALL}),
    "eks": OptimizedService(
        "Amazon EKS",
        "eks",
        "EKS",
        "AmazonEKS",
        {
            "createCluster": _JOB,
            "deleteCluster": _JOB,
            "createFargateProfile": _JOB,
            "deleteFargateProfile": _JOB,
            "createNodegroup": _JOB,
            "deleteNodegroup": _JOB,
            "runJob": _ALL,
            "call": _RR,
        },
        clients=(("runJob", None), ("call", None)),
    ),
    "elasticmapreduce": OptimizedService(
        "Amazon EMR",
        "emr",
        "ElasticMapReduce",
        "AmazonElasticMapReduce",
        {
            "createCluster": _JOB,
            "terminateCluster": _JOB,
            "addStep": _JOB,
            "cancelStep": _RR,
            "setClusterTerminationProtection": _RR,
            "modifyInstanceFleetByName": _RR,
            "modifyInstanceGroupByName": _RR,
        },
        clients=(
            ("createCluster", None),
            ("modifyInstanceFleetByName", None),
            ("modifyInstanceGroupByName", None),
        ),
    ),
    "emr-containers": OptimizedService(
        "Amazon EMR on EKS",
        "emr-containers",
        "EMRContainers",
        "AmazonEMRContainers",
        {"createVirtualCluster": _RR, "deleteVirtualCluster": _JOB, "startJobRun": _JOB},
    ),
    "emr-serverless": OptimizedService(
        "Amazon EMR Serverless",
        "emr-serverless",
        "EMRServerless",
        "AWSEMRServerless",
        {
            "createApplication": _JOB,
            "startApplication": _JOB,
            "stopApplication": _JOB,
            "deleteApplication": _JOB,
            "startJobRun": _JOB,
            "cancelJobRun": _JOB,
        },
    ),
    "events": OptimizedService(
        "Amazon EventBridge",
        "events",
        "EventBridge",
        "AmazonEventBridge",
        {"putEvents": _CALLBACK},
        metadata=False,
    ),
    "glue": OptimizedService("AWS Glue", "glue", "Glue", "AWSGlue", {"startJobRun": _JOB}),
    "databrew": OptimizedService(
        "AWS Glue DataBrew", "databrew", "DataBrew", "AWSGlueDataBrew", {"startJobRun": _JOB}
    ),
    "http": OptimizedService(
        "HTTPS APIs (HTTP Task)", "", "States.Http", "", {"invoke": _RR}, clients=(("invoke", None),)
    ),
    "lambda": OptimizedService("AWS Lambda", "lambda", "Lambda", "AWSLambda", {"invoke": _CALLBACK}),
    "mediaconvert": OptimizedService(
        "AWS Elemental MediaConvert", "mediaconvert", "MediaConvert", "AWSMediaConvert", {"createJob": _JOB}
    ),
    "sagemaker": OptimizedService(
        "Amazon SageMaker AI",
        "sagemaker",
        "SageMaker",
        "AmazonSageMaker",
        {
            "createEndpoint": _RR,
            "createEndpointConfig": _RR,
            "createHyperParameterTuningJob": _JOB,
            "createLabelingJob": _JOB,
            "createModel": _RR,
            "createProcessingJob": _JOB,
            "createTrainingJob": _JOB,
            "createTransformJob": _JOB,
            "updateEndpoint": _RR,
        },
    ),
    "sns": OptimizedService(
        "Amazon SNS", "sns", "SNS", "AmazonSNS", {"publish": _CALLBACK}, exception_suffix=True
    ),
    "sqs": OptimizedService("Amazon SQS", "sqs", "SQS", "AmazonSQS", {"sendMessage": _CALLBACK}),
    "states": OptimizedService(
        "AWS Step Functions",
        "stepfunctions",
        "StepFunctions",
        "AWSStepFunctions",
        {"startExecution": _patterns(RR, SYNC, "sync:2", CALLBACK)},
    ),
}


def optimized(service: str, action: str) -> frozenset[str] | None:
    """The patterns AWS supports for ``arn:aws:states:::<service>:<action>``; None when AWS has no
    such optimized integration."""
    entry = OPTIMIZED.get(service)
    return entry.actions.get(action) if entry is not None else None


def not_recognized(arn: str) -> str:
    """AWS's refusal of a Resource it has no integration for (CreateStateMachine's
    SCHEMA_VALIDATION_FAILED at ``/States/<name>/Resource``)."""
    return (
        f"The resource provided {arn} is not recognized. The value is not a valid resource ARN, or "
        "the resource is not available in this region."
    )
