"""Synthesise the CDK app once per test session (jsii start-up is slow) with cdk.json's context."""

from __future__ import annotations

import os

# jsii prints a banner for Node releases past its support window; the tests do not need it.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")

import pytest
from cdk_support import Synthesis, synthesise


@pytest.fixture(scope="session")
def synthesis(tmp_path_factory: pytest.TempPathFactory) -> Synthesis:
    return synthesise(tmp_path_factory.mktemp("cdk.out"))
