"""The Lambda runtime inside one worker process (``python -m localcloud.awslambda.worker``).

It behaves as AWS's Python runtime does for the function's code: imports the handler once (the
init phase), then runs invocations one at a time with a context object carrying the real
attributes, writes START/END/REPORT lines around each, and reports an unhandled exception as
``{"errorMessage", "errorType": <class name>, "requestId", "stackTrace"}``.

Wiring: the server talks to it over the process's original stdin/stdout, one JSON document per
line. Everything the function writes, to ``sys.stdout``, ``sys.stderr`` or the file descriptors
underneath, goes to the process's stderr, which the server ships to CloudWatch Logs. Only the
standard library is imported here, so a cold start costs the Python start-up plus the function's
own imports.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import resource
import sys
import time
import traceback
from pathlib import Path
from typing import IO, Any


class LambdaContext:
    """The ``context`` argument, with the attributes of AWS's Python runtime (values from the
    environment Lambda sets, so ``memory_limit_in_mb`` is a string there too)."""

    def __init__(self, invoke: dict[str, Any]) -> None:
        self.aws_request_id: str = invoke["request_id"]
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn: str = invoke["invoked_function_arn"]
        self.tenant_id = invoke.get("tenant_id")
        self.client_context = _ClientContext.build(invoke.get("client_context"))
        self.identity = _CognitoIdentity()
        self._deadline_ms: int = invoke["deadline_ms"]

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg: str) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},log_group_name={self.log_group_name},"
            f"log_stream_name={self.log_stream_name},function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


class _CognitoIdentity:
    def __init__(self) -> None:
        self.cognito_identity_id: str | None = None
        self.cognito_identity_pool_id: str | None = None


class _ClientContext:
    def __init__(self, data: dict[str, Any]) -> None:
        self.custom = data.get("custom")
        self.env = data.get("env")
        self.client = data.get("client")

    @classmethod
    def build(cls, data: dict[str, Any] | None) -> _ClientContext | None:
        return None if data is None else cls(data)


class _RequestIdFilter(logging.Filter):
    request_id = ""

    def filter(self, record: logging.LogRecord) -> bool:
        record.aws_request_id = self.request_id
        return True


_REQUEST_ID = _RequestIdFilter()


def _error(message: str, error_type: str, stack: list[str] | None, request_id: str = "") -> dict[str, Any]:
    return {
        "errorMessage": message,
        "errorType": error_type,
        "requestId": request_id,
        "stackTrace": stack or [],
    }


def _user_frames(tb: Any) -> list[str]:
    """The traceback of the user's code, without this runtime's own frames."""
    frames = [(f.filename, f.lineno, f.name, f.line) for f in traceback.extract_tb(tb)]
    while frames and frames[0][0] == __file__:
        frames.pop(0)
    # Plain tuples, as AWS's runtime formats them: no column markers under the line.
    return traceback.format_list(frames)  # type: ignore[arg-type]


def _log_error(error: dict[str, Any]) -> None:
    # One log event, as the runtime writes it: lines joined by carriage returns.
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(line for entry in error["stackTrace"] for line in entry.splitlines())
    sys.stdout.write("\r".join(lines) + "\n")


def load_handler(spec: str) -> tuple[Any, dict[str, Any] | None]:
    """Import ``module.function``; an init failure comes back as Lambda reports it."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return None, _error(
            f"Bad handler '{spec}': not enough values to unpack", "Runtime.MalformedHandlerName", None
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        return None, _error(
            f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError", None
        )
    except SyntaxError as exc:
        trace = [f'  File "{exc.filename}" Line {exc.lineno}\n    {exc.text}']
        return None, _error(
            f"Syntax error in module '{module_name}': {exc}", "Runtime.UserCodeSyntaxError", trace
        )
    except Exception as exc:
        return None, _error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__))
    handler = getattr(module, function_name, None)
    if handler is None:
        return None, _error(
            f"Handler '{function_name}' missing on module '{module_name}'", "Runtime.HandlerNotFound", None
        )
    return handler, None


