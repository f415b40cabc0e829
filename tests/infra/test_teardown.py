"""`azuchi empty-bucket` empties the versioned site bucket, delete markers included, so that the
stack's bucket can be deleted (tooling/teardown.py), on moto's S3."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tooling import teardown

BUCKET = "azuchi-dev-sitebucket-1a2b3c"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield client


def _upload_twice_and_sync_delete(s3: Any) -> None:
    """Two deploys of the page and an `aws s3 sync --delete` that dropped a file."""
    for deploy in ("v1", "v2"):
        for name in ("index.html", "js/app.js", "config.json"):
            s3.put_object(Bucket=BUCKET, Key=name, Body=f"{deploy} {name}".encode())
    s3.delete_object(Bucket=BUCKET, Key="config.json")  # a delete marker


def test_a_bucket_emptied_like_the_readme_says_can_be_deleted(s3: Any) -> None:
    _upload_twice_and_sync_delete(s3)
    # what `aws s3 rm --recursive` does leaves versions and markers behind
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    with pytest.raises(s3.exceptions.ClientError, match="BucketNotEmpty"):
        s3.delete_bucket(Bucket=BUCKET)
    assert teardown.empty_bucket(s3, BUCKET) == (6, 3)
    listed = s3.list_object_versions(Bucket=BUCKET)
    assert not listed.get("Versions") and not listed.get("DeleteMarkers")
    s3.delete_bucket(Bucket=BUCKET)


def test_more_versions_than_one_request_deletes_are_all_deleted(s3: Any) -> None:
    for n in range(1_203):
        s3.put_object(Bucket=BUCKET, Key=f"asset-{n % 7}.js", Body=b"x")
    assert teardown.empty_bucket(s3, BUCKET) == (1_203, 0)
    s3.delete_bucket(Bucket=BUCKET)


def test_the_command_says_what_it_removed(s3: Any, capsys: pytest.CaptureFixture[str]) -> None:
    _upload_twice_and_sync_delete(s3)
    assert teardown.run(argparse.Namespace(bucket=BUCKET, region="us-east-1")) == 0
    assert f"{BUCKET}: deleted 6 object versions and 1 delete markers" in capsys.readouterr().out


def test_a_missing_bucket_is_an_error_naming_it(
    s3: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert teardown.run(argparse.Namespace(bucket="no-such-bucket", region="us-east-1")) == 1
    err = capsys.readouterr().err
    assert "no-such-bucket" in err and "NoSuchBucket" in err
