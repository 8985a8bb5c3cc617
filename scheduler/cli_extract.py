"""`feedline extract`: closing dates found in text on stdin, as JSON."""

from __future__ import annotations

import json
import sys
from datetime import date, datetime
from typing import Any, TextIO

import click

from feeds.clock import Clock, FixedClock, SystemClock
from feeds.deadlines import choose_reference, deadline_to_json, find_deadlines
from feeds.deadlines.explain import explain_text
from feeds.deadlines.times import is_known_zone
from feeds.names import LANGUAGES, supported

DEFAULT_TIMEZONE = "Europe/Brussels"
DEFAULT_LANGUAGE = "en"


class InputError(click.ClickException):
    """Bad input (an option value, a stdin line that is not JSON): one line, exit status 2."""

    exit_code = 2


def _parse_date(value: object, where: str) -> date:
    try:
        if isinstance(value, str) and len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InputError(f"{where}: {value!r} is not a date (YYYY-MM-DD)")


def _check_zone(value: object, where: str) -> str:
    if isinstance(value, str) and is_known_zone(value):
        return value
    raise InputError(
        f"{where}: unknown time zone {value!r} (use an IANA name such as Europe/Brussels)"
    )


def _check_language(value: str, where: str) -> str:
    """A language the extractor reads (a BCP 47 tag like fr-BE is read as fr); never a silent
    fall back to English for a tag it does not know."""
    if supported(value) == value.split("-", 1)[0].split("_", 1)[0].lower():
        return value
    raise InputError(
        f"{where}: {value!r} is not a language the extractor reads ({', '.join(LANGUAGES)})"
    )


def _clock(now: str | None) -> Clock:
    if now is None:
        return SystemClock()
    try:
        at = datetime.fromisoformat(now.replace("Z", "+00:00"))
        return FixedClock(at)
    except ValueError:
        raise InputError(
            f"--now: {now!r} is not an ISO date-time with a zone (e.g. 2023-02-08T09:00Z)"
        ) from None


def _extract(
    text: str, *, published: date | None, timezone: str, language: str, today: date
) -> list[dict[str, Any]]:
    reference, strong = choose_reference(
        published=published, texts=[text], first_seen=today, language=language
    )
    found = find_deadlines(
        text, reference=reference, timezone=timezone, language=language,
        reference_is_strong=strong,
    )  # fmt: skip
    return [deadline_to_json(d) for d in found]


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _jsonl(
    stream: TextIO, out: TextIO, *, timezone: str, language: str, published: date | None,
    today: date,
) -> None:  # fmt: skip
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        where = f"stdin line {number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InputError(f"{where}: bad JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f'{where}: expected an object with a "text" string')
        line_published = published
        if record.get("published") is not None:
            line_published = _parse_date(record["published"], f'{where}, "published"')
        zone = _check_zone(record.get("timezone") or timezone, f'{where}, "timezone"')
        lang = record.get("lang") or language
        if not isinstance(lang, str):
            raise InputError(f'{where}: "lang" must be a string')
        lang = _check_language(lang, f'{where}, "lang"')
        result = _extract(
            record["text"], published=line_published, timezone=zone, language=lang, today=today
        )
        out.write(_dump(result) + "\n")
        out.flush()


@click.command("extract")
@click.option("--published", metavar="YYYY-MM-DD", help="The item's publication date.")
@click.option(
    "--timezone", "timezone", default=DEFAULT_TIMEZONE, show_default=True,
    help="The source's IANA time zone (dates with no time close at the end of the day there).",
)  # fmt: skip
@click.option("--lang", "language", default=DEFAULT_LANGUAGE, show_default=True,
              help="Language of the text: en, fr, de, it, es, nl or pt.")  # fmt: skip
@click.option("--jsonl", is_flag=True,
              help='Read one JSON object per line {"text", "published", "timezone", "lang"}; '
                   "write one JSON array per line.")  # fmt: skip
@click.option("--now", metavar="ISO", help="Pretend it is this instant (for tests).")
@click.option("--explain", is_flag=True,
              help="Show every (cue, date) candidate weighed, its score's reasons and whether "
                   "it was taken or refused, then the JSON.")  # fmt: skip
def extract(
    published: str | None, timezone: str, language: str, jsonl: bool, now: str | None,
    explain: bool,
) -> None:  # fmt: skip
    """Find consultation closing dates in text read from stdin; print them as JSON."""
    published_date = _parse_date(published, "--published") if published is not None else None
    zone = _check_zone(timezone, "--timezone")
    language = _check_language(language, "--lang")
    today = _clock(now).now().date()
    stdin, stdout = sys.stdin, sys.stdout
    if explain and jsonl:
        raise InputError("--explain reads one text: it cannot be combined with --jsonl")
    if explain:
        text = stdin.read()
        reference, strong = choose_reference(
            published=published_date, texts=[text], first_seen=today, language=language
        )
        stdout.write(explain_text(
            text, reference=reference, timezone=zone, language=language,
            reference_is_strong=strong,
        ))  # fmt: skip
        return
    if jsonl:
        _jsonl(stdin, stdout, timezone=zone, language=language, published=published_date,
               today=today)  # fmt: skip
        return
    result = _extract(
        stdin.read(), published=published_date, timezone=zone, language=language, today=today
    )
    stdout.write(_dump(result) + "\n")


if __name__ == "__main__":  # pragma: no cover
    extract(sys.argv[1:])
