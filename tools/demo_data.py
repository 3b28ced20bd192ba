#!/usr/bin/env python3
"""Deterministic demo time series: a pump's vibration, temperature and pressure, one CSV per week.

Week 2 carries a vibration anomaly (05:00-06:00) worth labeling. Standard library only; the same
seed always gives byte-identical files. ``--upload BUCKET`` puts them under ``pump-7/`` through boto3
at ``$S3_ENDPOINT_URL`` (creating the bucket if needed).
"""

from __future__ import annotations

import argparse
import math
import os
import random
from datetime import datetime, timedelta
from pathlib import Path


def week_csv(week: int, minutes: int = 720) -> str:
    """One 12-hour, 1-minute series; ``week == 2`` has a vibration anomaly from 05:00 to 06:00."""
    rng = random.Random(7000 + week)
    start = datetime(2021, 1, 1) + timedelta(days=7 * (week - 1))
    rows = ["timestamp,vibration,temperature,pressure"]
    for i in range(minutes):
        vibration = 2.0 + 0.05 * math.sin(i / 30) + rng.gauss(0, 0.03)
        if week == 2 and 300 <= i < 360:
            vibration += 1.5 + 0.5 * math.sin((i - 300) / 6)
        temperature = 60 + 0.5 * math.sin(i / 120) + rng.gauss(0, 0.1)
        pressure = 3.2 + 0.02 * math.cos(i / 45) + rng.gauss(0, 0.005)
        stamp = (start + timedelta(minutes=i)).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(f"{stamp},{vibration:.3f},{temperature:.2f},{pressure:.3f}")
    return "\n".join(rows) + "\n"


def write(folder: Path, weeks: int = 3) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for week in range(1, weeks + 1):
        path = folder / f"week-{week:02d}.csv"
        path.write_text(week_csv(week))
        paths.append(path)
    return paths


def upload(paths: list[Path], bucket: str, prefix: str) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None)
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)
    for path in paths:
        s3.upload_file(str(path), bucket, prefix + path.name)
        print(f"uploaded s3://{bucket}/{prefix}{path.name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="demo-data/pump-7")
    parser.add_argument("--upload", metavar="BUCKET")
    parser.add_argument("--prefix", default="pump-7/")
    args = parser.parse_args()
    paths = write(Path(args.out))
    if args.upload:
        upload(paths, args.upload, args.prefix)


if __name__ == "__main__":
    main()
