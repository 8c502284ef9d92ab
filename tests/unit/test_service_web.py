"""The workbench's fragments through TestClient: session actions, the event stream, catalogs, batches.

The browser itself is tested end to end in tests/integration/test_service_browser.py; here each
htmx request a page makes is sent directly and its HTML checked.
"""

from __future__ import annotations

import json
from pathlib import Path

from service_client import make_client, sse_events
from service_fakes import PRODUCT

FORM = {"title": PRODUCT["title"], "category": PRODUCT["category"], "facts": "\n".join(PRODUCT["facts"]),
        "channels": ["product_description"], "seed": "0"}
HX = {"HX-Request": "true"}


def _run(c, html: str) -> tuple[list[tuple[str, str]], str]:
    """Follow the run panel's event stream to its end; returns the events and the session id."""
    url = html.split('sse-connect="', 1)[1].split('"', 1)[0]
    events = sse_events(c.get(url).text)
    assert events[-1][0] == "end", events
    sid = html.split('id="session-', 1)[1].split('"', 1)[0]
    return events, sid


def test_say_variants_pick_check_edit_and_undo_from_the_panel(tmp_path: Path) -> None:
    with make_client(tmp_path, keys=None) as c:
        events, sid = _run(c, c.post("/ui/runs", data=FORM, headers=HX).text)
        first = events[-1][1]
        assert "v0" in first and "start" in first

        said = c.post(f"/ui/sessions/{sid}/say", data={"text": "shorter"}, headers=HX)
        assert said.status_code == 200 and "revision" in said.text
        events, _ = _run(c, said.text)
        statuses = [d for n, d in events if n == "status"]
        assert any("round 1" in s for s in statuses)
        assert "say “shorter”" in events[-1][1]

        refused = c.post(f"/ui/sessions/{sid}/say", data={"text": "mention the 2-year warranty"}, headers=HX)
        events, _ = _run(c, refused.text)
        assert "Refused" in events[-1][1]  # the panel explains, the draft is kept

        events, _ = _run(c, c.post(f"/ui/sessions/{sid}/variants", data={"n": "2"}, headers=HX).text)
        panel = events[-1][1]
        assert "Side by side" in panel and "Use this" in panel
        index = int(panel.split('hx-vals=\'{"index": ', 1)[1].split("}", 1)[0])
        picked = c.post(f"/ui/sessions/{sid}/pick", data={"index": str(index)}, headers=HX)
        assert picked.status_code == 200 and f"v{index}" in picked.text

        text = ("The Bamboo Cutting Board is made of bamboo, comes in three sizes and has a juice groove around the edge. "
                "It is dishwasher safe, so cleanup is quick after every meal. It looks warm on any counter and suits "
                "busy home kitchens every day. Order yours today and enjoy simpler cooking.")
        verdict = c.post(f"/ui/sessions/{sid}/check", data={"text": text}, headers=HX)
        assert verdict.status_code == 200 and "Accept this text" in verdict.text and "grounding" in verdict.text
        invented = c.post(f"/ui/sessions/{sid}/check", data={"text": text + " Rated 4.9 stars by 20,000 cooks."}, headers=HX)
        assert "cannot be accepted" in invented.text
        accepted = c.post(f"/ui/sessions/{sid}/edit", data={"text": text}, headers=HX)
        assert "accepted (your edit)" in accepted.text and "Your edited text is accepted" in accepted.text

        undone = c.post(f"/ui/sessions/{sid}/undo", headers=HX)
        assert undone.status_code == 200 and "Current draft" in undone.text
        blank = c.post(f"/ui/sessions/{sid}/say", data={"text": " "}, headers=HX)
        assert blank.status_code == 422 and "Current draft" in blank.text and "Say what to change" in blank.text
        assert c.post("/ui/sessions/" + "0" * 32 + "/accept", headers=HX).status_code == 404


def test_a_reconnecting_stream_does_not_repeat_rounds(tmp_path: Path) -> None:
    with make_client(tmp_path, keys=None) as c:
        html = c.post("/ui/runs", data=FORM, headers=HX).text
        url = html.split('sse-connect="', 1)[1].split('"', 1)[0]
        whole = c.get(url).text
        ids = [int(line[3:].strip()) for line in whole.splitlines() if line.startswith("id:")]
        assert ids == sorted(ids) and len(ids) >= 3
        rest = c.get(url, headers={"Last-Event-ID": str(ids[-2])}).text
        assert [int(line[3:].strip()) for line in rest.splitlines() if line.startswith("id:")] == [ids[-1]]
        gone = sse_events(c.get("/ui/runs/" + "a" * 32 + "/events").text)
        assert gone[-1][0] == "end" and "no longer known" in gone[-1][1]


