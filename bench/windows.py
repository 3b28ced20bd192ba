"""`make bench`, windows part: how fast window files are written from long CSV and Parquet sources.

Objects of 30 days at 1 Hz with 4 channels (2,592,000 rows: about 106 MB as CSV, 24 MB as Parquet;
values rounded as sensors write them, so they repeat) are cut into 6-hour windows with 10 minutes
of overlap by ``data.windows.cut``, read from local files through the same reader interface S3
objects use, several objects at a time (one thread per core, as apply runs them through
``core.parallel``). Reported: source MB/s, rows/s and CPU seconds of the transform alone (no S3),
as apply writes new windows (not hashed), and again with every window's MD5 (as a changed object
is compared with its files); for Parquet also the CSV-equivalent rate (the same series' CSV size
over the time: the goal's unit, as a Parquet object is 4.5 times smaller than its windows);
one Parquet object whose floats are all distinct (the writer's slowest case); the peak memory of a
process that cuts one object of 7, 30 and 90 days (the peak must not grow with the object; it
settles within the first few dozen windows, as the allocators warm up); and, separately, the S3
transfer: the PUTs of one object's window files to the stack's S3 server.

Run alone: ``python bench/windows.py [TOTAL_MB]`` (transform and memory only; no stack needed).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # this checkout's lsts_sync, even when another one is installed
DAY = 86_400
CHANNELS = ("vibration", "temperature", "pressure", "flow")


def project(fmt: str):
    from lsts_sync.spec.models import ProjectSpec

    return ProjectSpec(kind="Project", name="bench", instance="local",
                       source={"bucket": "bench-data", "format": fmt, "window": {"duration": "6h", "overlap": "10m"}},
                       timeseries={"time_column": "timestamp", "time_format": "%Y-%m-%d %H:%M:%S",
                                   "channels": [{"column": c} for c in CHANNELS]},
                       labels=[{"value": "Anomaly"}])


def series_frame(days: int):
    """``days`` days at 1 Hz from 2026-01-01 00:00:00 UTC: the time column as text in
    ``%Y-%m-%d %H:%M:%S`` and the four CHANNELS; returns the frame and its timestamps."""
    import numpy as np
    import pandas as pd

    rows = days * DAY
    stamps = pd.date_range("2026-01-01", periods=rows, freq="s")
    t = np.arange(rows)
    frame = pd.DataFrame({"timestamp": stamps.strftime("%Y-%m-%d %H:%M:%S"),
                          "vibration": np.round(np.sin(t / 50) + 2, 3), "temperature": np.round(t % 97 / 7 + 40, 2),
                          "pressure": np.round(np.cos(t / 300) * 3 + 10, 3), "flow": np.round(t % 13 / 3, 2)})
    return frame, stamps


def write_csv(path: Path, days: int) -> Path:
    """The CSV object of ``series_frame(days)`` at ``path``."""
    series_frame(days)[0].to_csv(path, index=False, lineterminator="\n")
    return path


def write_series(base: Path, days: int, noise: bool = False) -> tuple[Path, Path]:
    """A CSV and a Parquet object of ``days`` days at 1 Hz (the Parquet time column a timestamp).
    The channels are rounded to 2 or 3 decimals, as sensors write them, so values repeat; with
    ``noise``, every value is a distinct full-precision float (the slowest case for the writer) and
    only the Parquet object is written."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame, stamps = series_frame(days)
    if noise:
        random = np.random.default_rng(0)
        frame = frame.assign(**{c: frame[c] + random.normal(size=len(frame)) for c in CHANNELS})
    csv, parquet = base.with_suffix(".csv"), base.with_suffix(".parquet")
    if not noise:
        frame.to_csv(csv, index=False, lineterminator="\n")
    pq.write_table(pa.Table.from_pandas(frame.assign(timestamp=stamps), preserve_index=False), parquet)
    return csv, parquet


def local_reader(path: Path):
    from lsts_sync.data.windows import ObjectReader

    def read_range(start: int, length: int) -> bytes:
        with open(path, "rb") as file:
            file.seek(start)
            return file.read(length)

    return ObjectReader(lambda: open(path, "rb"), read_range, path.stat().st_size)  # noqa: SIM115 (cut closes it)


