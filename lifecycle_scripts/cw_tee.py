"""Copy stdin, line by line with a timestamp, to a log file and to CloudWatch Logs.

Detached lifecycle steps outlive the lifecycle script, so SageMaker no longer forwards
their output. This sends it to the notebook's own log group and a stream named
``<notebook-name>/<stream>``, which the notebook's role may write (``<name>/*``).
CloudWatch is best effort: if boto3, the metadata file or the API is unavailable, the
lines still reach the file and the step is never slowed down or failed by logging.

Runs with the notebook's system Python (JupyterSystemEnv, which has boto3), so it keeps to
Python 3.9 (tests/lifecycle/test_python_version.py checks that with vermin).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from datetime import datetime, timezone

LOG_GROUP = "/aws/sagemaker/NotebookInstances"
METADATA_FILE = "/opt/ml/metadata/resource-metadata.json"
FLUSH_SECONDS = 5.0
MAX_BATCH = 500


class CloudWatchSink:
    """Batches lines to one log stream; disables itself on the first error."""

    def __init__(self, stream_suffix: str, metadata_file: str) -> None:
        self.client = None
        self.group = os.environ.get("SMC_CW_LOG_GROUP") or LOG_GROUP
        self.stream = ""
        self.pending: list[dict] = []
        self.last_flush = time.monotonic()
        try:
            import boto3  # only on the notebook's system Python

            with open(metadata_file, encoding="utf-8") as fh:
                meta = json.load(fh)
            region = meta["ResourceArn"].split(":")[3]
            # Studio (studio_host.sh) names its own group and a stream prefix of metadata
            # fields; a notebook's stream starts with its name.
            meta.setdefault("SpaceName", os.environ.get("SAGEMAKER_SPACE_NAME", ""))
            prefix = os.environ.get("SMC_CW_STREAM_PREFIX") or "{ResourceName}"
            self.stream = f"{prefix.format(**meta)}/{stream_suffix}"
            self.client = boto3.client("logs", region_name=region)
            with contextlib.suppress(self.client.exceptions.ResourceAlreadyExistsException):
                self.client.create_log_stream(logGroupName=self.group, logStreamName=self.stream)
        except Exception as exc:  # noqa: BLE001 - logging must never fail the step
            self._disable(f"CloudWatch Logs unavailable ({exc}); writing to the file only")

    def _disable(self, why: str) -> None:
        self.client = None
        self.pending = []
        print(f"[cw_tee] {why}", file=sys.stderr)

    def add(self, line: str) -> None:
        if self.client is None:
            return
        self.pending.append({"timestamp": int(time.time() * 1000), "message": line})
        if len(self.pending) >= MAX_BATCH or time.monotonic() - self.last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.client is None or not self.pending:
            return
        try:
            self.client.put_log_events(
                logGroupName=self.group, logStreamName=self.stream, logEvents=self.pending
            )
        except Exception as exc:  # noqa: BLE001
            self._disable(f"CloudWatch Logs put failed ({exc}); writing to the file only")
        self.pending = []
        self.last_flush = time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", required=True, help="log file to append to")
    parser.add_argument("--stream", required=True, help="suffix of the CloudWatch stream")
    parser.add_argument(
        "--metadata-file", default=os.environ.get("SMC_METADATA_FILE", METADATA_FILE)
    )
    args = parser.parse_args(argv)

    sink = CloudWatchSink(args.stream, args.metadata_file)
    with open(args.file, "a", encoding="utf-8") as out:
        for raw in sys.stdin:
            stamp = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")  # noqa: UP017 (3.9)
            line = f"{stamp} {raw.rstrip()}"
            out.write(line + "\n")
            out.flush()
            sink.add(line)
    sink.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
