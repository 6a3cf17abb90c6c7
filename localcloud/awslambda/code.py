"""Function code: a package (ZipFile, or an S3 object) extracted under the home folder, or a local
source folder used in place.

The local source folder is localcloud's one addition to the Code shape, and it follows the
convention LocalStack's users know: ``Code={"S3Bucket": "hot-reload", "S3Key": "/abs/path"}``. It
works unchanged from boto3, the AWS CLI and CDK-style deploy code; the folder must be absolute and
exist. Each invoke compares the folder's fingerprint (paths, sizes and modification times) with
the one the warm workers started from, and starts fresh workers when it changed, so an edit
applies to the next invocation.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import zipfile
from pathlib import Path

from localcloud.awslambda.exceptions import InvalidParameterValueException
from localcloud.awslambda.models import CodePackage

HOT_RELOAD_BUCKET = "hot-reload"
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for a function's unzipped code


def from_zip(data: bytes, *, root: Path, source: str) -> CodePackage:
    """Extract a zip package under ``root`` (one folder per content hash)."""
    digest = hashlib.sha256(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        total = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from exc
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    target = root / digest.hexdigest()
    if not target.is_dir():
        partial = root / f".{digest.hexdigest()}.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive.extractall(partial)  # zipfile drops absolute paths and ".." components
        for info in archive.infolist():  # keep the executable bits Lambda would keep
            mode = info.external_attr >> 16
            if mode and not info.is_dir():
                (partial / info.filename).chmod(mode & 0o777 | 0o400)
        partial.rename(target)
    return CodePackage(
        kind="zip",
        path=str(target),
        sha256=base64.b64encode(digest.digest()).decode(),
        size=len(data),
        source=source,
    )


def from_folder(folder: str) -> CodePackage:
    path = Path(folder)
    if not path.is_absolute() or not path.is_dir():
        raise InvalidParameterValueException(
            f"Code S3Bucket '{HOT_RELOAD_BUCKET}' points a function at a local folder: S3Key must be "
            f"an absolute "
            f"path to an existing folder, not '{folder}'"
        )
    digest = hashlib.sha256()
    size = 0
    for file in _files(path):
        digest.update(str(file.relative_to(path)).encode())
        content = file.read_bytes()
        digest.update(content)
        size += len(content)
    return CodePackage(
        kind="folder",
        path=str(path),
        sha256=base64.b64encode(digest.digest()).decode(),
        size=size,
        source=str(path),
    )


def fingerprint(package: CodePackage) -> str:
    """What tells warm workers their code changed (only folders change under them)."""
    if package.kind != "folder":
        return package.sha256
    parts = []
    root = Path(package.path)
    for file in _files(root):
        try:
            stat = file.stat()
        except FileNotFoundError:
            continue
        parts.append(f"{file.relative_to(root)}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__" and not d.startswith("."))
        found.extend(Path(folder) / name for name in sorted(files) if not name.endswith((".pyc", ".pyo")))
    return found


def remove_unused(root: Path, keep: str | None) -> None:
    """Delete a function's extracted packages other than ``keep``."""
    if not root.is_dir():
        return
    for child in root.iterdir():
        if str(child) != keep:
            shutil.rmtree(child, ignore_errors=True)
