"""Readings and customers into the lake, from either of two folder layouts.

- the lake layout (the data contract in docs/architecture.md):
  ``PATH/iot_electricity_metering/year=YYYY/month=MM/day=DD/*.csv``;
- the upstream AWS sample's: ``PATH/iot_electricity_metering/YYYY-MM-DD/*.csv``, mapped to the
  same ``year=/month=/day=`` partitions;

and in both ``PATH/customer_meter_sensor/*.csv``. Files go up byte for byte: real exports have
CRLF or CR line ends, a UTF-8 BOM, a header with a typo (the sample's ``SendorID``); the tables
skip the header line and read every line end, so nothing is rewritten. A file whose object is
already there with the same size and MD5 is skipped.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError

from meterpipe.aws import error_code
from meterpipe.errors import MeterpipeError
from meterpipe.ops.pipeline import Pipeline
from meterpipe.tables import CUSTOMERS, READINGS, readings_day_prefix

READINGS_FOLDER = READINGS.prefix.rstrip("/")
CUSTOMERS_FOLDER = CUSTOMERS.prefix.rstrip("/")
# Above this size a file goes up in parts (boto3's managed transfer); its MD5 travels as metadata.
SINGLE_PUT_LIMIT = 64 * 1024 * 1024
MD5_METADATA = "md5"
_UPSTREAM_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_PARTITION = {
    "year": re.compile(r"year=(\d{4})"),
    "month": re.compile(r"month=(\d{2})"),
    "day": re.compile(r"day=(\d{2})"),
}
_WORKERS = 8

Action = Literal["uploaded", "skipped", "would upload"]


class IngestError(MeterpipeError):
    """The folder is not in a layout ingest understands, or holds nothing to ingest."""


@dataclass(frozen=True)
class LakeFile:
    """A local file and the lake key it goes to."""

    path: Path
    key: str
    size: int
    day: dt.date | None  # None for the customers table

    @cached_property
    def md5(self) -> str:
        digest = hashlib.md5(usedforsecurity=False)
        with self.path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest()


@dataclass(frozen=True)
class IngestPlan:
    root: Path
    layout: str  # "lake", "upstream sample", "lake + upstream sample", or "customers only"
    files: tuple[LakeFile, ...]
    ignored: tuple[Path, ...] = ()  # files that are not .csv

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def days(self) -> list[dt.date]:
        return sorted({f.day for f in self.files if f.day is not None})


@dataclass
class IngestReport:
    bucket: str
    layout: str
    uploaded: int = 0
    skipped: int = 0
    bytes_uploaded: int = 0
    bytes_skipped: int = 0
    days: list[dt.date] = field(default_factory=list)
    files: list[tuple[str, Action, int]] = field(default_factory=list)
    ignored: int = 0
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "layout": self.layout,
            "dryRun": self.dry_run,
            "uploaded": self.uploaded,
            "skipped": self.skipped,
            "bytesUploaded": self.bytes_uploaded,
            "bytesSkipped": self.bytes_skipped,
            "ignoredFiles": self.ignored,
            "days": [d.isoformat() for d in self.days],
            "files": [{"key": key, "action": action, "bytes": size} for key, action, size in self.files],
        }


def _day_key(day: dt.date, relative: Path) -> str:
    return readings_day_prefix(day) + relative.as_posix()


def _csv_files(folder: Path) -> tuple[list[Path], list[Path]]:
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [p for p in files if p.suffix.lower() == ".csv"], [p for p in files if p.suffix.lower() != ".csv"]


def _real_date(year: int, month: int, day: int, folder: Path) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise IngestError(
            f"{folder} names {year:04d}-{month:02d}-{day:02d}, which is not a real date"
        ) from None


def _plan_readings(folder: Path) -> tuple[list[LakeFile], list[Path], set[str]]:
    files: list[LakeFile] = []
    ignored: list[Path] = []
    layouts: set[str] = set()
    loose = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
    if loose:
        raise IngestError(
            f"{loose[0]} is not in a day folder: readings go in {folder}/YYYY-MM-DD/ "
            "or year=YYYY/month=MM/day=DD/"
        )
    for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        if _UPSTREAM_DAY.fullmatch(child.name):
            year, month, day = (int(part) for part in child.name.split("-"))
            date = _real_date(year, month, day, child)
            layouts.add("upstream sample")
            csvs, others = _csv_files(child)
            files += [LakeFile(p, _day_key(date, p.relative_to(child)), p.stat().st_size, date) for p in csvs]
            ignored += others
        elif _PARTITION["year"].fullmatch(child.name):
            layouts.add("lake")
            found, others = _plan_partitions(child)
            files += found
            ignored += others
        else:
            raise IngestError(
                f"{child} is neither a day folder (YYYY-MM-DD, the upstream sample's layout) nor a "
                "year=YYYY partition (the lake layout)"
            )
    return files, ignored, layouts


def _plan_partitions(year_folder: Path) -> tuple[list[LakeFile], list[Path]]:
    files: list[LakeFile] = []
    ignored: list[Path] = []
    year = int(year_folder.name.removeprefix("year="))
    for month_folder in sorted(p for p in year_folder.iterdir() if not p.name.startswith(".")):
        month_match = _PARTITION["month"].fullmatch(month_folder.name)
        if not month_folder.is_dir() or month_match is None:
            raise IngestError(f"{month_folder} is not a month=MM partition folder")
        for day_folder in sorted(p for p in month_folder.iterdir() if not p.name.startswith(".")):
            day_match = _PARTITION["day"].fullmatch(day_folder.name)
            if not day_folder.is_dir() or day_match is None:
                raise IngestError(f"{day_folder} is not a day=DD partition folder")
            date = _real_date(year, int(month_match.group(1)), int(day_match.group(1)), day_folder)
            csvs, others = _csv_files(day_folder)
            files += [
                LakeFile(p, _day_key(date, p.relative_to(day_folder)), p.stat().st_size, date) for p in csvs
            ]
            ignored += others
    return files, ignored


def plan_ingest(root: Path) -> IngestPlan:
    """What ``root`` holds and where each file goes. ``root`` is the folder holding
    ``iot_electricity_metering/`` and/or ``customer_meter_sensor/``, or one of those two."""
    root = root.expanduser()
    if not root.is_dir():
        raise IngestError(f"{root} is not a folder")
    readings = root / READINGS_FOLDER
    customers = root / CUSTOMERS_FOLDER
    if root.name == READINGS_FOLDER:
        readings, customers = root, root / "-none-"
    elif root.name == CUSTOMERS_FOLDER:
        readings, customers = root / "-none-", root
    if not readings.is_dir() and not customers.is_dir():
        raise IngestError(
            f"{root} holds neither {READINGS_FOLDER}/ nor {CUSTOMERS_FOLDER}/ "
            "(see `meterpipe ingest --help` for the layouts)"
        )
    files: list[LakeFile] = []
    ignored: list[Path] = []
    layouts: set[str] = set()
    if readings.is_dir():
        found, others, layouts = _plan_readings(readings)
        files += found
        ignored += others
    if customers.is_dir():
        csvs, others = _csv_files(customers)
        files += [
            LakeFile(p, CUSTOMERS.prefix + p.relative_to(customers).as_posix(), p.stat().st_size, None)
            for p in csvs
        ]
        ignored += others
    if not files:
        raise IngestError(f"no .csv files under {root}")
    layout = " + ".join(sorted(layouts, key=lambda name: name != "lake")) or "customers only"
    return IngestPlan(root, layout, tuple(files), tuple(ignored))


def _unchanged(s3: Any, bucket: str, file: LakeFile) -> bool:
    try:
        head = s3.head_object(Bucket=bucket, Key=file.key)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    if int(head.get("ContentLength", -1)) != file.size:
        return False
    if head.get("Metadata", {}).get(MD5_METADATA) == file.md5:
        return True
    # A single-part upload's ETag is the MD5 of its bytes (a multipart one's has a "-N" suffix).
    return str(head.get("ETag", "")).strip('"') == file.md5


def _upload(s3: Any, bucket: str, file: LakeFile) -> None:
    metadata = {MD5_METADATA: file.md5}
    if file.size <= SINGLE_PUT_LIMIT:
        content_md5 = base64.b64encode(bytes.fromhex(file.md5)).decode()
        s3.put_object(
            Bucket=bucket,
            Key=file.key,
            Body=file.path.read_bytes(),
            ContentMD5=content_md5,
            Metadata=metadata,
        )
    else:
        s3.upload_file(str(file.path), bucket, file.key, ExtraArgs={"Metadata": metadata})


def ingest(
    pipeline: Pipeline,
    plan: IngestPlan,
    *,
    on_file: Callable[[LakeFile, Action], None] | None = None,
    dry_run: bool = False,
) -> IngestReport:
    """Upload the plan's files into the lake bucket, skipping those already there unchanged."""
    s3 = pipeline.client("s3")
    bucket = pipeline.deployment.lake_bucket
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        if error_code(error) in ("404", "NoSuchBucket", "NotFound"):
            raise IngestError(f"the lake bucket {bucket} does not exist: deploy the project first") from None
        raise
    report = IngestReport(
        bucket=bucket, layout=plan.layout, days=plan.days, ignored=len(plan.ignored), dry_run=dry_run
    )

    def one(file: LakeFile) -> tuple[LakeFile, Action]:
        if _unchanged(s3, bucket, file):
            action: Action = "skipped"
        elif dry_run:
            action = "would upload"
        else:
            _upload(s3, bucket, file)
            action = "uploaded"
        if on_file is not None:
            on_file(file, action)
        return file, action

    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        for file, action in pool.map(one, plan.files):
            report.files.append((file.key, action, file.size))
            if action == "skipped":
                report.skipped += 1
                report.bytes_skipped += file.size
            else:
                report.uploaded += 1
                report.bytes_uploaded += file.size
    return report
