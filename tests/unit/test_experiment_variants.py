"""Variants from the loop: passing candidates only, diversified by MMR (fake LLM, no model)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from experiment_fakes import HEADLINES, PRODUCT, headline_engine

from copyloop import Experiment
from copyloop.experiments.variants import Candidate, mmr_select, variants_from_loop
from copyloop.settings import Settings

TOY = {
    "same text here": [1.0, 0.0, 0.0],
    "near copy of it": [0.99, 0.14, 0.0],  # cosine 0.99 with the first
    "a groove": [0.0, 1.0, 0.0],
    "something else": [0.5, 0.0, 0.87],
}


def toy_embed(texts: list[str]) -> np.ndarray:
    vecs = np.array([TOY[" ".join(t.casefold().split())] for t in texts], dtype=float)
    return vecs / np.linalg.norm(vecs, axis=1, keepdims=True)


def test_mmr_prefers_score_but_skips_near_duplicates_and_existing_texts() -> None:
    pool = [Candidate("same text here", 0.9), Candidate("Same  text here", 0.95), Candidate("near copy of it", 0.85),
            Candidate("a groove", 0.5), Candidate("something else", 0.4)]
    picked = [c.text for c in mmr_select(pool, 3, toy_embed)]
    assert picked == ["Same  text here", "a groove", "something else"]  # one per normalised text; no near copy
    again = [c.text for c in mmr_select(pool, 3, toy_embed, existing=["same text here"])]
    assert again == ["a groove", "something else"]
    assert mmr_select([], 3, toy_embed) == []


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


def test_variants_from_the_loop_pass_every_rule_and_differ(settings: Settings) -> None:
    engine = headline_engine(settings)
    picked = variants_from_loop(engine, PRODUCT, "google_ads_headline", 3)
    texts = [c.text for c in picked]
    assert len(texts) == 3 and HEADLINES[4] not in texts
    assert not {HEADLINES[0], HEADLINES[1]} <= set(texts)
    emb = engine.cached_embedder.encode(texts)
    sims = emb @ emb.T
    assert (sims[np.triu_indices(3, 1)] < settings.refine.similarity_max).all()


def test_create_without_texts_uses_the_loop_and_records_its_scores(settings: Settings) -> None:
    exp = Experiment.create(PRODUCT, "google_ads_headline", variants=2, control="Bamboo Cutting Board, 3 Sizes",
                            settings=settings, engine=headline_engine(settings))
    arms = exp.variants()
    assert [a.variant_id for a in arms] == ["v0", "v1", "v2"]
    assert arms[0].is_control and arms[0].source == "control"
    assert all(a.source == "loop" and a.predicted_score is not None and len(a.text) <= 30 for a in arms[1:])
    report = exp.refresh(1, engine=headline_engine(settings))  # fresh variants differ from every text already run
    assert len(report.added) == 1 and report.added[0].text not in {a.text for a in arms}
