"""``azuchi empty-bucket``: empties the stack's versioned site bucket so ``sam delete`` works.

    azuchi empty-bucket BUCKET [--region us-east-1]

CloudFormation deletes a bucket only when it holds nothing, and a versioned bucket keeps
every overwritten or deleted file as a noncurrent version and every ``aws s3 rm`` as a
delete marker: after ``aws s3 rm --recursive`` it still is not empty, and ``sam delete``
fails with BucketNotEmpty. This deletes every version and every delete marker (page by page,
at most 1,000 keys a request, as DeleteObjects takes them) with the AWS credentials of the
environment, and prints what it removed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import Any

EXIT_FAILED = 1
DELETE_BATCH = 1_000  # DeleteObjects' most keys per request


class TeardownError(Exception):
    """S3 refused to delete some versions; the message lists the first ones."""


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = commands.add_parser(
        "empty-bucket",
        help="delete every version and delete marker of a versioned bucket (before sam delete)",
        description="Empty the stack's site bucket (SiteBucketName output), old versions and "
        "delete markers included, so that `sam delete` can remove it.",
    )
    parser.add_argument("bucket", help="the bucket name (the stack's SiteBucketName output)")
    parser.add_argument("--region", help="the bucket's Region (default: the environment's)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    client = boto3.client("s3", region_name=args.region)
    try:
        versions, markers = empty_bucket(client, args.bucket)
    except (TeardownError, ClientError, BotoCoreError) as error:
        print(f"azuchi empty-bucket: {args.bucket}: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(f"{args.bucket}: deleted {versions} object versions and {markers} delete markers")
    return 0


def empty_bucket(client: Any, bucket: str) -> tuple[int, int]:
    """Deletes every object version and delete marker of ``bucket``; returns how many of
    each. ``client`` is a boto3 S3 client. Each round lists the first page again (at most
    1,000 entries) and deletes it: paging on past entries just deleted is not reliable."""
    versions = markers = 0
    while True:
        page = client.list_object_versions(Bucket=bucket, MaxKeys=DELETE_BATCH)
        found = [_key(v) for v in page.get("Versions") or []]
        dead = [_key(m) for m in page.get("DeleteMarkers") or []]
        if not found and not dead:
            return versions, markers
        for batch in _batches(found + dead):
            answer = client.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
            if errors := answer.get("Errors"):
                first = ", ".join(f"{e['Key']} ({e['Code']})" for e in errors[:3])
                raise TeardownError(f"{len(errors)} versions were not deleted: {first}")
        versions += len(found)
        markers += len(dead)


def _key(entry: dict[str, Any]) -> dict[str, str]:
    return {"Key": entry["Key"], "VersionId": entry["VersionId"]}


def _batches(items: list[dict[str, str]]) -> Iterator[list[dict[str, str]]]:
    for start in range(0, len(items), DELETE_BATCH):
        yield items[start : start + DELETE_BATCH]
