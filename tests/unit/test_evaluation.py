"""``copyloop evaluate`` figures, computed from real loop runs with the fake LLM: what counts as a
hard-rule pass, an unsupported claim, an iteration; and the CLI's product filtering and JSON."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from _refine_fakes import ALL_INVENTED, GOOD_DESC, GOOD_DESC_2, PRODUCT, FakeScorer, FakeStore
from typer.testing import CliRunner

from copyloop.agents.llm import FakeCall, FakeLLM
from copyloop.cli import app
from copyloop.engine import Engine
from copyloop.settings import Settings
from copyloop.training.evaluation import evaluate_products, mean_pairwise_cosine

OTHER = PRODUCT.model_copy(update={"id": "puzzle-2"})
# four grounded bullets: the fifth is missing, which is a soft finding, not a hard failure
FOUR_BULLETS = "\n".join(
    [
        "1000 PIECES: a harbor town at dusk with lit windows on the water",
        "FINISHED SIZE: the finished puzzle measures 27 x 20 inches",
        "RECYCLED: made from recycled paperboard",
        "EASY START: a full-size reference poster is included",
    ]
)


class HashEmbedder:
    """One deterministic unit vector per distinct text (identical texts → cosine 1)."""

    dim = 32

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:  # noqa: ANN001
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, t in enumerate(texts):
            v = np.random.default_rng(int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")).standard_normal(self.dim)
            out[k] = v / np.linalg.norm(v)
        return out


def engine_for(reply, score=0.8) -> Engine:  # noqa: ANN001
    # the freeform drafter: the scripted reply *is* the copy, so these tests control every figure
    settings = Settings(llm={"drafter": "freeform"})
    return Engine(settings, llm=FakeLLM(default=reply), scorer=FakeScorer(score), store=FakeStore(), embedder=HashEmbedder())


def test_figures_of_passing_runs() -> None:
    report = evaluate_products(engine_for(GOOD_DESC), [PRODUCT, OTHER], ["product_description"], adapter_label="none", candidates=1)
    s = report.summary()
    assert s["runs"] == 2 and s["products"] == 2 and s["adapter"] == "none"
    assert s["mean_first_draft_score"] == pytest.approx(0.8)
    assert s["hard_rule_pass_rate"] == 1.0 and s["unsupported_claim_rate"] == 0.0
    assert s["mean_iterations_to_threshold"] == 1.0 and s["threshold_reached_rate"] == 1.0
    assert s["catalog_self_similarity"] == pytest.approx(1.0)  # both products got the same text
    assert s["seconds_per_product"] > 0
    assert set(s["per_channel"]) == {"product_description"}


def test_unsupported_first_drafts_are_counted_and_never_returned_as_passing() -> None:
    report = evaluate_products(engine_for(ALL_INVENTED, score=0.9), [PRODUCT], ["product_description"],
                               adapter_label="x", candidates=1, max_iterations=2)
    s = report.summary()
    assert s["first_draft_unsupported_rate"] == 1.0
    assert s["hard_rule_pass_rate"] == 0.0 and s["threshold_reached_rate"] == 0.0
    assert s["mean_iterations_to_threshold"] == 2.0  # a run that never gets there counts at its cap
    assert report.runs[0].stop_reason != "threshold_met"


def test_a_soft_rule_finding_is_not_a_hard_failure() -> None:
    def reply(call: FakeCall, i: int) -> str:
        return FOUR_BULLETS

    report = evaluate_products(engine_for(reply), [PRODUCT], ["amazon_bullet"], adapter_label="x", candidates=1, max_iterations=1)
    [run] = report.runs
    assert run.text.count("\n") == 3
    assert run.hard_pass and not run.unsupported


def test_below_threshold_runs_use_more_iterations() -> None:
    texts = iter([GOOD_DESC, GOOD_DESC_2] * 10)
    scores = {GOOD_DESC: 0.3, GOOD_DESC_2: 0.9}
    engine = Engine(Settings(llm={"drafter": "freeform"}), llm=FakeLLM(default=lambda call, i: next(texts)),
                    scorer=FakeScorer(lambda t: scores.get(t, 0.5)), store=FakeStore(), embedder=HashEmbedder())
    s = evaluate_products(engine, [PRODUCT], ["product_description"], adapter_label="x", candidates=1, threshold=0.6).summary()
    assert s["mean_first_draft_score"] == pytest.approx(0.3)
    assert s["mean_final_score"] == pytest.approx(0.9) and s["mean_iterations_to_threshold"] == 2.0


def test_mean_pairwise_cosine() -> None:
    v = np.eye(3, dtype=np.float32)
    assert mean_pairwise_cosine(v) == pytest.approx(0.0)
    assert mean_pairwise_cosine(np.ones((4, 2)) / np.sqrt(2)) == pytest.approx(1.0)
    assert mean_pairwise_cosine(v[:1]) is None


def fake_engine(settings: Settings) -> Engine:
    assert settings.llm.lora_path == "none"  # --adapter none reaches the settings the engine is built from
    return engine_for(GOOD_DESC)


def test_cli_filters_by_ids_and_prints_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", f"{__name__}:fake_engine")
    products = tmp_path / "products.jsonl"
    products.write_text("\n".join(p.model_dump_json() for p in (PRODUCT, OTHER)) + "\n", encoding="utf-8")
    ids = tmp_path / "ids.txt"
    ids.write_text("# held out\npuzzle-2\n", encoding="utf-8")
    runs = tmp_path / "runs.jsonl"
    res = CliRunner().invoke(app, ["evaluate", "--products", str(products), "--ids", str(ids), "--adapter", "none",
                                   "--candidates", "1", "--runs", str(runs), "--quiet"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["products"] == 1 and out["adapter"] == "none" and out["channels"] == ["product_description"]
    assert [json.loads(line)["product_id"] for line in runs.read_text().splitlines()] == ["puzzle-2"]


def test_cli_unknown_ids_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_ENGINE_FACTORY", f"{__name__}:fake_engine")
    products = tmp_path / "products.jsonl"
    products.write_text(PRODUCT.model_dump_json() + "\n", encoding="utf-8")
    ids = tmp_path / "ids.txt"
    ids.write_text("nope\n", encoding="utf-8")
    res = CliRunner().invoke(app, ["evaluate", "--products", str(products), "--ids", str(ids)])
    assert res.exit_code != 0 and "none of the 1 ids" in res.output
