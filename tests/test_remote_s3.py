"""The S3 remote end to end: `dvc push`, then `dvc pull` into a fresh clone.

The S3 server is moto's, on 127.0.0.1, started and stopped here. The endpoint and
the credentials are the ones a user would set, in the same places: DVC's local
config (never committed) and the AWS environment variables the workflow sets.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
import yaml

from .conftest import free_port, run, tool_env

pytestmark = pytest.mark.slow

BUCKET = "pipeline-tests"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture
def s3_server():
    """An S3-compatible server on loopback; yields its endpoint URL."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "moto's server did not start"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def dvc_s3(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "dvc", *args], cwd=cwd, **CREDENTIALS)


def test_push_then_pull_into_a_fresh_clone(baked, copy_of, s3_server, tmp_path):
    project = copy_of(baked(dvc_remote="s3", remote_url=f"s3://{BUCKET}/penguins"))
    assert f"url = s3://{BUCKET}/penguins" in (project / ".dvc/config").read_text()
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )
    s3.create_bucket(Bucket=BUCKET)

    dvc_s3("remote", "modify", "--local", "storage", "endpointurl", s3_server, cwd=project)
    dvc_s3("push", cwd=project)
    md5 = yaml.safe_load((project / "data/raw/penguins-raw.csv.dvc").read_text())["outs"][0]["md5"]
    keys = [item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"penguins/files/md5/{md5[:2]}/{md5[2:]}"]

    clone = tmp_path / "clone"
    subprocess.run(
        ["git", "clone", "--quiet", str(project), str(clone)], check=True, env=tool_env()
    )
    assert not (clone / "data/raw/penguins-raw.csv").exists()
    assert not (clone / ".dvc/config.local").exists(), "the endpoint must not be committed"
    dvc_s3("remote", "modify", "--local", "storage", "endpointurl", s3_server, cwd=clone)
    dvc_s3("pull", "--allow-missing", cwd=clone)
    pulled = (clone / "data/raw/penguins-raw.csv").read_bytes()
    assert pulled == (project / "data/raw/penguins-raw.csv").read_bytes()
