"""localcloud's endpoint: one ASGI app on 127.0.0.1 that routes each AWS request to localcloud's
own services (Lambda, Scheduler, Step Functions, Athena) or to MiniStack composed
in-process (S3, DynamoDB, Glue, IAM, STS, CloudWatch Logs)."""

from __future__ import annotations
