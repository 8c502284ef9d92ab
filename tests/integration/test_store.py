"""The retrieval store on real ChromaDB (embedded and server) with the real MiniLM embedder."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Iterator

import pytest

from copyloop.tools.embeddings import Embedder, load_embedder
from copyloop.tools.store import CopyStore, PastCopy, StoreError, load_bundled_exemplars

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return load_embedder()


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> CopyStore:
    store = CopyStore(path=tmp_path_factory.mktemp("chroma"), embedder=embedder)
    assert store.count() == 0
    assert store.ensure_seeded() == len(load_bundled_exemplars())
    return store


def test_seeding_happens_once_and_persists(seeded: CopyStore, embedder: Embedder) -> None:
    n = seeded.count()
    assert n == len(load_bundled_exemplars()) and seeded.ensure_seeded() == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # our embedding function is a complete, non-legacy one
        reopened = CopyStore(path=seeded.path, embedder=embedder)
    assert reopened.count() == n and reopened.ensure_seeded() == 0
    assert reopened.search("wooden blocks", channel="amazon_title", k=1)


def test_search_filters_by_channel_and_prefers_the_category(seeded: CopyStore) -> None:
    for channel in ("google_ads_headline", "amazon_bullet", "sms"):
        hits = seeded.search("soft cozy cardigan sweater", channel=channel, category="Clothing, Shoes & Jewelry | Women", k=4)
        assert len(hits) == 4
        assert {h.channel for h in hits} == {channel}
        assert len({h.text for h in hits}) == 4
        same = [h.same_category for h in hits]
        assert same[0] and same == sorted(same, reverse=True)  # category matches first, then the channel fills up
        assert all(h.category.startswith("Clothing") for h in hits if h.same_category)
    # the category wins over the query's topic when both are given
    hits = seeded.search("wooden stacking blocks for toddlers", channel="product_description", category="Electronics", k=2)
    assert hits[0].category == "Electronics"
    # without a category, the most similar copy of the channel comes first
    top = seeded.search("wooden stacking blocks for toddlers", channel="amazon_title", k=3)
    assert "Blocks" in top[0].text
    assert seeded.search("anything", channel="no_such_channel") == []
    assert seeded.search("  ", channel="sms") == []


def test_high_performers_rank_first_and_ctr_is_a_channel_percentile(seeded: CopyStore) -> None:
    low = PastCopy(text="Warm wool socks for cold feet", channel="test_socks", category="Clothing", ctr=0.010)
    high = PastCopy(text="Wool socks that keep feet warm", channel="test_socks", category="Clothing", ctr=0.050)
    assert seeded.add([low, high]) == 2
    hits = seeded.search("wool socks", channel="test_socks", k=2)
    assert [h.text for h in hits] == [high.text, low.text]
    assert hits[0].performance > hits[1].performance
    # a better record arrives: percentiles are recomputed for the whole channel
    best = PastCopy(text="Thick socks for winter walks", channel="test_socks", category="Clothing", ctr=0.2)
    seeded.add([best])
    perf = {h.text: h.performance for h in seeded.search("socks", channel="test_socks", k=3)}
    assert perf[best.text] > perf[high.text] > perf[low.text]
    # an explicit score is used as it is
    seeded.add([PastCopy(text="Socks scored by a person", channel="test_socks", score=0.9)])
    scored = [h for h in seeded.search("socks", channel="test_socks", k=4) if h.text == "Socks scored by a person"]
    assert scored and scored[0].performance == pytest.approx(0.9)


def test_reindexing_is_idempotent_and_dedupes(seeded: CopyStore) -> None:
    recs = [
        PastCopy(text="Gentle night light for nurseries", channel="test_dedupe", ctr=0.02),
        PastCopy(text="Gentle  night light for NURSERIES", channel="test_dedupe", ctr=0.02),  # same id
        PastCopy(text="Gentle night light for nurseries.", channel="test_dedupe", ctr=0.03),  # near-duplicate
        PastCopy(text="Bright bike lamp for dark commutes", channel="test_dedupe", ctr=0.01),
    ]
    first = seeded.add_report(recs)
    assert first.added == 3 and seeded.count("test_dedupe") == 3
    again = seeded.add_report(recs)
    assert again.added == 0 and again.updated == 0 and again.unchanged == 3
    assert seeded.count("test_dedupe") == 3
    changed = seeded.add_report([recs[3].model_copy(update={"ctr": 0.5, "category": "Sports"})])
    assert changed.updated == 1 and changed.added == 0
    hits = seeded.search("night light", channel="test_dedupe", k=3)
    assert len(hits) == 2, "near-identical copy is returned once"
    assert seeded.delete("test_dedupe") == 3 and seeded.count("test_dedupe") == 0
    # a caller-given id whose text and outcome change is re-embedded, not duplicated
    seeded.add([PastCopy(id="sku-1-ad", text="Old line about lamps", channel="test_dedupe", ctr=0.01)])
    seeded.add([PastCopy(id="sku-1-ad", text="New line about lanterns", channel="test_dedupe", score=0.8)])
    (hit,) = seeded.search("lantern", channel="test_dedupe", k=3)
    assert hit.text == "New line about lanterns" and hit.performance == pytest.approx(0.8)
    seeded.delete("test_dedupe")


def test_store_errors(tmp_path: Path, embedder: Embedder) -> None:
    afile = tmp_path / "file"
    afile.write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        CopyStore(path=afile, embedder=embedder)
    with pytest.raises(StoreError, match="cannot reach"):
        CopyStore(url="http://127.0.0.1:9", embedder=embedder)


def test_processes_opening_a_fresh_store_at_once(tmp_path: Path) -> None:
    """Batch workers open the same embedded store together; Chroma's own setup races without our lock."""
    code = "import sys; from copyloop.tools.store import CopyStore; print(CopyStore(path=sys.argv[1]).count())"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "db")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err[-500:] for _, err in outs]
    assert [out.strip() for out, _ in outs] == ["0", "0"]