def cut_all(paths: list[Path], fmt: str, hashed: bool = False) -> dict:
    """Cut every object, ``os.cpu_count()`` at a time: windows, output bytes, wall and CPU seconds.
    ``hashed``: with the MD5 of every window, as when a changed object's windows all have files to
    compare with; without, as apply writes new windows."""
    from lsts_sync.core.parallel import bounded_map
    from lsts_sync.data.windows import cut

    spec = project(fmt)

    def one(path: Path) -> tuple[int, int]:
        found = [len(data) for _, data in cut(spec, local_reader(path), path.name, str(path),
                                              hashed=lambda name: hashed)]
        return len(found), sum(found)

    start, cpu = time.perf_counter(), time.process_time()
    done = bounded_map(one, paths, os.cpu_count() or 1)
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    size = sum(p.stat().st_size for p in paths)
    return {"objects": len(paths), "threads": min(len(paths), os.cpu_count() or 1), "source_mb": size / 2**20,
            "rows": len(paths) * 30 * DAY,
            "windows": sum(n for n, _ in done), "window_mb": sum(b for _, b in done) / 2**20, "wall_s": wall,
            "cpu_s": cpu, "mb_per_s": size / 2**20 / wall, "rows_per_s": len(paths) * 30 * DAY / wall}


def peak_rss_mb(path: Path | None, fmt: str) -> float:
    """Peak resident memory of a fresh process that imports lsts-sync and cuts one object (None:
    imports only, the floor)."""
    # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a child would report its parent's peak
    code = ("import re, sys; sys.path.insert(0, sys.argv[3]); sys.path.insert(0, sys.argv[4]);"
            "import lsts_sync.data.windows; from windows import cut_all; from pathlib import Path;"
            "sys.argv[1] and cut_all([Path(sys.argv[1])], sys.argv[2]);"
            "print(int(re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1)) / 1024)")
    found = subprocess.run([sys.executable, "-c", code, str(path or ""), fmt, str(ROOT), str(ROOT / "bench")],
                           capture_output=True, text=True, check=True)
    return float(found.stdout.strip())


def bench_windows(tmp: Path, total_mb: int = 1024, s3_client=None, bucket: str | None = None) -> dict:
    """The figures of the module docstring; with ``s3_client`` and ``bucket``, the S3 transfer too."""
    csv, parquet = write_series(tmp / "month", 30)
    count = max(1, round(total_mb / (csv.stat().st_size / 2**20)))
    copies = {fmt: [src] + [src.with_name(f"month-{i}{src.suffix}") for i in range(1, count)]
              for fmt, src in (("csv", csv), ("parquet", parquet))}
    for paths in copies.values():
        for copy in paths[1:]:
            copy.hardlink_to(paths[0])  # the same bytes, another object to the reader
    results = {"csv": cut_all(copies["csv"], "csv"), "parquet": cut_all(copies["parquet"], "parquet")}
    results["parquet"]["csv_equivalent_mb_per_s"] = results["csv"]["source_mb"] / results["parquet"]["wall_s"]
    results["csv_every_window_hashed"] = cut_all(copies["csv"], "csv", hashed=True)
    results["parquet_every_window_hashed"] = cut_all(copies["parquet"], "parquet", hashed=True)
    _, noisy = write_series(tmp / "noisy", 30, noise=True)
    results["parquet_distinct_floats_one_object"] = cut_all([noisy], "parquet")
    small_csv, small_parquet = write_series(tmp / "week", 7)
    long_csv, long_parquet = write_series(tmp / "quarter", 90)
    results["peak_rss_mb"] = {"csv_7_days": peak_rss_mb(small_csv, "csv"), "csv_30_days": peak_rss_mb(csv, "csv"),
                              "csv_90_days": peak_rss_mb(long_csv, "csv"),
                              "parquet_7_days": peak_rss_mb(small_parquet, "parquet"),
                              "parquet_30_days": peak_rss_mb(parquet, "parquet"),
                              "parquet_90_days": peak_rss_mb(long_parquet, "parquet"),
                              "import_only": peak_rss_mb(None, "csv")}
    results["goals"] = {"csv_mb_per_s": 150, "parquet_csv_equivalent_mb_per_s": 300,
                        "peak": "does not grow with the object"}
    if s3_client is not None and bucket:
        results["s3_put_one_object"] = s3_transfer(csv, s3_client, bucket)
    return results


def s3_transfer(path: Path, client, bucket: str) -> dict:
    """The PUTs of one object's window files (cut first, in memory), one at a time as apply does."""
    from lsts_sync.data.windows import cut

    files = [data for _, data in cut(project("csv"), local_reader(path), path.name, str(path))]
    start = time.perf_counter()
    for i, data in enumerate(files):
        client.put_object(Bucket=bucket, Key=f"bench-windows/{i:04d}.csv", Body=data)
    wall = time.perf_counter() - start
    size = sum(map(len, files))
    return {"files": len(files), "mb": size / 2**20, "wall_s": wall, "mb_per_s": size / 2**20 / wall}


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        print(json.dumps(bench_windows(Path(folder), int(sys.argv[1]) if len(sys.argv) > 1 else 1024), indent=2))
