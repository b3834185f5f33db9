"""A real S3-compatible server on loopback (moto's standalone server, `moto_server`), for the tests of the bucket
storage and CI's scale-out check: the storage talks HTTP to it as it would to any S3, with no internet."""

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REGION = "us-east-1"
KEYS = {"AWS_ACCESS_KEY_ID": "ecopark-test", "AWS_SECRET_ACCESS_KEY": "ecopark-test-secret"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def s3_server(log=subprocess.DEVNULL) -> Iterator[str]:
    """Start moto's S3 server on a free loopback port; yields its endpoint URL, and stops it on leaving."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"moto_server did not start (exit code {process.poll()})") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def environment(endpoint: str, bucket: str) -> dict[str, str]:
    """The environment that points ecopark's file storage at `bucket` on the server (see README, configuration)."""
    return {
        "FILE_STORAGE": "s3",
        "AWS_STORAGE_BUCKET_NAME": bucket,
        "AWS_S3_ENDPOINT_URL": endpoint,
        "AWS_S3_REGION_NAME": REGION,
        "AWS_S3_ADDRESSING_STYLE": "path",
        **KEYS,
    }


def client(endpoint: str):
    """A boto3 client of the server, to create buckets and look into them as an operator would."""
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=KEYS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=KEYS["AWS_SECRET_ACCESS_KEY"],
    )


def keys_in(endpoint: str, bucket: str, prefix: str = "") -> set[str]:
    """The names of the objects in the bucket (under `prefix`)."""
    listing = client(endpoint).list_objects_v2(Bucket=bucket, Prefix=prefix)
    return {item["Key"] for item in listing.get("Contents", [])}
