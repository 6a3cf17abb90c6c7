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
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from localcloud.awslambda.exceptions import InvalidParameterValueException
from localcloud.awslambda.models import CodePackage

HOT_RELOAD_BUCKET = "hot-reload"
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for a function's unzipped code


def from_zip(data: bytes, *, root: Path, source: str) -> CodePackage:
    """Extract a zip package under ``root`` (one folder per content hash).

    Every entry is checked before anything is written: an absolute name, a ``..`` component, a
    symlink resolving outside the package, or more than Lambda's unzipped size is refused with
    ``InvalidParameterValueException`` naming the entry. Extraction goes to a private temporary
    folder, renamed into place only once complete, and removed on any failure."""
    digest = hashlib.sha256(data)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except zipfile.BadZipFile as exc:
        raise InvalidParameterValueException(
            "Could not unzip uploaded file. Please check your file, then try to upload again."
        ) from exc
    plan = _plan(archive, members)
    target = root / digest.hexdigest()
    if not target.is_dir():
        root.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f".{digest.hexdigest()[:16]}.", suffix=".partial", dir=root))
        try:
            _extract(archive, plan, partial)
            try:
                partial.rename(target)
            except OSError:
                if not target.is_dir():  # not another request extracting the same package first
                    raise
        except (OSError, zipfile.BadZipFile, zlib.error) as exc:
            raise InvalidParameterValueException(
                f"Could not unzip uploaded file: {exc}. Please check your file, then try to upload again."
            ) from exc
        finally:
            shutil.rmtree(partial, ignore_errors=True)
    return CodePackage(
        kind="zip",
        path=str(target),
        sha256=base64.b64encode(digest.digest()).decode(),
        size=len(data),
        source=source,
    )


@dataclass(frozen=True)
class _Entry:
    info: zipfile.ZipInfo
    parts: tuple[str, ...]  # the entry's path inside the package, checked
    link: str | None  # a symlink's target (relative), None for a file or folder


def _plan(archive: zipfile.ZipFile, members: list[zipfile.ZipInfo]) -> list[_Entry]:
    """Each entry's place in the package, or InvalidParameterValueException for the first that
    would land outside it."""
    entries: list[_Entry] = []
    links: dict[tuple[str, ...], str] = {}
    total = 0
    for info in members:
        name = info.filename
        parts = tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\x00" in name:
            raise _outside(name, "its path is absolute")
        if ".." in parts:
            raise _outside(name, "its path has a '..' component")
        if not parts:
            continue
        link = None
        if stat.S_ISLNK(info.external_attr >> 16):
            link = archive.read(info).decode("utf-8", "replace")
            if link.startswith("/") or "\x00" in link:
                raise _outside(name, f"it is a symlink to the absolute path {link!r}")
            links[parts] = link
        total += info.file_size
        entries.append(_Entry(info, parts, link))
    if total > MAX_UNZIPPED_BYTES:
        raise InvalidParameterValueException(f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes")
    for entry in entries:
        start = entry.parts[:-1] + tuple(entry.link.split("/")) if entry.link is not None else entry.parts
        if _resolve(start, links) is None:
            what = f"a symlink to {entry.link!r}, which" if entry.link is not None else "its path"
            raise _outside(entry.info.filename, f"{what} resolves outside the package")
    return entries


def _resolve(parts: tuple[str, ...], links: dict[tuple[str, ...], str]) -> tuple[str, ...] | None:
    """Where ``parts`` lands once the package's own symlinks are followed, or None if outside."""
    resolved: list[str] = []
    pending = list(parts)
    hops = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return None
            resolved.pop()
            continue
        resolved.append(part)
        target = links.get(tuple(resolved))
        if target is not None:
            hops += 1
            if hops > 40:  # a loop of links
                return None
            resolved.pop()
            pending = target.split("/") + pending
    return tuple(resolved)


def _extract(archive: zipfile.ZipFile, plan: list[_Entry], folder: Path) -> None:
    written = 0
    for entry in plan:  # folders and files first; symlinks last, so nothing is written through one
        if entry.link is not None:
            continue
        path = folder.joinpath(*entry.parts)
        if entry.info.is_dir():
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        with archive.open(entry.info) as source, path.open("wb") as out:
            while chunk := source.read(1024 * 1024):
                written += len(chunk)
                if written > MAX_UNZIPPED_BYTES:  # the zip lied about its sizes
                    raise InvalidParameterValueException(
                        f"Unzipped size must be smaller than {MAX_UNZIPPED_BYTES} bytes"
                    )
                out.write(chunk)
        mode = entry.info.external_attr >> 16
        if mode:  # keep the executable bits Lambda would keep
            path.chmod(mode & 0o777 | 0o400)
    for entry in plan:
        if entry.link is not None:
            path = folder.joinpath(*entry.parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(entry.link)


def _outside(name: str, why: str) -> InvalidParameterValueException:
    return InvalidParameterValueException(
        f"Could not unzip uploaded file: the entry {name!r} leads outside the function's package "
        f"({why}); nothing was written."
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