class InstantLauncher:
    """A batch 'child' that finishes at once with a summary (the real child is tested elsewhere)."""

    class Done:
        pid, returncode = 0, 0

        def poll(self):
            return 0

        def wait(self, timeout=None):
            return 0

        def terminate(self):
            pass

        def kill(self):
            pass

    def __call__(self, spec_path: Path, log_path: Path):
        spec = json.loads(spec_path.read_text())
        summary = {"items": 2, "done": 2, "skipped": 0, "failed": 0, "bad_rows": 1, "mean_score": 0.61, "pass_rate": 0.5}
        (spec_path.parent / "summary.json").write_text(json.dumps(summary))
        Path(spec["out"]).write_text('{"product_id": "b1"}\n')
        return self.Done()


def test_catalog_picker_and_batch_rows(tmp_path: Path) -> None:
    csv = "id,title,category,price,facts\nb1,Bamboo Cutting Board,Home,$24.99,made of bamboo | dishwasher safe\nb2,,Home,,x\n"
    with make_client(tmp_path, keys=None, launcher=InstantLauncher()) as c:
        r = c.post("/ui/catalogs", files={"file": ("shop.csv", csv.encode(), "text/csv")}, headers=HX)
        assert r.status_code == 200 and "1 products" in r.text and "1 rows skipped" in r.text
        cid = r.text.split('name="catalog_id" value="', 1)[1].split('"', 1)[0]
        picker = c.get(f"/ui/catalogs/{cid}/products", params={"q": "bamboo"})
        assert "Bamboo Cutting Board" in picker.text
        form = c.get(f"/ui/catalogs/{cid}/products/b1/form")
        assert 'value="Bamboo Cutting Board"' in form.text and "dishwasher safe" in form.text
        bad = c.post("/ui/catalogs", files={"file": ("x.txt", b"hello", "text/plain")}, headers=HX)
        assert bad.status_code == 422 and "catalog must be" in bad.text

        row = c.post("/ui/batches", data={"catalog_id": cid, "channels": ["product_description", "sms"], "diversity": "1"}, headers=HX)
        assert row.status_code == 200 and "shop.csv" in row.text
        bid = row.text.split('id="batch-', 1)[1].split('"', 1)[0]
        for _ in range(100):
            row = c.get(f"/ui/batches/{bid}")
            if "done" in row.text:
                break
        assert "hx-trigger" not in row.text  # finished: the row stops polling
        assert "results" in row.text and "mean score 0.61" in row.text
        assert c.get(f"/ui/batches/{bid}/results").status_code == 200
        assert c.post("/ui/batches", data={"catalog_id": cid}, headers=HX).status_code == 422  # no channel
        assert c.post(f"/v1/batches/{bid}/resume").json()["status"] in ("queued", "running", "done")
        page = c.get("/").text
        assert "shop.csv" in page and f'id="batch-{bid}"' in page


def test_a_busy_model_keeps_the_panel_and_says_so(tmp_path: Path) -> None:
    from service_fakes import GatedLLM, service_engine

    from copyloop.settings import Settings

    llm = GatedLLM()
    llm.gate.set()
    with make_client(tmp_path, keys=None, engine=service_engine(Settings(home=tmp_path), llm=llm), max_pending=1) as c:
        _, sid = _run(c, c.post("/ui/runs", data=FORM, headers=HX).text)
        llm.gate.clear()
        llm.started.clear()
        first = c.post(f"/ui/sessions/{sid}/say", data={"text": "shorter"}, headers=HX)
        assert first.status_code == 200
        assert llm.started.wait(30)  # the revision holds the only slot, waiting for the model
        busy = c.post(f"/ui/sessions/{sid}/variants", data={"n": "2"}, headers=HX)
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        assert "model is busy" in busy.text and "Current draft" in busy.text  # the panel stays, with the note
        llm.gate.set()
        events, _ = _run(c, first.text)
        assert "say “shorter”" in events[-1][1]
