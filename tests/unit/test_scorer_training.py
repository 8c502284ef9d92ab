"""Scorer training: A/B-log reading, a synthetic log with a known answer, CVR, determinism.

A deterministic hash embedder stands in for MiniLM here (an Embedder-shaped test double: random
unit vectors per text), so these tests are fast and the only signal the model can find is the
one planted in the synthetic log.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from copyloop.agents.scorer import ConversionScorer
from copyloop.agents.scorer_artifact import dumps_artifact, load_artifact, save_artifact
from copyloop.errors import InputError
from copyloop.training.ab_log import read_ab_log
from copyloop.training.pairs import variants_from_rows, within_test_pairs
from copyloop.training.scorer_train import TrainConfig, train_scorer

WORDS = (
    "garden kettle jacket lamp river puzzle candle blanket wallet mirror basket pillow ladder "
    "teapot helmet glove scarf blender compass tent kayak drone camera speaker notebook pencil "
    "sofa rug clock vase bottle mug towel soap brush comb jar bowl plate fork spoon knife"
).split()


class HashEmbedder:
    """Deterministic pseudo-embeddings: one random unit vector per distinct text."""

    dim = 384

    def encode(self, texts, batch_size: int = 64) -> np.ndarray:  # noqa: ANN001
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for k, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little")
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[k] = v / np.linalg.norm(v)
        return out


def _phrase(rng: np.random.Generator, n: int = 6) -> str:
    return " ".join(rng.choice(WORDS, size=n)).capitalize()


def _write_csv(path: Path, rows: list[dict]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def _question_log(path: Path, tests: int = 240, p_question_wins: float = 0.8, seed: int = 1) -> Path:
    """Two variants per test, one a question; the question truly wins in p_question_wins of tests."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(tests):
        q_wins = rng.random() < p_question_wins
        n = 200_000
        ctr_q, ctr_p = (0.03, 0.02) if q_wins else (0.02, 0.03)
        rows.append({"test_id": f"t{t}", "headline": _phrase(rng) + "?", "impressions": n, "clicks": int(n * ctr_q)})
        rows.append({"test_id": f"t{t}", "headline": _phrase(rng) + ".", "impressions": n, "clicks": int(n * ctr_p)})
    return _write_csv(path, rows)


@pytest.fixture(scope="module")
def question_model(tmp_path_factory: pytest.TempPathFactory) -> ConversionScorer:
    path = _question_log(tmp_path_factory.mktemp("ab") / "q.csv")
    artifact, _ = train_scorer(read_ab_log(path), HashEmbedder(), TrainConfig(seed=0))
    return ConversionScorer(artifact, embedder=HashEmbedder())


# -- reading ---------------------------------------------------------------------------------
def test_reads_upworthy_style_headline_column_and_reports_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text(
        "Test_ID,Headline,Impressions,Clicks\n"
        "a,First headline,1000,10\n"
        "a,Second headline,1000.0,\"12\"\n"
        "a,Broken clicks,100,200\n"
        "b,,100,1\n"
        "b,Not a number,lots,1\n"
        "b,Half a click,100,1.5\n",
        encoding="utf-8",
    )
    log = read_ab_log(path)
    assert [r.text for r in log.rows] == ["First headline", "Second headline"]
    assert log.outcome == "ctr"
    assert [e.line for e in log.errors] == [4, 5, 6, 7]
    assert "exceed impressions" in log.errors[0].error
    assert "text" in log.errors[1].error
    assert "not a number" in log.errors[2].error
    assert "whole number" in log.errors[3].error


