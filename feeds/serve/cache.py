"""Files of the output folder held in memory, each checked by one `os.stat` per request (per
event-loop pass: requests read in the same pass share one check).

An entry is keyed by the request path and validated by (device, inode, mtime_ns, size): the
publisher replaces files atomically (temp file + rename), so a new version has a new inode.
Each entry holds the bytes, their gzip form, the strong ETags and the prebuilt response headers,
so a 304 costs one stat and a dict lookup. The gzip form is the publisher's sidecar
(`all.rss.gz`) when its trailer (CRC-32 and length) matches the file, else compressed here once
per version.
"""

from __future__ import annotations

import asyncio
import enum
import gzip
import hashlib
import logging
import os
import stat
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from feeds.publish import GZIP_SUFFIX
from feeds.serve.conditional import http_date
from feeds.serve.media import compressible, media_type

log = logging.getLogger(__name__)

Identity = tuple[int, int, int, int]  # st_dev, st_ino, st_mtime_ns, st_size
GZIP_MIN_BYTES = 256
GZIP_LEVEL = 6
LOAD_IN_THREAD_BYTES = 256 * 1024  # larger files are read (and hashed) off the event loop


class _LoadInThread(enum.Enum):
    MARKER = "load in a thread"


LOAD_IN_THREAD = _LoadInThread.MARKER


@dataclass(frozen=True, slots=True)
class Representation:
    """One encoding of a file: its body, strong ETag and the headers of a 200 response.

    `wire` is the status line and headers of that 200 (Content-Length included, Date not) as
    the raw fast path (feeds.serve.wire) sends them.
    """

    body: bytes
    etag: str
    headers: Mapping[str, str]
    wire: bytes


@dataclass(frozen=True, slots=True)
class Entry:
    """One version of a file: identity, plain and (if worth it) gzip form, 304 headers."""

    identity: Identity | None
    plain: Representation
    gzip: Representation | None
    last_modified: int
    not_modified: Mapping[str, Mapping[str, str]]  # matched ETag -> headers of the 304
    wire_not_modified: Mapping[str, bytes]  # matched ETag -> status line and headers of the 304

    @property
    def size(self) -> int:
        return len(self.plain.body) + (len(self.gzip.body) if self.gzip else 0)

    @property
    def etags(self) -> tuple[str, ...]:
        return (self.plain.etag, self.gzip.etag) if self.gzip else (self.plain.etag,)


def sidecar_matches(body: bytes, packed: bytes) -> bool:
    """True when `packed` (a one-member gzip file) ends with `body`'s CRC-32 and length."""
    if len(packed) < 18 or packed[:2] != b"\x1f\x8b":
        return False
    crc = int.from_bytes(packed[-8:-4], "little")
    size = int.from_bytes(packed[-4:], "little")
    return crc == zlib.crc32(body) and size == len(body) % (1 << 32)


def build_entry(
    name: str,
    body: bytes,
    *,
    mtime: float,
    cache_max_age: int,
    identity: Identity | None = None,
    packed: bytes | None = None,
) -> Entry:
    """Hash, compress (unless `packed` is given) and prepare headers for `body`."""
    digest = hashlib.blake2b(body, digest_size=16).hexdigest()
    last_modified = int(mtime)
    common = {
        "Last-Modified": http_date(last_modified),
        "Cache-Control": f"public, max-age={cache_max_age}",
        "X-Content-Type-Options": "nosniff",
    }
    if packed is None and compressible(name) and len(body) >= GZIP_MIN_BYTES:
        packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        if len(packed) >= len(body):
            packed = None
    if packed is not None:
        common["Vary"] = "Accept-Encoding"
    content_type = media_type(name)
    plain_etag = f'"{digest}"'
    plain = _representation(body, {"Content-Type": content_type, "ETag": plain_etag, **common})
    not_modified = {plain_etag: {"ETag": plain_etag, **common}}
    packed_rep = None
    if packed is not None:
        # Our own compression and a sidecar give different bytes: the tag tells them apart.
        gz_etag = f'"{digest}-gz{zlib.crc32(packed):08x}"'
        packed_rep = _representation(
            packed,
            {"Content-Type": content_type, "Content-Encoding": "gzip", "ETag": gz_etag, **common},
        )
        not_modified[gz_etag] = {"ETag": gz_etag, **common}
    wire_not_modified = {etag: wire_head(304, headers) for etag, headers in not_modified.items()}
    return Entry(identity, plain, packed_rep, last_modified, not_modified, wire_not_modified)


