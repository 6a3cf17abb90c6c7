"""Shared test configuration. Layers: tests/unit (pure logic), tests/functional (moto or localcloud
in-process), tests/e2e (the installed CLI against a running localcloud), tests/conformance (the ASL
interpreter against fixture files)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from cdk_support import Synthesis

# No test may reach a real AWS account: fake credentials and a fixed region for every boto3 client.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)

# jsii prints a banner for Node releases past its support window; the tests do not need it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    """The CDK app synthesised once per session (jsii starts slowly) with cdk.json's context: the
    template tests read it, and the deployments into localcloud deploy its cloud assembly."""
    from cdk_support import synthesise  # imports the CDK: only when a test needs it

    return synthesise(tmp_path_factory.mktemp("cdk.out"))