def run_invocation(handler: Any, invoke: dict[str, Any]) -> dict[str, Any]:
    request_id = invoke["request_id"]
    try:
        event = json.loads(invoke["payload"]) if invoke["payload"] else {}
    except ValueError as exc:
        return {
            "ok": False,
            "error": _error(
                f"Unable to parse input as json: {exc}", "Runtime.UnmarshalError", None, request_id
            ),
        }
    try:
        result = handler(event, LambdaContext(invoke))
    except Exception as exc:
        error = _error(str(exc), type(exc).__name__, _user_frames(exc.__traceback__), request_id)
        _log_error(error)
        return {"ok": False, "error": error}
    try:
        payload = json.dumps(result)
    except (TypeError, ValueError) as exc:
        error = _error(f"Unable to marshal response: {exc}", "Runtime.MarshalError", None, request_id)
        _log_error(error)
        return {"ok": False, "error": error}
    return {"ok": True, "payload": payload}


def _max_memory_mb() -> int:
    return max(1, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)


def _die_with_parent() -> None:
    """Ask Linux to kill this worker if the server dies (SIGKILL included): no orphans."""
    try:
        import ctypes  # noqa: PLC0415

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig, sigkill = 1, 9
        libc.prctl(pr_set_pdeathsig, sigkill, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the closed stdin still ends the worker
        pass


def main() -> None:
    _die_with_parent()
    # The protocol keeps the original stdin/stdout; the function's own output (Python-level and
    # fd-level) all goes to stderr, the log stream.
    requests: IO[str] = os.fdopen(os.dup(0), "r", encoding="utf-8")
    replies: IO[str] = os.fdopen(os.dup(1), "w", encoding="utf-8")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)
    sys.stdout = os.fdopen(1, "w", encoding="utf-8", buffering=1)
    sys.stderr = os.fdopen(2, "w", encoding="utf-8", buffering=1)

    logging.Formatter.converter = time.gmtime
    handler_ = logging.StreamHandler(sys.stdout)
    handler_.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler_.addFilter(_REQUEST_ID)
    logging.getLogger().addHandler(handler_)

    task_root = os.environ.get("LAMBDA_TASK_ROOT") or str(Path.cwd())
    if task_root not in sys.path:
        sys.path.insert(0, task_root)
    init_started = time.perf_counter()
    handler, init_error = load_handler(os.environ["_HANDLER"])
    init_ms = (time.perf_counter() - init_started) * 1000
    if init_error is not None:
        _log_error(init_error)
        _reply(replies, {"type": "init_error", "error": init_error, "init_ms": init_ms})
        return
    _reply(replies, {"type": "ready", "init_ms": init_ms})

    first = True
    for line in requests:
        invoke = json.loads(line)
        request_id = invoke["request_id"]
        _REQUEST_ID.request_id = request_id
        if invoke.get("trace_id"):
            os.environ["_X_AMZN_TRACE_ID"] = invoke["trace_id"]
        sys.stdout.write(
            f"START RequestId: {request_id} Version: {os.environ.get('AWS_LAMBDA_FUNCTION_VERSION')}\n"
        )
        started = time.perf_counter()
        reply = run_invocation(handler, invoke)
        duration = (time.perf_counter() - started) * 1000
        report = (
            f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\tBilled Duration: "
            f"{int(duration) + 1} ms\t"
            f"Memory Size: {os.environ.get('AWS_LAMBDA_FUNCTION_MEMORY_SIZE')} MB\tMax Memory Used: "
            f"{_max_memory_mb()} MB\t"
        )
        if first:
            report += f"Init Duration: {init_ms:.2f} ms\t"
        sys.stdout.write(f"END RequestId: {request_id}\n{report}\n")
        sys.stdout.flush()
        first = False
        _reply(replies, {"type": "result", "request_id": request_id, "duration_ms": duration, **reply})


def _reply(stream: IO[str], message: dict[str, Any]) -> None:
    stream.write(json.dumps(message) + "\n")
    stream.flush()


if __name__ == "__main__":
    main()
