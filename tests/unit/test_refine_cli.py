"""``copyloop refine`` and ``copyloop demo`` driven through typer with a fake-LLM engine.

``COPYLOOP_ENGINE_FACTORY`` points the commands at ``fake_engine`` below, so the real CLI code
runs (argument parsing, product building, rendering, error surfacing) without loading SmolLM2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _refine_fakes import GOOD_DESC, GOOD_HEADLINE, PRODUCT, FakeScorer, FakeStore
from typer.testing import CliRunner

from copyloop.agents.llm import FakeCall, FakeLLM
from copyloop.cli import app
from copyloop.engine import Engine
from copyloop.graph.result import RefineResult
from copyloop.settings import Settings


def _reply(call: FakeCall, i: int) -> str:
    prompt = "\n".join(m["content"] for m in call.messages).lower()
    return GOOD_HEADLINE if "headline" in prompt else GOOD_DESC


def fake_engine(settings: Settings) -> Engine:
    return Engine(settings, llm=FakeLLM(default=_reply), scorer=FakeScorer(0.8), store=FakeStore())


def low_score_engine(settings: Settings) -> Engine:
    return Engine(settings, llm=FakeLLM(default=GOOD_DESC), scorer=FakeScorer(0.1), store=FakeStore())


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", f"{__name__}:fake_engine")
    return CliRunner()


def test_refine_json_prints_exactly_the_result(runner: CliRunner) -> None:
    args = ["refine", "--title", PRODUCT.title, "--category", PRODUCT.category, "--brand", str(PRODUCT.brand),
            "--description", PRODUCT.description, "--candidates", "1", "--threshold", "0.6"]
    for fact in PRODUCT.facts:
        args += ["--fact", fact]
    res = runner.invoke(app, [*args, "--json"])
    assert res.exit_code == 0, res.output
    line = res.stdout.strip()
    assert "\n" not in line
    result = RefineResult.model_validate_json(line)
    assert result.model_dump_json() == line
    assert result.passed and result.channel == "product_description"


def test_refine_from_a_json_file_with_trace(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "product.json"
    path.write_text(PRODUCT.model_dump_json(), encoding="utf-8")
    res = runner.invoke(app, ["refine", str(path), "--channel", "google_ads_headline", "--trace", "--candidates", "1"])
    assert res.exit_code == 0, res.output
    assert "Refinement trace" in res.stdout
    assert "Jigsaw Puzzle" in res.stdout  # the headline names the product
    assert "PASSED" in res.stdout


def test_flags_extend_the_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps([{"title": "Old title", "facts": ["1000 pieces"]}]), encoding="utf-8")
    res = runner.invoke(app, ["refine", str(path), "--title", PRODUCT.title, "--fact", "Made from recycled paperboard", "--json", "--candidates", "1"])
    assert res.exit_code == 0, res.output


def test_missing_title_is_a_clear_error(runner: CliRunner) -> None:
    res = runner.invoke(app, ["refine", "--fact", "12 oz", "--json"])
    assert res.exit_code == 2
    assert "title" in res.stderr and "required" in res.stderr
    assert res.stdout == ""


def test_unknown_channel_lists_the_channels(runner: CliRunner) -> None:
    res = runner.invoke(app, ["refine", "--title", "Mug", "--channel", "fax"])
    assert res.exit_code == 2
    assert "Unknown channel 'fax'" in res.stderr and "google_ads_headline" in res.stderr


def test_bad_json_file_is_reported_with_its_line(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"title": "Mug",\n "facts": [}', encoding="utf-8")
    res = runner.invoke(app, ["refine", str(path)])
    assert res.exit_code == 2 and "not valid JSON" in res.stderr


def test_several_products_in_one_file_point_to_batch(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "two.json"
    path.write_text(json.dumps([{"title": "A"}, {"title": "B"}]), encoding="utf-8")
    res = runner.invoke(app, ["refine", str(path)])
    assert res.exit_code == 2 and "copyloop batch" in res.stderr


def test_strict_exits_1_when_not_passed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", f"{__name__}:low_score_engine")
    res = CliRunner().invoke(app, ["refine", "--title", PRODUCT.title, "--fact", "1000 pieces", "--strict", "--json",
                                   "--max-iterations", "1", "--candidates", "1"])
    assert res.exit_code == 1
    assert RefineResult.model_validate_json(res.stdout).passed is False


def test_demo_refines_bundled_products_for_two_channels(runner: CliRunner) -> None:
    res = runner.invoke(app, ["demo", "--limit", "1"])
    assert res.exit_code == 0, res.output
    assert "copyloop demo" in res.stdout
    assert "product_description" in res.stdout and "google_ads_headline" in res.stdout
    assert "demo-puzzle-1000" in res.stdout  # the first bundled product
    assert "2/2 passed" in res.stdout and "first draft" in res.stdout
