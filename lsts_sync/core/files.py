"""Local files written whole or not at all.

A reader (a CI step, a second run, a labeler's script) must never see half a file: the data go to a
hidden temporary file beside the target, which is then renamed over it (``os.replace`` is atomic
on one file system, and beside the target it is the same file system). A failure removes the
temporary file and leaves the old target as it was.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

READABLE_BY_ALL = 0o644  # rw-r--r--


def write_atomic(path: str | os.PathLike[str], data: bytes, mode: int = READABLE_BY_ALL) -> None:
    """Replace ``path`` with ``data`` atomically; the file gets ``mode`` whatever the umask
    (``mkstemp`` alone would leave rw-------). The temporary file is ``.NAME.XXXXXXXX`` in the
    target's folder, which must exist (raises OSError otherwise)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
