"""Shared test configuration. Layers: tests/unit (pure logic), tests/functional (moto or localcloud
in-process), tests/e2e (the installed CLI against a running localcloud), tests/conformance (the ASL
interpreter against fixture files)."""

from __future__ import annotations

import os

# No test may reach a real AWS account: fake credentials and a fixed region for every boto3 client.
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_SESSION_TOKEN", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.pop("AWS_PROFILE", None)
