"""`cdk synth` through the npm CDK CLI, as `make synth` runs it: offline, no AWS credentials."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from meterpipe.definitions import REPO_ROOT

CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"


@pytest.mark.slow
@pytest.mark.skipif(
    not CDK.exists() or not shutil.which("node"), reason="the CDK CLI comes with `make setup`"
)
def test_the_cdk_cli_synthesises_the_app_without_credentials(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    environment |= {
        "HOME": str(tmp_path),
        "AWS_EC2_METADATA_DISABLED": "true",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
    }

    completed = subprocess.run(
        [str(CDK), "synth", "--quiet", "--output", str(tmp_path / "cdk.out")],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    template = json.loads((tmp_path / "cdk.out" / "MeterPipe.template.json").read_text(encoding="utf-8"))
    assert "AWS::StepFunctions::StateMachine" in {r["Type"] for r in template["Resources"].values()}
