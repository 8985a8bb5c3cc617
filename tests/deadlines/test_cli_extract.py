"""`feedline extract` driven in-process with click's CliRunner."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scheduler.cli_extract import extract

NOTICE = "The consultation on harbour dredging is open until 17 February."
NOW = ["--now", "2023-02-08T09:00:00+00:00"]


def _run(args: list[str], stdin: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(extract, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_text_on_stdin_with_published_date() -> None:
    code, out, _ = _run(["--published", "2024-02-01"], NOTICE)
    assert code == 0
    assert json.loads(out) == [
        {
            "closes_at": "2024-02-17T23:59:59+01:00",
            "date": "2024-02-17",
            "time": None,
            "timezone": "Europe/Brussels",
            "label": "consultation on harbour dredging",
            "evidence": NOTICE,
            "certain": True,
        }
    ]


def test_without_published_the_reference_is_today_and_weak() -> None:
    code, out, _ = _run(NOW, NOTICE)
    assert code == 0
    (found,) = json.loads(out)
    assert found["date"] == "2023-02-17"
    assert found["certain"] is False  # resolved from the day it was read, not a written date


def test_without_published_a_full_date_in_the_text_is_the_reference() -> None:
    text = "Posted on 1 February 2024. " + NOTICE
    code, out, _ = _run(["--now", "2024-03-01T00:00:00+00:00"], text)
    assert code == 0
    (found,) = json.loads(out)
    assert (found["date"], found["certain"]) == ("2024-02-17", True)


def test_timezone_and_language_options() -> None:
    text = "Stellungnahmen können bis zum 30. April 2024, 12:00 Uhr, eingereicht werden."
    code, out, _ = _run(["--timezone", "Europe/Berlin", "--lang", "de", *NOW], text)
    assert code == 0
    (found,) = json.loads(out)
    assert found["closes_at"] == "2024-04-30T12:00:00+02:00"
    assert found["timezone"] == "Europe/Berlin"


def test_text_without_deadlines_prints_an_empty_array() -> None:
    code, out, _ = _run(NOW, "On 7 February 2023 the Commissioner visited Antwerp.")
    assert (code, json.loads(out)) == (0, [])


def test_jsonl_one_array_per_line_in_order() -> None:
    lines = [
        {"text": NOTICE, "published": "2024-02-01"},
        {"text": "Nothing closes here."},
        {
            "text": "Comments must be received on or before March 5, 2024.",
            "timezone": "America/New_York",
            "lang": "en",
        },
    ]
    stdin = "\n".join(json.dumps(line) for line in lines) + "\n"
    code, out, _ = _run(["--jsonl", *NOW], stdin)
    assert code == 0
    arrays = [json.loads(line) for line in out.splitlines()]
    assert [[d["closes_at"] for d in a] for a in arrays] == [
        ["2024-02-17T23:59:59+01:00"],
        [],
        ["2024-03-05T23:59:59-05:00"],
    ]


def test_bad_published_option_exits_2() -> None:
    code, _, err = _run(["--published", "17/02/2024"], NOTICE)
    assert code == 2
    assert "--published" in err
    assert "17/02/2024" in err


def test_unknown_timezone_exits_2() -> None:
    code, _, err = _run(["--timezone", "Europe/Atlantis"], NOTICE)
    assert code == 2
    assert "Europe/Atlantis" in err


def test_bad_json_line_names_the_line() -> None:
    stdin = json.dumps({"text": NOTICE}) + "\n{not json\n"
    code, out, err = _run(["--jsonl", *NOW], stdin)
    assert code == 2
    assert "line 2" in err
    assert "bad JSON" in err
    assert len(out.splitlines()) == 1  # the good line before it was written


def test_bad_date_or_zone_in_a_json_line_names_the_field() -> None:
    code, _, err = _run(["--jsonl"], json.dumps({"text": NOTICE, "published": "2024-02-30"}))
    assert code == 2
    assert "line 1" in err
    assert "published" in err
    code, _, err = _run(["--jsonl"], json.dumps({"text": NOTICE, "timezone": "Nowhere"}))
    assert code == 2
    assert "timezone" in err


def test_json_line_without_text_is_an_error() -> None:
    code, _, err = _run(["--jsonl"], json.dumps({"published": "2024-02-01"}))
    assert code == 2
    assert '"text"' in err


def test_bad_now_exits_2() -> None:
    code, _, err = _run(["--now", "yesterday"], NOTICE)
    assert code == 2
    assert "--now" in err


def test_readme_example_gives_its_date() -> None:
    code, out, _ = _run(["--published", "2023-02-07"], "This call is open until 17 February.")
    assert code == 0
    assert [d["date"] for d in json.loads(out)] == ["2023-02-17"]


def test_explain_shows_each_candidate_with_its_reasons_and_outcome() -> None:
    text = "Start Date 1 May 2025 End Date 30 June 2025 Consultation on river fees"
    code, out, _ = _run(["--published", "2025-04-01", "--explain"], text)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "reference date 2025-04-01 (strong)"
    taken = [line for line in lines if line.endswith("taken")]
    refused = [line for line in lines if "refused:" in line]
    assert taken == ["1. cue 'End Date' -> '30 June 2025' (2025-06-30): score 4.00, taken"]
    assert any("'1 May 2025' (2025-05-01)" in line for line in refused)
    assert "     follows the cue (1 chars) +3.00" in lines
    assert [d["date"] for d in json.loads(lines[-1])] == ["2025-06-30"]


def test_explain_says_when_a_weak_cue_is_refused() -> None:
    code, out, _ = _run(["--published", "2025-04-01", "--explain"], "Shops stay open until 5 May.")
    assert code == 0
    assert "weak cue without consultation words -3.0" in out
    assert "refused: below threshold" in out
    assert out.splitlines()[-1] == "[]"


def test_explain_with_jsonl_is_an_input_error() -> None:
    code, _, err = _run(["--explain", "--jsonl"], "{}\n")
    assert code == 2
    assert "--explain" in err and "--jsonl" in err
