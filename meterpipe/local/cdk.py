"""``make deploy-local`` / ``make destroy-local``: the CDK app deployed into the running localcloud of
a home folder through CloudFormation, with exactly the commands used on AWS (``npx cdk bootstrap``,
``npx cdk deploy``, ``npx cdk destroy``). Only the environment differs: ``AWS_ENDPOINT_URL`` is
localcloud's endpoint, the region is localcloud's, and the credentials are fixed fake ones (no
profile of yours is read, so nothing can reach a real account).

    python -m meterpipe.local.cdk deploy [--home DIR] [--app DIR] [-- CDK ARGUMENTS...]
    python -m meterpipe.local.cdk destroy [--home DIR] [--app DIR] [-- CDK ARGUMENTS...]

``--app`` deploys an already synthesised cloud assembly (``cdk.out``) instead of synthesising the
app again. ``deploy`` prints the stack's outputs and how to point ``meterpipe --target aws`` at it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import boto3

from localcloud import launcher
from meterpipe.definitions import REPO_ROOT
from meterpipe.errors import MeterpipeError
from meterpipe.local.home import resolve_home

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"  # what `npx cdk` runs in the checkout
# Fake, fixed credentials: localcloud accepts any key unless it checks signatures (then its keys
# file's [localcloud] key is used), and these can never reach AWS.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud"}
_DROPPED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_ROLE_ARN")


class CdkError(MeterpipeError):
    pass


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    region: str
    outputs: dict[str, dict[str, str]]  # stack name -> output key -> value


def cdk_environment(
    endpoint: str, region: str, base: dict[str, str] | None = None, credentials: dict[str, str] | None = None
) -> dict[str, str]:
    """The environment the CDK CLI runs in against localcloud."""
    environment = {k: v for k, v in (base if base is not None else os.environ).items() if k not in _DROPPED}
    environment.update(credentials or LOCAL_CREDENTIALS)
    environment.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EC2_METADATA_DISABLED": "true",  # never wait on an instance metadata service
            "CDK_DISABLE_CLI_TELEMETRY": "true",
        }
    )
    environment.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
    return environment


def credentials_for(server: launcher.RunningServer) -> dict[str, str]:
    """The fixed fake key, or the keys file's [localcloud] key of a server that checks signatures."""
    key = server.signing_key()
    if key is None:
        return LOCAL_CREDENTIALS
    return {
        "AWS_ACCESS_KEY_ID": key["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": key["aws_secret_access_key"],
    }


def running_server(home: Path) -> launcher.RunningServer:
    server = launcher.status(home).server
    if server is None:
        start = f"meterpipe local up --no-deploy --home {home}"
        raise CdkError(f"localcloud is not running for {home}: start it with `{start}`")
    return server


def cdk(arguments: Sequence[str], environment: dict[str, str], *, cwd: Path = REPO_ROOT) -> None:
    if not CDK_CLI.exists() or shutil.which("node") is None:
        raise CdkError("the CDK CLI is not installed: it needs Node.js, and `make setup` installs it")
    command = [str(CDK_CLI), *arguments]
    completed = subprocess.run(command, cwd=cwd, env=environment, check=False)
    if completed.returncode != 0:
        raise CdkError(
            f"`cdk {' '.join(arguments)}` failed (exit {completed.returncode}); its output is above"
        )


def deploy(home: Path, *, app: Path | None = None, extra: Sequence[str] = ()) -> Deployment:
    """Bootstrap (idempotent) and deploy into the localcloud of ``home``; returns the outputs."""
    server = running_server(home)
    environment = cdk_environment(server.endpoint, server.region, credentials=credentials_for(server))
    app_arguments = ["--app", str(app)] if app else []
    with tempfile.TemporaryDirectory(prefix="meterpipe-cdk-") as scratch:
        # Bootstrapped from a folder without cdk.json, for the one environment named: the CLI would
        # otherwise synthesise the app once more only to find the environments it deploys to.
        cdk(["bootstrap", f"aws://{account_of(server)}/{server.region}"], environment, cwd=Path(scratch))
        outputs_file = Path(scratch) / "outputs.json"
        cdk(
            [
                "deploy",
                *app_arguments,
                "--require-approval",
                "never",
                "--outputs-file",
                str(outputs_file),
                *extra,
            ],
            environment,
        )
        outputs: dict[str, dict[str, str]] = json.loads(outputs_file.read_text(encoding="utf-8"))
    return Deployment(endpoint=server.endpoint, region=server.region, outputs=outputs)


def account_of(server: launcher.RunningServer) -> str:
    sts = boto3.client(
        "sts",
        endpoint_url=server.endpoint,
        region_name=server.region,
        aws_access_key_id=credentials_for(server)["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials_for(server)["AWS_SECRET_ACCESS_KEY"],
    )
    return str(sts.get_caller_identity()["Account"])


def destroy(home: Path, *, app: Path | None = None, extra: Sequence[str] = ()) -> None:
    server = running_server(home)
    app_arguments = ["--app", str(app)] if app else []
    environment = cdk_environment(server.endpoint, server.region, credentials=credentials_for(server))
    cdk(["destroy", *app_arguments, "--force", *extra], environment)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m meterpipe.local.cdk", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("action", choices=["deploy", "destroy"])
    parser.add_argument(
        "--home", type=Path, default=None, help="localcloud's home (default: $METERPIPE_HOME)"
    )
    parser.add_argument("--app", type=Path, default=None, help="a synthesised cloud assembly to deploy")
    arguments = list(sys.argv[1:] if argv is None else argv)
    split = arguments.index("--") if "--" in arguments else len(arguments)
    options = parser.parse_args(arguments[:split])
    extra = arguments[split + 1 :]  # after --: more arguments for the CDK CLI
    home = resolve_home(options.home)
    try:
        if options.action == "destroy":
            destroy(home, app=options.app, extra=extra)
            return 0
        done = deploy(home, app=options.app, extra=extra)
    except (CdkError, launcher.LauncherError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for stack, values in done.outputs.items():
        print(f"\n{stack} deployed into localcloud at {done.endpoint} (home {home}); its outputs:")
        width = max(map(len, values), default=0)
        for key, value in sorted(values.items()):
            print(f"  {key:<{width}}  {value}")
    print(
        f"\nUse it with: export AWS_ENDPOINT_URL={done.endpoint} AWS_REGION={done.region} "
        "AWS_ACCESS_KEY_ID=localcloud AWS_SECRET_ACCESS_KEY=localcloud; meterpipe --target aws ..."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
