"""Writing output files: atomically, and only when the bytes changed (so mtimes and ETags hold).

`write_with_sidecar` also keeps a gzip copy beside a file (`all.rss.gz`), compressed once per
version, for servers that send it as is: nginx's `gzip_static` and the built-in server. The
sidecar gets the mtime of its file and is renamed into place just before it, so both always
describe the same version (the built-in server checks the gzip trailer as well).
"""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

from feeds.errors import FeedlineError

GZIP_SUFFIX = ".gz"
SIDECAR_MIN_BYTES = 256
SIDECAR_LEVEL = 9


class PublishError(FeedlineError):
    """An output file could not be written."""


def write_atomic(path: Path, data: bytes) -> bool:
    """Write `data` to `path` via a temp file and rename; return False if it was already so."""
    try:
        if _same(path, data):
            return False
        temp = _temp_file(path, data)
        _rename(temp, path)
        return True
    except OSError as error:
        raise _publish_error(path, error) from None


def write_with_sidecar(path: Path, data: bytes) -> bool:
    """`write_atomic`, plus `path.gz` when gzip saves bytes; False if `path` was already so.

    An unchanged file whose sidecar is missing gets one (the first build after an upgrade); a
    file too small or incompressible for gzip loses any old sidecar, which would be stale.
    """
    sidecar = path.with_name(path.name + GZIP_SUFFIX)
    try:
        unchanged = _same(path, data)
        if unchanged and sidecar.is_file():
            return False
        packed = gzip_sidecar(data)
        if packed is None:
            sidecar.unlink(missing_ok=True)
            if unchanged:
                return False
            _rename(_temp_file(path, data), path)
            return True
        if unchanged:
            mtime_ns = path.stat().st_mtime_ns
            _rename(_temp_file(sidecar, packed, mtime_ns=mtime_ns), sidecar)
            return False
        temp = _temp_file(path, data)
        try:
            temp_sidecar = _temp_file(sidecar, packed, mtime_ns=os.stat(temp).st_mtime_ns)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _rename(temp_sidecar, sidecar)
        _rename(temp, path)
        return True
    except OSError as error:
        raise _publish_error(path, error) from None


def gzip_sidecar(data: bytes) -> bytes | None:
    """The sidecar's bytes (gzip, no name or time in the header), or None if not worth it."""
    if len(data) < SIDECAR_MIN_BYTES:
        return None
    packed = gzip.compress(data, compresslevel=SIDECAR_LEVEL, mtime=0)
    return packed if len(packed) < len(data) else None


def _same(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except (FileNotFoundError, NotADirectoryError):
        return False


def _temp_file(path: Path, data: bytes, *, mtime_ns: int | None = None) -> str:
    """`data` in a synced temp file beside `path` (a dotfile: never served), mode 0644."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.chmod(temp_name, 0o644)
        if mtime_ns is not None:
            os.utime(temp_name, ns=(mtime_ns, mtime_ns))
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return temp_name


def _rename(temp_name: str, path: Path) -> None:
    try:
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _publish_error(path: Path, error: OSError) -> PublishError:
    return PublishError(f"cannot write {path}: {error.strerror or error} (check site.output_dir)")
