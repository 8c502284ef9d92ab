"""``copyloop experiment ...`` through typer: the exact flags, JSON shapes and exit codes of issue #13."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from copyloop.cli import app
from copyloop.training.ab_log import read_ab_log

PRODUCT = {"title": "Cast Iron Skillet", "category": "Home & Kitchen | Cookware", "facts": ["10.25 inch cooking surface"]}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def product_file(tmp_path: Path) -> Path:
    path = tmp_path / "product.json"
    path.write_text(json.dumps(PRODUCT), encoding="utf-8")
    return path


def create(runner: CliRunner, product_file: Path, *extra: str) -> dict:
    res = runner.invoke(
        app,
        ["experiment", "create", "--product", str(product_file), "--channel", "google_ads_headline",
         "--text", "Sear Like A Pro Tonight", "--text", "Crispy Edges, Every Time", "--control", "Cast Iron Skillet 10in",
         "--metric", "ctr", "--allocation", "fixed", *extra, "--json"],
    )
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_create_assign_ingest_status_close(runner: CliRunner, product_file: Path, tmp_path: Path) -> None:
    created = create(runner, product_file)
    exp = created["experiment_id"]
    assert [(v["variant_id"], v["text"]) for v in created["variants"]] == [
        ("v0", "Cast Iron Skillet 10in"), ("v1", "Sear Like A Pro Tonight"), ("v2", "Crispy Edges, Every Time")]

    res = runner.invoke(app, ["experiment", "assign", exp, "--unit", "visitor-42", "--json"])
    assert res.exit_code == 0, res.output
    variant = json.loads(res.stdout)["variant_id"]
    assert variant in {"v0", "v1", "v2"}
    assert json.loads(runner.invoke(app, ["experiment", "assign", exp, "--unit", "visitor-42", "--json"]).stdout) == {"variant_id": variant}

    rng = np.random.default_rng(0)
    lines = []
    for i in range(6000):
        vid = ("v0", "v1", "v2")[i % 3]
        lines.append({"event_id": f"i{i}", "variant_id": vid, "type": "impression", "unit": f"u{i}", "ts": 1_800_000_000 + i})
        if rng.random() < {"v0": 0.02, "v1": 0.07, "v2": 0.02}[vid]:
            lines.append({"event_id": f"c{i}", "variant_id": vid, "type": "click", "unit": f"u{i}"})
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in lines) + "\n", encoding="utf-8")
    res = runner.invoke(app, ["experiment", "ingest", exp, str(events), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["recorded"] == len(lines) and summary["bad_lines"] == 0
    res = runner.invoke(app, ["experiment", "ingest", exp, str(events), "--json"])  # again: nothing counted twice
    assert res.exit_code == 0 and json.loads(res.stdout)["duplicates"] == len(lines)

    res = runner.invoke(app, ["experiment", "status", exp, "--json"])
    assert res.exit_code == 0, res.output
    status = json.loads(res.stdout)
    assert status["winner"] == "v1" and status["decision"] == "winner"
    for v in status["variants"]:
        assert {"variant_id", "impressions", "clicks", "conversions", "rate", "p_best", "weight"} <= set(v)
    assert sum(v["impressions"] for v in status["variants"]) == 6000
    assert runner.invoke(app, ["experiment", "status", exp]).exit_code == 0  # the human table

    export = tmp_path / "ab_log.csv"
    res = runner.invoke(app, ["experiment", "close", exp, "--export", str(export), "--no-index"])
    assert res.exit_code == 0, res.output
    assert "winner v1" in res.stdout and "train-scorer --ab-log" in res.stdout
    log = read_ab_log(export)
    assert len(log.rows) == 3 and {r.test_id for r in log.rows} == {exp}


def test_ingest_reports_bad_lines_with_numbers_and_exits_1(runner: CliRunner, product_file: Path, tmp_path: Path) -> None:
    exp = create(runner, product_file)["experiment_id"]
    events = tmp_path / "events.jsonl"
    events.write_text(
        '{"event_id": "a", "variant_id": "v1", "type": "impression"}\n'
        "{not json\n"
        "\n"
        '{"event_id": "b", "variant_id": "v7", "type": "click"}\n'
        '{"event_id": "c", "variant_id": "v1", "type": "view"}\n'
        '{"event_id": "d", "variant_id": "v1", "type": "click", "ts": "yesterday"}\n'
        '{"event_id": "e", "variant_id": "v2", "type": "impression"}\n',
        encoding="utf-8",
    )
    res = runner.invoke(app, ["experiment", "ingest", exp, str(events), "--json"])
    assert res.exit_code == 1
    assert json.loads(res.stdout)["recorded"] == 2
    errors = [json.loads(line) for line in res.stderr.splitlines()]
    assert [e["line"] for e in errors] == [2, 4, 5, 6]
    assert "v7" in errors[1]["error"] and "type" in errors[2]["error"] and "ts" in errors[3]["error"]


def test_bad_input_exits_2_with_a_message(runner: CliRunner, product_file: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["experiment", "status", "exp_missing", "--json"])
    assert res.exit_code == 2 and "No experiment with id 'exp_missing'" in res.stderr and res.stdout == ""
    res = runner.invoke(app, ["experiment", "create", "--product", str(product_file), "--channel", "fax", "--text", "a", "--text", "b"])
    assert res.exit_code == 2 and "Known channels" in res.stderr
    res = runner.invoke(app, ["experiment", "create", "--product", str(tmp_path / "nope.json"), "--channel", "sms", "--text", "a", "--text", "b"])
    assert res.exit_code == 2 and "not found" in res.stderr
    res = runner.invoke(app, ["experiment", "create", "--product", str(product_file), "--channel", "sms", "--text", "a",
                              "--text", "b", "--metric", "revenue"])
    assert res.exit_code == 2 and "metric" in res.stderr
    exp = create(runner, product_file)["experiment_id"]
    res = runner.invoke(app, ["experiment", "ingest", exp, str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 2 and "not found" in res.stderr


def test_refresh_with_texts(runner: CliRunner, product_file: Path) -> None:
    exp = create(runner, product_file)["experiment_id"]
    res = runner.invoke(app, ["experiment", "refresh", exp, "--text", "Cook Once, Love It Forever", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["retired"] == [] and [a["variant_id"] for a in report["added"]] == ["v3"]


def test_create_without_texts_asks_the_loop(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", "experiment_fakes:headline_engine")
    from experiment_fakes import PRODUCT as BOARD

    path = tmp_path / "board.json"
    path.write_text(json.dumps(BOARD), encoding="utf-8")
    res = runner.invoke(app, ["experiment", "create", "--product", str(path), "--channel", "google_ads_headline",
                              "--variants", "2", "--control", "Bamboo Cutting Board", "--json"])
    assert res.exit_code == 0, res.output
    created = json.loads(res.stdout)
    assert [v["variant_id"] for v in created["variants"]] == ["v0", "v1", "v2"]
    assert all(len(v["text"]) <= 30 for v in created["variants"][1:])
