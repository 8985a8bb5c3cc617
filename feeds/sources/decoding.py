"""The one decode policy for page bytes, fetched or local.

In order: the source's forced `encoding` (strict: bytes that do not fit are an error); the
charset the server declared (Content-Type); the document's own word (byte-order mark, XML
declaration, `<meta charset>`: feeds.sources.sniff); UTF-8 when the bytes are valid UTF-8;
else detection by charset-normalizer. Detection on short Western European text often ranks a
Baltic or Central European code page first by a hair (French "à" read as "ą"), so when
windows-1252 (the web's legacy default, and the HTML standard's fallback for every language
feedline reads) is among the near-best candidates it wins. Bytes nothing explains decode as
windows-1252, which maps almost every byte, so no text is replaced silently by U+FFFD.
"""

from __future__ import annotations

from feeds.errors import SourceError
from feeds.sources.sniff import declared_encoding

FALLBACK = "windows-1252"
NEAR_BEST_CHAOS = 0.05
"""How much more "chaos" (charset-normalizer's mess ratio) windows-1252 may show than the
best candidate and still be taken: French, German and Spanish samples in windows-1252
scored 0.013 against 0.0 for cp1257 or cp1250."""


def is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def detected_encoding(body: bytes) -> str:
    """The encoding of undeclared, non-UTF-8 bytes, by detection."""
    from charset_normalizer import from_bytes  # only pages that need it pay the import

    results = from_bytes(body)
    best = results.best()
    if best is None:
        return FALLBACK
    for match in results:
        if match.chaos <= best.chaos + NEAR_BEST_CHAOS and "cp1252" in match.could_be_from_charset:
            return FALLBACK
    return str(best.encoding)


def choose_encoding(body: bytes, declared: str | None = None) -> str:
    """The codec to decode `body` with, `declared` being the Content-Type charset (if any)."""
    return (
        declared
        or declared_encoding(body)
        or ("utf-8" if is_utf8(body) else None)
        or (detected_encoding(body))
    )


def decode_text(body: bytes, *, forced: str | None = None, declared: str | None = None) -> str:
    """`body` as text by the policy above. Raises UnicodeDecodeError when the bytes do not fit
    the forced encoding, LookupError when that encoding is unknown."""
    if forced:
        return body.decode(forced)
    encoding = choose_encoding(body, declared)
    text = body.decode(encoding, errors="replace")
    return text[1:] if text.startswith("\ufeff") else text


def decode_source_text(
    source_id: str,
    body: bytes,
    where: str,
    *,
    forced: str | None = None,
    declared: str | None = None,
) -> str:
    """`decode_text` for a source's page; SourceError (naming `where`, a file or URL) when a
    forced encoding does not fit the bytes or is unknown."""
    try:
        return decode_text(body, forced=forced, declared=declared)
    except UnicodeDecodeError as exc:
        raise SourceError(
            source_id,
            f"not valid {forced} text (byte {exc.start}); fix `encoding` for this source "
            "or remove it to have the encoding detected",
            where=where,
        ) from None
    except LookupError:
        raise SourceError(source_id, f"unknown encoding {forced!r}", where=where) from None
