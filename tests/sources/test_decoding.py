"""One decode policy and one size limit for fetched pages and local files."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.schema import FetchSettings, SourceSettings
from feeds.errors import SourceError
from feeds.fetch import Fetcher
from feeds.sources.base import FetchState
from feeds.sources.decoding import choose_encoding, decode_text
from feeds.sources.html_page import ACCEPT_HTML
from scheduler.wiring import build_readers
from tests.sources.support import LoopbackServer

FRENCH = (
    "<html><head><title>Actualités</title></head><body><h1>Actualités</h1><p>La Commission a "
    "lancé une consultation publique sur la qualité de l'eau. Les réponses sont attendues "
    "jusqu'au 17 février. Déjà, plusieurs États membres ont exprimé leur intérêt.</p>"
    "<p>Où trouver les documents ? Sur la page de la consultation, à Bruxelles.</p></body></html>"
)
GERMAN = "Ein schöner Tag für Übungen: Größere Änderungen für Verbraucher, bis zum 17. März."
PAGE_TEXT = "Café terrace rules\n\nThe city asks for views on café terraces until 17 March."


@pytest.mark.parametrize(
    "text", [FRENCH, GERMAN, "Señalización: la consulta pública está abierta hasta el 17 de marzo."]
)
@pytest.mark.parametrize("legacy", ["cp1252", "latin-1"])
def test_undeclared_western_european_bytes_are_detected(text: str, legacy: str) -> None:
    body = text.encode(legacy)
    assert decode_text(body) == text
    assert choose_encoding(body) == "windows-1252"


def test_other_legacy_encodings_are_detected() -> None:
    text = "Комиссия начала публичную консультацию о качестве воды до 17 марта."
    assert decode_text(text.encode("cp1251")) == text


def test_declarations_win_over_detection() -> None:
    body = "<meta charset='koi8-r'><p>Привет</p>".encode("koi8-r")
    assert choose_encoding(body) == "koi8-r"
    assert choose_encoding("é".encode("cp1252"), "iso-8859-15") == "iso-8859-15"
    assert choose_encoding("Déjà".encode()) == "utf-8"


def test_a_forced_encoding_is_strict() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_text("Déjà".encode("cp1252"), forced="utf-8")


async def test_a_fetched_page_without_charset_is_detected_not_replaced(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/fr", FRENCH.encode("cp1252"), charset=None)
    result = await fetcher.get(url, FetchState(), accept=ACCEPT_HTML)
    assert result.text() == FRENCH
    assert "\ufffd" not in result.text()


def _text_source(path: Path, **kw: str) -> SourceSettings:
    return SourceSettings(
        id="city", kind="text", title="City", path=path, link="https://city.example/", **kw
    )  # type: ignore[arg-type]


async def test_a_local_page_in_a_legacy_encoding_is_read(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    path.write_bytes(PAGE_TEXT.encode("cp1252"))
    async with Fetcher(FetchSettings()) as fetcher:
        read = await build_readers(fetcher)["text"].read(_text_source(path), FetchState())
    assert read.entries[0].title == "Café terrace rules"


async def test_a_forced_encoding_that_does_not_fit_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "news.txt"
    path.write_bytes(PAGE_TEXT.encode("cp1252"))
    async with Fetcher(FetchSettings()) as fetcher:
        reader = build_readers(fetcher)["text"]
        with pytest.raises(SourceError, match=r"not valid utf-8 text \(byte 3\)") as caught:
            await reader.read(_text_source(path, encoding="utf-8"), FetchState())
    assert str(path) in str(caught.value)


@pytest.mark.parametrize("kind", ["text", "markdown", "html", "items"])
async def test_every_local_kind_has_the_fetch_size_limit(tmp_path: Path, kind: str) -> None:
    big = "Title\n\n" + "word " * 1000
    if kind == "items":
        path = tmp_path / "posts"
        path.mkdir()
        (path / "a.md").write_text(f"---\ntitle: A\n---\n{big}", encoding="utf-8")
    else:
        path = tmp_path / "page"
        path.write_text(f"## Title\n\n{big}" if kind == "markdown" else big, encoding="utf-8")
    extra = {"select": {"item": "p", "title": "p"}} if kind == "html" else {}
    source = SourceSettings(
        id="s", kind=kind, title="S", path=path, link="https://s.example/", **extra
    )  # type: ignore[arg-type]
    async with Fetcher(FetchSettings(max_bytes=2048)) as fetcher:
        reader = build_readers(fetcher)[kind]
        if kind == "items":
            read = await reader.read(source, FetchState())
            [problem] = read.problems
            assert "over the 2,048 byte limit (`[fetch] max_bytes`)" in str(problem)
        else:
            with pytest.raises(SourceError, match=r"over the 2,048 byte limit"):
                await reader.read(source, FetchState())


async def test_a_fetched_page_that_does_not_fit_its_forced_encoding_names_the_url(
    server: LoopbackServer, fetcher: Fetcher
) -> None:
    url = server.page("/forced", FRENCH.encode("cp1252"), charset=None)
    source = SourceSettings(
        id="fr",
        kind="html",
        title="FR",
        url=url,
        encoding="utf-8",
        select={"item": "p", "title": "p"},  # type: ignore[arg-type]
    )
    reader = build_readers(fetcher)["html"]
    with pytest.raises(SourceError, match=r"not valid utf-8 text \(byte \d+\)") as caught:
        await reader.read(source, FetchState())
    assert url in str(caught.value)
