"""Catalog-level diversity: similarity figures, near-duplicates, stock phrases (real MiniLM)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from copyloop.batch.diversity import CopyItem, analyse_catalog, contains_phrase, max_similarity_to
from copyloop.tools.embeddings import load_embedder

TWIN = "Bright wooden blocks that stack high and spark hours of imaginative building for little hands."
TEXTS = {
    "p1": TWIN,
    "p2": TWIN.replace("Bright", "Colourful"),
    "p3": TWIN.replace("little hands", "small hands"),
    "p4": "A soft fleece hoodie for cool evenings, cut loose with a roomy front pocket. Grab yours today.",
    "p5": "Keep drinks icy on the trail with this steel bottle. Grab yours today, friend.",
    "p6": "Plan weekly meals on a magnetic fridge board. Grab yours today and stay organised.",
    "p7": "A garden hose reel that winds neatly away. Grab yours today.",
    "p8": "Acme Rocket Kit: Acme Rocket Kit launches into the blue sky.",
    "p9": "Acme Rocket Kit for the whole family: the blue sky is calling.",
    "p10": "Acme Rocket Kit again: bright fun under the blue sky.",
}


@pytest.fixture(scope="module")
def embedder():
    return load_embedder()


def _items() -> list[CopyItem]:
    items = [CopyItem(pid, "product_description", t, source_text=f"title {pid}") for pid, t in TEXTS.items()]
    for pid in ("p8", "p9", "p10"):  # their own product text names the brand: not a stock phrase
        items[list(TEXTS).index(pid)] = CopyItem(pid, "product_description", TEXTS[pid], "Acme Rocket Kit toy")
    return items


def test_mean_similarity_matches_brute_force(embedder) -> None:
    items = _items()
    report = analyse_catalog(items, embedder, similarity_max=0.9).report
    vecs = embedder.encode([i.text for i in items])
    sims = [float(vecs[a] @ vecs[b]) for a, b in itertools.combinations(range(len(items)), 2)]
    assert report.mean_similarity == pytest.approx(np.mean(sims), abs=1e-3)
    assert report.max_similarity == pytest.approx(max(sims), abs=1e-3)
    assert report.per_channel["product_description"] == pytest.approx(report.mean_similarity, abs=1e-3)


def test_near_duplicate_cluster_costs_k_minus_one_redrafts(embedder) -> None:
    analysis = analyse_catalog(_items(), embedder, similarity_max=0.9)
    twins = {i for i, f in analysis.flags.items() if any("reads like" in r for r in f.reasons)}
    assert analysis.report.near_duplicates >= 2
    assert twins & {0, 1, 2} == {1, 2}  # p1 keeps its copy, p2 and p3 are re-drafted
    for i in twins:
        assert 0 in analysis.flags[i].neighbours or (3 - i) in analysis.flags[i].neighbours
        assert analysis.flags[i].max_similarity > 0.9


def test_stock_phrase_flags_users_beyond_the_first_two(embedder) -> None:
    analysis = analyse_catalog(_items(), embedder, similarity_max=0.99, phrase_min_products=3, phrase_keep=2)
    top = {p.phrase: p.texts for p in analysis.report.top_phrases}
    assert top.get("grab yours today") == 4
    flagged = {i for i, f in analysis.flags.items() if "grab yours today" in f.phrases}
    assert flagged == {5, 6}  # p4 and p5 keep it; p6 and p7 are asked to drop it
    assert any("stock phrases" in r for r in analysis.flags[5].reasons)
    # the brand repeated by the products that carry it is not a stock phrase
    assert "acme rocket kit" not in top
    assert not any("acme rocket kit" in f.phrases for f in analysis.flags.values())


def test_channels_are_compared_separately(embedder) -> None:
    items = [CopyItem("a", "sms", TWIN), CopyItem("a", "product_description", TWIN), CopyItem("b", "sms", TEXTS["p4"])]
    analysis = analyse_catalog(items, embedder, similarity_max=0.9)
    assert analysis.report.near_duplicates == 0  # the same product's two channels never compete
    assert set(analysis.report.per_channel) == {"sms"}


def test_empty_and_single_catalog(embedder) -> None:
    assert analyse_catalog([], embedder, 0.9).report.mean_similarity is None
    one = analyse_catalog([CopyItem("a", "sms", "hello there")], embedder, 0.9)
    assert one.report.mean_similarity is None and one.flags == {}


def test_helpers(embedder) -> None:
    assert contains_phrase("Grab YOURS, today!", "grab yours today")
    assert not contains_phrase("grab yours todayish", "grab yours today")
    assert max_similarity_to("x", [], embedder) == 0.0
    assert max_similarity_to(TWIN, [TWIN, TEXTS["p4"]], embedder) == pytest.approx(1.0, abs=1e-4)
