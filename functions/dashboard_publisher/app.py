"""CloudFormation custom resource: copies the built dashboard into its S3 bucket on every deploy.

``sam deploy`` packages ``web/dashboard/dist`` as the ``DashboardSiteLayer`` layer (mounted at
``/opt``); a new build is a new layer version, so the resource's ``SiteVersion`` property changes and
CloudFormation calls this function again. Create/Update upload every file under ``dashboard/`` (hashed
assets cached for a year, ``index.html`` revalidated) and delete files an older build left; Delete
empties the prefix so the bucket can go with the stack.

The same function publishes the storefront widget (``WidgetScript``, whose properties name a
``ScriptKey`` such as ``widget/v7/pollen-widget.js``: the ``WidgetSiteLayer`` version, so every build
has its own URL). The script is cached for a year (immutable); older versions stay, so pages that
still embed them keep working; Delete empties ``widget/``.
"""

from __future__ import annotations

import json
import mimetypes
import os
import re
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools.utilities.typing import LambdaContext

from pollen.observability import logger

SITE_ROOT = Path(os.environ.get("DASHBOARD_SITE_ROOT", "/opt"))
PREFIX = "dashboard/"
WIDGET_PREFIX = "widget/"
WIDGET_FILE = "pollen-widget.js"
SCRIPT_KEY = re.compile(r"^widget/v\d+/pollen-widget\.js$")
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

Responder = Callable[[dict[str, Any], str, str, str], None]


def site_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(key under the prefix, file) for the build: index.html and assets/ (other layers share /opt)."""
    yield PREFIX + "index.html", root / "index.html"
    for path in sorted((root / "assets").rglob("*")):
        if path.is_file():
            yield PREFIX + path.relative_to(root).as_posix(), path


def publish(s3: Any, bucket: str, root: Path) -> list[str]:
    """Upload the build, then delete keys under the prefix it no longer has. Returns the keys written."""
    if not (root / "index.html").is_file():
        raise FileNotFoundError(f"no index.html under {root}: the dashboard layer is empty")
    written = []
    for key, path in site_files(root):
        guessed = mimetypes.guess_type(path.name)[0]
        s3.put_object(
            Bucket=bucket,
            Key=key,
            Body=path.read_bytes(),
            ContentType=TYPES.get(path.suffix) or guessed or "application/octet-stream",
            CacheControl=IMMUTABLE if "/assets/" in key else REVALIDATE,
        )
        written.append(key)
    stale = [key for key in _keys(s3, bucket) if key not in set(written)]
    _delete(s3, bucket, stale)
    return written


def publish_script(s3: Any, bucket: str, root: Path, key: str) -> str:
    """Upload the widget's one script under its versioned ``key`` (immutable; older versions stay)."""
    if not SCRIPT_KEY.match(key):
        raise ValueError(f"ScriptKey must look like widget/v7/{WIDGET_FILE}, not {key!r}")
    script = root / WIDGET_FILE
    if not script.is_file():
        raise FileNotFoundError(f"no {WIDGET_FILE} under {root}: the widget layer is empty")
    s3.put_object(
        Bucket=bucket, Key=key, Body=script.read_bytes(), ContentType=TYPES[".js"], CacheControl=IMMUTABLE
    )
    return key


def unpublish(s3: Any, bucket: str, prefix: str = PREFIX) -> int:
    keys = list(_keys(s3, bucket, prefix))
    _delete(s3, bucket, keys)
    return len(keys)


def _keys(s3: Any, bucket: str, prefix: str = PREFIX) -> Iterator[str]:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield str(item["Key"])


def _delete(s3: Any, bucket: str, keys: list[str]) -> None:
    for start in range(0, len(keys), 1000):
        batch = [{"Key": key} for key in keys[start : start + 1000]]
        s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})


def respond(event: dict[str, Any], physical_id: str, status: str, reason: str) -> None:
    """Tell CloudFormation the outcome (a PUT to the pre-signed ResponseURL)."""
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:500] or status,
            "PhysicalResourceId": physical_id,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
        }
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - CloudFormation's https pre-signed URL
        event["ResponseURL"], data=body, method="PUT", headers={"content-type": ""}
    )
    with urllib.request.urlopen(request, timeout=10):  # noqa: S310
        pass


def handle(event: dict[str, Any], s3: Any, root: Path, responder: Responder = respond) -> None:
    bucket = str(event["ResourceProperties"]["BucketName"])
    script_key = event["ResourceProperties"].get("ScriptKey")
    prefix = PREFIX if script_key is None else WIDGET_PREFIX
    physical_id = f"{bucket}/{prefix}"  # stable: an update never looks like a replacement
    try:
        if event["RequestType"] == "Delete":
            deleted = unpublish(s3, bucket, prefix)
            logger.info("site removed", extra={"bucket": bucket, "prefix": prefix, "deleted": deleted})
        elif script_key is not None:
            publish_script(s3, bucket, root, str(script_key))
            logger.info("widget published", extra={"bucket": bucket, "key": script_key})
        else:
            written = publish(s3, bucket, root)
            logger.info("dashboard published", extra={"bucket": bucket, "files": len(written)})
    except Exception as exc:
        logger.exception("dashboard publishing failed")
        responder(event, physical_id, "FAILED", f"{type(exc).__name__}: {exc}")
        return
    responder(event, physical_id, "SUCCESS", "")


def lambda_handler(event: dict[str, Any], context: LambdaContext) -> None:
    handle(event, boto3.client("s3"), SITE_ROOT)
