"""`copyloop score` / `copyloop train-scorer` contract: JSON lines in, JSON lines out, bad lines on
stderr with their line number, exit code 2 if any line was bad."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from copyloop.cli import app


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def _stderr_errors(result) -> list[dict]:  # noqa: ANN001
    return [json.loads(x) for x in result.stderr.splitlines() if x.strip()]


def test_good_lines_keep_fields_and_order(runner: CliRunner) -> None:
    lines = [
        {"text": "You Won't Believe What This Dad Did For His Daughter", "id": 1},
        {"text": "Cordless drill with two batteries, 20 V, keyless chuck", "id": 2, "channel": "amazon_title"},
        {"text": "Why do cats purr? Scientists finally have an answer.", "id": 3},
    ]
    result = runner.invoke(app, ["score"], input="\n".join(json.dumps(x) for x in lines) + "\n")
    assert result.exit_code == 0, result.stderr
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2, 3]
    assert out[1]["channel"] == "amazon_title"
    for o, src in zip(out, lines):
        assert o["text"] == src["text"]
        assert 0.0 <= o["score"] <= 1.0
        assert isinstance(o["explanation"], str) and o["explanation"]
    assert result.stderr == ""


def test_bad_lines_are_reported_and_the_run_goes_on(runner: CliRunner) -> None:
    raw = "\n".join(
        [
            '{"text": "A fine headline about dogs"}',  # 1 ok
            "{not json",  # 2
            "[1, 2]",  # 3 not an object
            '{"title": "no text field"}',  # 4
            '{"text": "   "}',  # 5 empty
            "",  # 6 blank in the middle: reported
            '{"text": 42}',  # 7 not a string
            '{"text": "Another fine headline about cats"}',  # 8 ok
            "",  # trailing blank lines: ignored
            "",
        ]
    )
    result = runner.invoke(app, ["score"], input=raw)
    assert result.exit_code == 2
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert [o["text"] for o in out] == ["A fine headline about dogs", "Another fine headline about cats"]
    errors = _stderr_errors(result)
    assert [e["line"] for e in errors] == [2, 3, 4, 5, 6, 7]
    assert all(isinstance(e["error"], str) and e["error"] for e in errors)


def test_input_file_option(runner: CliRunner, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(b'{"text": "Headline one"}\n\xff\xfe broken bytes\n{"text": "Headline two"}\n')
    result = runner.invoke(app, ["score", "--input", str(src)])
    assert result.exit_code == 2
    assert len(result.stdout.splitlines()) == 2
    assert _stderr_errors(result) == [{"line": 2, "error": "not UTF-8 text"}]
    missing = runner.invoke(app, ["score", "--input", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "not found" in missing.stderr


def test_help_is_honest_about_the_training_data(runner: CliRunner) -> None:
    text = " ".join(runner.invoke(app, ["score", "--help"]).stdout.split())
    assert "Upworthy" in text and "news-headline" in text
    assert "train-scorer --ab-log" in text


def test_train_scorer_without_shared_data_says_what_to_do(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COPYLOOP_SHARED_DATA", str(tmp_path / "absent"))
    result = runner.invoke(app, ["train-scorer", "--out", str(tmp_path / "a.json")])
    assert result.exit_code == 2
    assert "--ab-log" in " ".join(result.stderr.split())
    assert not (tmp_path / "a.json").exists()


def test_train_scorer_on_a_users_log_then_score_with_it(runner: CliRunner, tmp_path: Path) -> None:
    rows = ["test_id,text,impressions,clicks,conversions"]
    for t in range(12):
        rows.append(f"t{t},Save 20% on garden lamp model {t} today,5000,300,60")
        rows.append(f"t{t},Garden lamp model {t} for the patio,5000,250,20")
    rows.append("t99,Bad row,10,50,1")
    log = tmp_path / "shop.csv"
    log.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "mine.json"
    result = runner.invoke(app, ["train-scorer", "--ab-log", str(log), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["artifact"] == str(out) and summary["bad_rows"] == 1
    assert "line 26" in result.stderr
    assert json.loads(out.read_text())["outcome"] == "cvr"
    scored = runner.invoke(
        app,
        ["score", "--model", str(out)],
        input='{"text": "Save 20% on the garden lamp today"}\n{"text": "Garden lamp for the patio"}\n',
    )
    assert scored.exit_code == 0, scored.stderr
    first, second = (json.loads(x)["score"] for x in scored.stdout.splitlines())
    assert first > second


def test_product_fit_orders_specific_headlines_above_filler(runner: CliRunner, tmp_path: Path) -> None:
    """Issue #11: with --product, naming the product beats 'The Best Product Ever' (0.74 before)."""
    product = tmp_path / "puzzle.json"
    product.write_text(json.dumps({"title": "Harbor Lights 1000-Piece Jigsaw Puzzle", "brand": "Northwind Puzzles",
                                   "category": "Toys & Games | Puzzles", "facts": ["1000 pieces", "Made from recycled paperboard"]}))
    texts = ["The Best Product Ever", "Good Product", "Beach Home", "Harbor Lights 1000-Piece Puzzle"]
    result = runner.invoke(app, ["score", "--channel", "google_ads_headline", "--product", str(product)],
                           input="\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    assert result.exit_code == 0, result.output
    scores = {o["text"]: o["score"] for o in map(json.loads, result.stdout.splitlines())}
    assert scores["Harbor Lights 1000-Piece Puzzle"] > max(scores[t] for t in texts[:3])
    # without the product, filler and superlatives still cost score; a plain name is left alone
    plain = runner.invoke(app, ["score", "--channel", "google_ads_headline"], input="\n".join(json.dumps({"text": t}) for t in texts) + "\n")
    no_product = {o["text"]: o["score"] for o in map(json.loads, plain.stdout.splitlines())}
    assert no_product["Harbor Lights 1000-Piece Puzzle"] > no_product["The Best Product Ever"]
    assert no_product["Harbor Lights 1000-Piece Puzzle"] > no_product["Good Product"]
    bad = runner.invoke(app, ["score", "--product", str(tmp_path / "missing.json")], input='{"text": "x"}\n')
    assert bad.exit_code == 2 and "product file not found" in bad.output
