"""The CDK app deployed into a localcloud by the CDK CLI itself, unchanged: ``cdk bootstrap`` and
``cdk deploy`` with ``AWS_ENDPOINT_URL`` set to localcloud and arbitrary credentials. The app is
the session's one synthesis (its cloud assembly, deployed with ``--app``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

from localcloud import launcher
from meterpipe.definitions import REPO_ROOT

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"
ACCOUNT = "000000000000"
REGION = "us-east-1"
# Any credentials will do: localcloud does not check them (these are nobody's).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAANYTHINGATALL000", "AWS_SECRET_ACCESS_KEY": "any-secret-at-all"}

needs_cdk_cli = pytest.mark.skipif(
    not CDK.exists() or not shutil.which("node"), reason="the CDK CLI comes with `make setup` (Node.js)"
)


def cdk_environment(endpoint: str, scratch: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    return (
        environment
        | CREDENTIALS
        | {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": REGION,
            "HOME": str(scratch),  # the CLI's caches (account ids by access key) stay in the test's folder
            "AWS_EC2_METADATA_DISABLED": "true",
            "CDK_DISABLE_CLI_TELEMETRY": "true",
        }
    )


def run_cdk(arguments: list[str], endpoint: str, scratch: Path) -> subprocess.CompletedProcess[str]:
    """A CDK CLI command run from ``scratch`` (a folder without cdk.json: the app is given with
    --app, or there is none, as for ``cdk bootstrap aws://ACCOUNT/REGION``)."""
    scratch.mkdir(parents=True, exist_ok=True)
    completed = subprocess.run(
        [str(CDK), *arguments],
        cwd=scratch,
        env=cdk_environment(endpoint, scratch),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-5000:]
    return completed


@dataclass
class CdkDeployment:
    home: Path
    endpoint: str
    assembly: Path
    outputs: dict[str, str] = field(default_factory=dict)
    output_text: str = ""
    seconds: dict[str, float] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="e2e",
            aws_secret_access_key="e2e",
        )

    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.assembly / "MeterPipe.template.json").read_text())
        return loaded


def bootstrap_and_deploy(home: Path, assembly: Path, scratch: Path) -> CdkDeployment:
    """Start localcloud for ``home``, then ``cdk bootstrap`` and ``cdk deploy`` the assembly."""
    server = launcher.start(home, port=0)
    deployment = CdkDeployment(home=home, endpoint=server.endpoint, assembly=assembly)
    started = time.perf_counter()
    run_cdk(["bootstrap", f"aws://{ACCOUNT}/{REGION}"], server.endpoint, scratch)
    deployment.seconds["bootstrap"] = time.perf_counter() - started
    started = time.perf_counter()
    outputs_file = scratch / "outputs.json"
    deployed = run_cdk(
        [
            "deploy",
            "--app",
            str(assembly),
            "--require-approval",
            "never",
            "--outputs-file",
            str(outputs_file),
        ],
        server.endpoint,
        scratch,
    )
    deployment.seconds["deploy"] = time.perf_counter() - started
    deployment.outputs = json.loads(outputs_file.read_text())["MeterPipe"]
    deployment.output_text = deployed.stdout + deployed.stderr
    print("cdk seconds:", {step: round(seconds, 1) for step, seconds in deployment.seconds.items()})
    return deployment
