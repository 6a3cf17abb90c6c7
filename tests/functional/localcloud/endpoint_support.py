"""boto3 clients for a localcloud endpoint that a test started itself (restart tests)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3


def endpoint_client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def clients(endpoint: str) -> Callable[[str], Any]:
    """A client maker for one endpoint: ``clients(endpoint)("s3")``."""
    return lambda service: endpoint_client(endpoint, service)