def wire_head(status: int, headers: Mapping[str, str], length: int | None = None) -> bytes:
    """An HTTP/1.1 status line and header lines (with Content-Length when `length` is given),
    without the Date line and the blank line that end the head."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def _representation(body: bytes, headers: dict[str, str]) -> Representation:
    return Representation(body, headers["ETag"], headers, wire_head(200, headers, len(body)))


class FileCache:
    """Entries for the files under `root`, bounded in total bytes (least recently used out).

    `get` never returns a file outside `root`: on every load the path is resolved (symlinks
    followed) and must stay inside the resolved root without passing through a dotfile.

    A file checked during one pass of the event loop is not checked again in that pass: the
    requests read together answer as if they had arrived together, and a request sent after
    a publish finished (a WebSub hub fetching after the ping) comes in a later pass.
    """

    def __init__(
        self,
        root: str,
        *,
        cache_max_age: int,
        max_bytes: int = 64 * 1024 * 1024,
        max_file_bytes: int = 16 * 1024 * 1024,
    ) -> None:
        self.root = os.path.realpath(root)
        self._prefix = self.root.rstrip(os.sep) + os.sep
        self._cache_max_age = cache_max_age
        self._max_bytes = max_bytes
        self._max_file_bytes = max_file_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self._checked: dict[str, Entry] = {}  # checked in this pass of the event loop

    async def get(self, rel: str) -> Entry | None:
        """The current version of file `rel` (a checked, '/'-separated relative path)."""
        found = self.lookup(rel)
        if found is not LOAD_IN_THREAD:
            return found
        return self._keep(rel, await asyncio.to_thread(self._load, rel))

    def lookup(self, rel: str) -> Entry | _LoadInThread | None:
        """Like `get` without waiting: `LOAD_IN_THREAD` when the current version is a large
        file not in memory yet (then `get` reads it in a thread)."""
        checked = self._checked.get(rel)
        if checked is not None:
            self._entries.move_to_end(rel)
            return checked
        try:
            st = os.stat(self._prefix + rel)
        except (OSError, ValueError):
            self._forget(rel)
            return None
        entry = self._entries.get(rel)
        if entry is not None and entry.identity == (
            st.st_dev,
            st.st_ino,
            st.st_mtime_ns,
            st.st_size,
        ):  # the file read before: a regular file, unchanged (a new version has a new inode)
            self._entries.move_to_end(rel)
            self._checked_now(rel, entry)
            return entry
        if not stat.S_ISREG(st.st_mode):
            self._forget(rel)
            return None
        if st.st_size > LOAD_IN_THREAD_BYTES:
            return LOAD_IN_THREAD
        return self._keep(rel, self._load(rel))

    def _keep(self, rel: str, entry: Entry | None) -> Entry | None:
        self._forget(rel)
        if entry is not None and entry.size <= self._max_file_bytes:
            self._store(rel, entry)
            self._checked_now(rel, entry)
        return entry

    def _checked_now(self, rel: str, entry: Entry) -> None:
        if not self._checked:  # the first check of this pass: forget them all at the next
            asyncio.get_running_loop().call_soon(self._checked.clear)
        self._checked[rel] = entry

    def _load(self, rel: str) -> Entry | None:
        real = os.path.realpath(self._prefix + rel)
        if not real.startswith(self._prefix):
            log.warning("refused %r: resolves outside the output folder", rel)
            return None
        if any(part.startswith(".") for part in real[len(self._prefix) :].split(os.sep)):
            return None
        read = _read_regular(real)
        if read is None:
            return None
        body, st = read
        identity = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if len(body) != st.st_size:  # written in place while we read: do not keep it
            identity = (st.st_dev, st.st_ino, -1, -1)
        packed = None
        if compressible(rel):
            sidecar = _read_regular(real + GZIP_SUFFIX)
            if sidecar is not None and sidecar_matches(body, sidecar[0]):
                packed = sidecar[0]
        return build_entry(
            rel,
            body,
            mtime=st.st_mtime,
            cache_max_age=self._cache_max_age,
            identity=identity,
            packed=packed,
        )

    def _store(self, rel: str, entry: Entry) -> None:
        self._entries[rel] = entry
        self._bytes += entry.size
        while self._bytes > self._max_bytes and len(self._entries) > 1:
            gone, old = self._entries.popitem(last=False)
            self._checked.pop(gone, None)
            self._bytes -= old.size

    def _forget(self, rel: str) -> None:
        self._checked.pop(rel, None)
        old = self._entries.pop(rel, None)
        if old is not None:
            self._bytes -= old.size


def _read_regular(path: str) -> tuple[bytes, os.stat_result] | None:
    """The bytes and stat of the regular file `path` (never through a final symlink)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        return handle.read(), st