def test_missing_column_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("test_id,text,clicks\na,x,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="impressions"):
        read_ab_log(path)


def test_jsonl_with_conversions_uses_cvr_and_flags_rows_without_them(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    lines = [
        {"test_id": "a", "text": "One", "impressions": 100, "clicks": 9, "conversions": 2, "channel": "email_subject"},
        {"test_id": "a", "text": "Two", "impressions": 100, "clicks": 5, "conversions": 4},
        {"test_id": "a", "text": "Three", "impressions": 100, "clicks": 5},
    ]
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n", encoding="utf-8")
    log = read_ab_log(path)
    assert log.outcome == "cvr"
    assert [r.successes("cvr") for r in log.rows] == [2, 4]
    assert log.rows[0].channel == "email_subject"
    assert sorted(e.line for e in log.errors) == [3, 4]


def test_identical_headlines_are_pooled_not_paired(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "log.csv",
        [
            {"test_id": "a", "text": "Same words", "impressions": 100, "clicks": 5},
            {"test_id": "a", "text": "Same  words ", "impressions": 100, "clicks": 9},  # other image, same headline
            {"test_id": "a", "text": "Other words", "impressions": 100, "clicks": 1},
            {"test_id": "b", "text": "Only one", "impressions": 100, "clicks": 1},
        ],
    )
    variants = variants_from_rows(read_ab_log(path).rows)
    assert [(v.text, v.impressions, v.successes) for v in variants[:2]] == [("Same words", 200, 14), ("Other words", 100, 1)]
    pairs = within_test_pairs(variants)
    assert len(pairs) == 1 and pairs.z[0] > 0


def test_log_without_comparable_variants_is_refused(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "log.csv", [{"test_id": "a", "text": "x", "impressions": 10, "clicks": 1}])
    with pytest.raises(InputError, match="nothing to compare"):
        train_scorer(read_ab_log(path), HashEmbedder())


# -- learning ---------------------------------------------------------------------------------
def test_learns_the_planted_feature_with_calibrated_probability(question_model: ConversionScorer) -> None:
    rng = np.random.default_rng(99)
    probs = [question_model.win_probability(_phrase(rng) + "?", _phrase(rng) + ".") for _ in range(40)]
    # the question variant truly wins 80% of (significant) tests
    assert 0.7 <= float(np.mean(probs)) <= 0.9
    q, plain = question_model.score(["Garden lamp river tent?", "Garden lamp river tent."])
    assert q.score > plain.score
    assert "+ question" in q.explanation
    assert question_model.win_probability("Same text", "Same text") == pytest.approx(0.5)


def test_conversions_decide_when_present(tmp_path: Path) -> None:
    """'!' variants get more clicks but fewer conversions: CVR training must prefer the calm ones."""
    rng = np.random.default_rng(3)
    rows = []
    for t in range(80):
        rows.append({"test_id": f"t{t}", "text": _phrase(rng) + "!", "impressions": 50_000, "clicks": 2500, "conversions": 100})
        rows.append({"test_id": f"t{t}", "text": _phrase(rng) + ".", "impressions": 50_000, "clicks": 1500, "conversions": 250})
    with_conv = _write_csv(tmp_path / "cvr.csv", rows)
    without = _write_csv(tmp_path / "ctr.csv", [{k: v for k, v in r.items() if k != "conversions"} for r in rows])
    cvr_art, _ = train_scorer(read_ab_log(with_conv), HashEmbedder())
    ctr_art, _ = train_scorer(read_ab_log(without), HashEmbedder())
    assert cvr_art.outcome == "cvr" and ctr_art.outcome == "ctr"
    a, b = "Kettle lamp sofa rug!", "Kettle lamp sofa rug."
    assert ConversionScorer(cvr_art, embedder=HashEmbedder()).win_probability(a, b) < 0.4
    assert ConversionScorer(ctr_art, embedder=HashEmbedder()).win_probability(a, b) > 0.6


def test_training_is_deterministic_and_round_trips(tmp_path: Path) -> None:
    path = _question_log(tmp_path / "q.csv", tests=40)
    first, _ = train_scorer(read_ab_log(path), HashEmbedder(), TrainConfig(seed=5))
    second, _ = train_scorer(read_ab_log(path), HashEmbedder(), TrainConfig(seed=5))
    assert dumps_artifact(first) == dumps_artifact(second)
    saved = save_artifact(first, tmp_path / "a.json")
    again = save_artifact(load_artifact(saved), tmp_path / "b.json")
    assert saved.read_bytes() == again.read_bytes()


def test_long_text_gets_a_graded_score_not_0_or_1(question_model: ConversionScorer) -> None:
    long_text = " ".join(["This sturdy kettle boils water fast and keeps the handle cool to the touch."] * 10) + " Why wait?"
    (res,) = question_model.score([long_text])
    assert 0.02 < res.score < 0.98
    assert "-word texts it learned from" in res.explanation


def test_reference_copy_becomes_the_typical_competitor(tmp_path: Path) -> None:
    path = _question_log(tmp_path / "q.csv", tests=60)
    rng = np.random.default_rng(7)
    shop = [_phrase(rng, 30) + ("?" if k % 3 == 0 else ".") for k in range(60)]
    artifact, _ = train_scorer(read_ab_log(path), HashEmbedder(), reference_texts={"shop_copy": shop, "too_few": ["x"]})
    assert set(artifact.reference) == {"*", "shop_copy"} == set(artifact.baselines)
    scorer = ConversionScorer(artifact, embedder=HashEmbedder())
    # against its own distribution, the average reference text wins about half the time
    mean = float(np.mean([r.score for r in scorer.score(shop, channel="shop_copy")]))
    assert abs(mean - 0.5) < 0.05
    assert scorer.score([shop[0]], channel="shop_copy")[0].explanation.endswith("[vs typical shop_copy copy]")