# ------------------------------------------------------------------------------ server mode
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    if not Path(exe).exists():
        pytest.skip("the chroma server command is not installed")
    port = _free_port()
    proc = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("chroma server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_http_client_against_a_real_server(chroma_server: str, embedder: Embedder) -> None:
    store = CopyStore(url=chroma_server, embedder=embedder)
    assert store.path is None and store.count() == 0
    store.add([
        PastCopy(text="Trail shoes that grip wet rock", channel="google_ads_headline", category="Sports & Outdoors", ctr=0.05),
        PastCopy(text="Cozy throw for movie nights", channel="google_ads_headline", category="Home & Kitchen", ctr=0.04),
    ])
    hits = CopyStore(url=chroma_server, embedder=embedder).search("hiking shoes", channel="google_ads_headline", k=1)
    assert [h.text for h in hits] == ["Trail shoes that grip wet rock"]


# ------------------------------------------------------------------------------ the CLI
def test_index_command(tmp_path: Path, embedder: Embedder, _isolated_home: Path) -> None:
    from typer.testing import CliRunner

    from copyloop.cli import app

    csv_file = tmp_path / "past.csv"
    csv_file.write_text(
        "text,channel,category,ctr,score\n"
        "Snug fleece for chilly mornings,google_ads_headline,Clothing,0.041,\n"
        ",google_ads_headline,Clothing,0.02,\n"  # line 3: no text
        "Kettle that whistles,google_ads_headline,Home & Kitchen,1.7,\n"  # line 4: ctr out of range
        "Pocket torch for camping,tiktok,Sports,0.03,\n"  # line 5: unknown channel
        "Lunch box kids love,google_ads_headline,Home & Kitchen,3.5%,\n"
        "Calm bath time for babies,email_subject,Baby Products,,0.7\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(app, ["index", str(csv_file)])
    assert result.exit_code == 2, result.output
    errors = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    assert [e["line"] for e in errors] == [3, 4, 5]
    assert "text" in errors[0]["error"] and "ctr" in errors[1]["error"] and "tiktok" in errors[2]["error"]
    assert "Indexed 3 records" in result.stdout and "3 bad rows" in result.stdout

    jsonl = tmp_path / "past.jsonl"
    jsonl.write_text(
        json.dumps({"text": "Snug fleece for chilly mornings", "category": "Clothing", "ctr": 0.041}) + "\n"
        + json.dumps({"text": "Soft socks, warm toes", "clicks": 30, "impressions": 1000}) + "\n",
        encoding="utf-8",
    )
    again = runner.invoke(app, ["index", str(jsonl), "--channel", "google_ads_headline", "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    # the fleece line is already indexed: only its source (the file name) is relabelled
    assert summary["added"] == 1 and summary["updated"] == 1 and summary["total_in_store"] == 4
    rerun = json.loads(runner.invoke(app, ["index", str(jsonl), "--channel", "google_ads_headline", "--json"]).stdout)
    assert rerun["added"] == 0 and rerun["updated"] == 0 and rerun["unchanged"] == 2

    replaced = runner.invoke(app, ["index", str(jsonl), "--channel", "google_ads_headline", "--replace", "--json"])
    summary = json.loads(replaced.stdout)
    assert summary["removed"] == 3 and summary["total_in_store"] == 3  # the email_subject record stays

    missing = runner.invoke(app, ["index", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "does not exist" in missing.stderr
    unknown = runner.invoke(app, ["index", str(jsonl), "--channel", "fax"])
    assert unknown.exit_code == 2 and "Unknown channel" in unknown.stderr
