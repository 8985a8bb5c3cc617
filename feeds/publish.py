"""Writing output files: atomically, and only when the bytes changed (so mtimes and ETags hold)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from feeds.errors import FeedlineError


class PublishError(FeedlineError):
    """An output file could not be written."""


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` via a temp file and rename; return False if it was already so."""
    try:
        return _write_atomic(path, data)
    except OSError as error:
        raise PublishError(
            f"cannot write {path}: {error.strerror or error} (check site.output_dir)"
        ) from None


def _write_atomic(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except (FileNotFoundError, NotADirectoryError):
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return True
