"""The HTTP API (copyloop/service) through FastAPI's TestClient, with the real Engine and a fake LLM.

Everything but the language model, the scorer and the embedder is real: the refinement graph,
critics, channel rules, chat sessions with their SQLite checkpointer, the service ledger.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest
from service_client import AUTH, KEY, OTHER_KEY, make_client, sse_events
from service_fakes import PRODUCT, GatedLLM, service_engine

from copyloop.errors import InputError
from copyloop.service.security import check_bind
from copyloop.settings import Settings


# --- auth, binding, origins ---------------------------------------------------------------------


def test_only_healthz_is_open_and_a_wrong_or_missing_key_is_401(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with make_client(tmp_path) as c:
        assert c.get("/healthz").status_code == 200
        for path in ("/v1/channels", "/openapi.json", "/v1/batches", "/static/workbench.css"):
            r = c.get(path)
            assert r.status_code == 401, path
        assert c.get("/v1/channels", headers={"Authorization": "Bearer nope"}).status_code == 401
        assert c.get("/v1/channels", headers={"Authorization": KEY}).status_code == 401  # no scheme
        r = c.post("/v1/refine", json={"product": PRODUCT})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert c.get("/v1/channels", headers=AUTH).status_code == 200
        assert c.get("/v1/channels", headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 200
        assert c.get("/openapi.json", headers=AUTH).status_code == 200
        # a browser without a login is sent to the login page
        r = c.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/login").status_code == 200
    assert KEY not in caplog.text and OTHER_KEY not in caplog.text


def test_login_cookie_opens_the_workbench_but_not_the_json_api(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        r = c.post("/login", data={"key": "wrong"}, follow_redirects=False)
        assert r.status_code == 401 and "not valid" in r.text
        r = c.post("/login", data={"key": KEY}, follow_redirects=False)
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie
        page = c.get("/")
        assert page.status_code == 200 and "Write copy" in page.text
        assert c.get("/static/workbench.css").status_code == 200
        assert c.get("/v1/channels").status_code == 401  # the cookie is not an API key
        c.post("/logout", follow_redirects=False)
        assert c.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303


def test_without_keys_only_loopback_may_listen_or_call(tmp_path: Path) -> None:
    for host in ("127.0.0.1", "::1", "localhost", "[::1]"):
        check_bind(host, [])
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(InputError, match="COPYLOOP_API_KEYS"):
            check_bind(host, [])
        check_bind(host, ["a-key"])
    with make_client(tmp_path, keys=None) as c:  # loopback peer, no key needed
        assert c.get("/v1/channels").status_code == 200
        assert c.get("/").status_code == 200
    with make_client(tmp_path / "2", keys=None, peer="10.1.2.3") as c:
        assert c.get("/v1/channels").status_code == 403
        assert c.get("/healthz").status_code == 403


def test_serve_command_refuses_a_public_address_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from copyloop.cli import app

    monkeypatch.delenv("COPYLOOP_API_KEYS", raising=False)
    result = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "refusing to listen" in result.output and "COPYLOOP_API_KEYS" in result.output


def test_cross_site_writes_are_refused(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        r = c.post("/v1/rank", headers={**AUTH, "Origin": "http://evil.example"}, json={"candidates": [{"text": "a", "score": 0.5}]})
        assert r.status_code == 403
        r = c.post("/v1/rank", headers={**AUTH, "Origin": "http://testserver"}, json={"candidates": [{"text": "a", "score": 0.5}]})
        assert r.status_code == 200


# --- bad input, size and rate limits ------------------------------------------------------------


@pytest.mark.parametrize(
    "body, where",
    [
        ({}, "product: Field required"),
        ({"product": {"title": ""}}, "product.title"),
        ({"product": {"title": "   "}}, "title is required"),
        ({"product": {"title": "Board", "facts": 5}}, "product.facts"),
        ({"product": {"title": "Board", "facts": [{"a": 1}]}}, "product.facts.0"),
        ({"product": {"title": "Board"}, "threshold": 2}, "threshold"),
        ({"product": {"title": "Board"}, "candidates": 0}, "candidates"),
        ({"product": {"title": "Board"}, "seed": -1}, "seed"),
        ({"product": {"title": "Board"}, "channel": "tiktok"}, "Unknown channel 'tiktok'. Known channels: amazon_bullet"),
        ({"product": {"title": "Board"}, "surprise": 1}, "surprise: Extra inputs are not permitted"),
        ({"product": {"title": "Board", "warnings": ["x"]}}, "product.warnings"),
    ],
)
def test_bad_input_is_a_422_with_the_pydantic_message(tmp_path: Path, body: dict, where: str) -> None:
    with make_client(tmp_path) as c:
        for path in ("/v1/refine", "/v1/refine/stream"):
            r = c.post(path, headers=AUTH, json=body)
            assert r.status_code == 422, (path, r.text)
            payload = r.json()
            message = payload.get("message") or payload.get("detail")
            assert where in message, message


def test_malformed_json_and_wrong_content_type_are_4xx(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        r = c.post("/v1/refine", headers={**AUTH, "Content-Type": "application/json"}, content=b'{"product": ')
        assert r.status_code == 422 and "JSON" in r.text
        r = c.post("/v1/refine", headers={**AUTH, "Content-Type": "text/plain"}, content=json.dumps({"product": PRODUCT}))
        assert 400 <= r.status_code < 500


def test_bodies_over_the_limit_get_413(tmp_path: Path) -> None:
    with make_client(tmp_path, max_body_bytes=4096, max_upload_bytes=8192) as c:
        big = {"product": {"title": "Board", "description": "x" * 5000}}
        r = c.post("/v1/refine", headers=AUTH, json=big)
        assert r.status_code == 413 and "too large" in r.json()["detail"]

        def chunks():  # no Content-Length: counted while it streams in
            for _ in range(10):
                yield b" " * 1000
        r = c.post("/v1/refine", headers={**AUTH, "Content-Type": "application/json"}, content=chunks())
        assert r.status_code == 413
        r = c.post("/v1/catalogs", headers=AUTH, files={"file": ("c.csv", b"title\n" + b"Board\n" * 2000, "text/csv")})
        assert r.status_code == 413
        r = c.post("/v1/catalogs", headers=AUTH, files={"file": ("c.csv", b"title\nBoard\n", "text/csv")})
        assert r.status_code == 201  # uploads have their own, larger limit


def test_rate_limit_is_per_key(tmp_path: Path) -> None:
    with make_client(tmp_path, rate_limit="3/minute") as c:
        assert [c.get("/v1/channels", headers=AUTH).status_code for _ in range(3)] == [200, 200, 200]
        r = c.get("/v1/channels", headers=AUTH)
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert c.get("/v1/channels", headers={"Authorization": f"Bearer {OTHER_KEY}"}).status_code == 200
        assert c.get("/healthz").status_code == 200  # never limited


# --- refine and its stream ----------------------------------------------------------------------


def test_refine_returns_the_refine_result_and_the_stream_sends_each_round(tmp_path: Path) -> None:
    body = {"product": PRODUCT, "channel": "product_description", "max_iterations": 3, "candidates": 2, "seed": 7}
    with make_client(tmp_path) as c:
        plain = c.post("/v1/refine", headers=AUTH, json=body)
        assert plain.status_code == 200
        result = plain.json()
        assert {"text", "score", "passed", "stop_reason", "iterations", "critiques", "trace"} <= set(result)
        scores = result["trace"][0]["candidates"][0]["critic_scores"]
        assert {"diversity", "sentiment", "cta", "grounding", "channel_rules"} <= set(scores)

        streamed = c.post("/v1/refine/stream", headers=AUTH, json=body)
        assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/event-stream")
        events = sse_events(streamed.text)
        kinds = [k for k, _ in events]
        assert kinds[0] == "queued" and kinds[-1] == "result"
        rounds = [json.loads(d) for k, d in events if k == "round"]
        assert len(rounds) == result["iterations"]
        for rnd in rounds:
            assert rnd["candidates"], rnd
            for cand in rnd["candidates"]:
                assert cand["explanation"] and {c["critic"] for c in cand["critiques"]} >= {"grounding", "channel_rules"}
        final = json.loads(events[-1][1])
        assert final["text"] == result["text"] and final["score"] == result["score"]  # same seed, same copy
        assert [r["best_text"] for r in rounds] == [t["best_text"] for t in result["trace"]]


def test_healthz_answers_while_a_slow_model_call_runs(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    llm = GatedLLM()
    engine = service_engine(settings, llm=llm)
    with make_client(tmp_path, engine=engine) as c:
        answer: dict = {}
        worker = threading.Thread(target=lambda: answer.update(r=c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT})))
        worker.start()
        assert llm.started.wait(30), "the model call never started"
        # the model call cannot finish before the gate opens, so an answer now did not wait for it
        health = _answered(lambda: c.get("/healthz"))
        assert health.status_code == 200 and health.json()["busy"] is True and health.json()["pending"] == 1
        assert worker.is_alive() and not llm.gate.is_set()  # the model call is still running
        llm.gate.set()
        worker.join(60)
        assert answer["r"].status_code == 200
        assert c.get("/healthz").json()["busy"] is False


def test_a_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    llm = GatedLLM()
    with make_client(tmp_path, engine=service_engine(settings, llm=llm), max_pending=1) as c:
        first = threading.Thread(target=lambda: c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT}))
        first.start()
        assert llm.started.wait(30)
        r = c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT})
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"]
        r = c.post("/v1/sessions", headers=AUTH, json={"product": PRODUCT})
        assert r.status_code == 503
        llm.gate.set()
        first.join(60)
        assert c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT}).status_code == 200


def test_model_calls_never_overlap(tmp_path: Path) -> None:
    """Four concurrent requests: the LLM sees one generation at a time."""
    settings = Settings(home=tmp_path)
    engine = service_engine(settings)
    inner = engine.llm
    active, overlaps = [0], []
    lock = threading.Lock()
    original = inner.generate

    def counting(*a, **kw):
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        time.sleep(0.01)
        try:
            return original(*a, **kw)
        finally:
            with lock:
                active[0] -= 1

    inner.generate = counting
    with make_client(tmp_path, engine=engine) as c:
        threads = [threading.Thread(target=lambda s=s: c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT, "seed": s, "max_iterations": 1}))
                   for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert overlaps and max(overlaps) == 1


# --- chat sessions ------------------------------------------------------------------------------


def test_session_create_say_variants_pick_undo_accept_history(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        r = c.post("/v1/sessions", headers=AUTH, json={"product": PRODUCT, "channel": "product_description"})
        assert r.status_code == 201, r.text
        view = r.json()
        sid = view["session_id"]
        first = view["current"]["text"]
        assert view["accepted"] is None and view["versions"] == 1

        r = c.post(f"/v1/sessions/{sid}/say", headers=AUTH, json={"text": "shorter please"})
        assert r.status_code == 200 and r.json()["changed"] is True
        assert len(r.json()["draft"]["text"]) < len(first)

        r = c.post(f"/v1/sessions/{sid}/say", headers=AUTH, json={"text": "mention the 2-year warranty"})
        assert r.status_code == 422 and r.json()["type"] == "RuleRefusal" and r.json()["reasons"]

        r = c.post(f"/v1/sessions/{sid}/variants", headers=AUTH, json={"n": 2})
        assert r.status_code == 200
        variants = r.json()
        assert 1 <= len(variants) <= 2 and all(v["hard_pass"] for v in variants)
        r = c.post(f"/v1/sessions/{sid}/pick", headers=AUTH, json={"index": variants[0]["index"]})
        assert r.status_code == 200 and r.json()["text"] == variants[0]["text"]
        r = c.post(f"/v1/sessions/{sid}/undo", headers=AUTH)
        assert r.status_code == 200 and r.json()["text"] != variants[0]["text"]

        r = c.post(f"/v1/sessions/{sid}/accept", headers=AUTH)
        assert r.status_code == 200
        view = c.get(f"/v1/sessions/{sid}", headers=AUTH).json()
        assert view["accepted"]["text"] == view["current"]["text"]
        score = c.get(f"/v1/sessions/{sid}/score", headers=AUTH).json()
        assert score["text"] == view["current"]["text"] and "explanation" in score
        listed = c.get("/v1/sessions", headers=AUTH).json()
        assert [(s["session_id"], s["title"]) for s in listed] == [(sid, PRODUCT["title"])]
        kinds = [t["kind"] for t in c.get(f"/v1/sessions/{sid}/history", headers=AUTH).json()]
        assert kinds[0] == "draft" and "refusal" in kinds and "variants" in kinds and kinds[-1] == "accepted"


def test_hand_edits_are_checked_like_drafts(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        sid = c.post("/v1/sessions", headers=AUTH, json={"product": PRODUCT}).json()["session_id"]
        good = ("The Bamboo Cutting Board is made of bamboo and comes in three sizes. A juice groove around the edge keeps "
                "counters neat, and it is dishwasher safe, so cleanup is quick after every meal at home. It looks warm "
                "on the counter and suits small and big kitchens alike. Order yours today and enjoy simpler cooking.")
        r = c.post(f"/v1/sessions/{sid}/edit", headers=AUTH, json={"text": good})
        assert r.status_code == 200 and r.json()["hard_pass"] is True and r.json()["accepted"] is False
        invented = good.replace("dishwasher safe", "dishwasher safe with a 10-year warranty")
        r = c.post(f"/v1/sessions/{sid}/edit", headers=AUTH, json={"text": invented, "accept": True})
        assert r.status_code == 422 and any("grounding" in x for x in r.json()["reasons"])
        r = c.post(f"/v1/sessions/{sid}/edit", headers=AUTH, json={"text": good, "accept": True})
        assert r.status_code == 200 and r.json()["accepted"] is True
        view = c.get(f"/v1/sessions/{sid}", headers=AUTH).json()
        assert view["accepted_edit"]["text"] == good


def test_unknown_and_malformed_session_ids(tmp_path: Path) -> None:
    with make_client(tmp_path) as c:
        assert c.get("/v1/sessions/" + "0" * 32, headers=AUTH).status_code == 404
        assert c.post("/v1/sessions/" + "0" * 32 + "/say", headers=AUTH, json={"text": "hi"}).status_code == 404
        assert c.get("/v1/sessions/slack:T1:C1:123", headers=AUTH).status_code == 422


# --- ranking ------------------------------------------------------------------------------------


def test_rank_trades_conversion_for_creativity(tmp_path: Path) -> None:
    cands = [
        {"text": "safe", "score": 0.8, "critic_scores": {"diversity": 0.2, "sentiment": 1, "cta": 1}},
        {"text": "bold", "score": 0.5, "critic_scores": {"diversity": 1.0, "sentiment": 1, "cta": 1}},
        {"text": "broken", "score": 0.99, "hard_pass": False, "critic_scores": {"diversity": 1.0, "sentiment": 1, "cta": 1}},
    ]
    with make_client(tmp_path) as c:
        at0 = c.post("/v1/rank", headers=AUTH, json={"candidates": cands, "lam": 0.0}).json()
        at1 = c.post("/v1/rank", headers=AUTH, json={"candidates": cands, "lam": 1.0}).json()
    assert [r["text"] for r in at0] == ["safe", "bold", "broken"]
    assert [r["text"] for r in at1] == ["bold", "safe", "broken"]
    assert at0[-1]["reward"] == 0.0


# --- catalogs and the workbench -----------------------------------------------------------------


def test_catalog_upload_lists_and_serves_products(tmp_path: Path) -> None:
    csv = "id,title,category,facts\nb1,Bamboo Cutting Board,Home,made of bamboo | dishwasher safe\nb2,,Home,no title\nb3,Oak Spoon,Home,made of oak\n"
    with make_client(tmp_path) as c:
        r = c.post("/v1/catalogs", headers=AUTH, files={"file": ("../../etc/shop.csv", csv.encode(), "text/csv")})
        assert r.status_code == 201, r.text
        info = r.json()
        assert info["products"] == 2 and info["bad_rows"] == 1 and info["filename"] == "shop.csv"
        cid = info["id"]
        found = c.get(f"/v1/catalogs/{cid}/products", headers=AUTH, params={"q": "bamboo"}).json()
        assert [p["id"] for p in found] == ["b1"]
        product = c.get(f"/v1/catalogs/{cid}/products/b1", headers=AUTH).json()
        assert product["facts"] == ["made of bamboo", "dishwasher safe"]
        assert c.get(f"/v1/catalogs/{cid}/products/nope", headers=AUTH).status_code == 404
        bad = c.post("/v1/catalogs", headers=AUTH, files={"file": ("shop.exe", b"MZ", "application/octet-stream")})
        assert bad.status_code == 422
        empty = c.post("/v1/catalogs", headers=AUTH, files={"file": ("e.csv", b"", "text/csv")})
        assert empty.status_code == 422 and "empty" in empty.json()["detail"]
        garbage = c.post("/v1/catalogs", headers=AUTH, files={"file": ("g.parquet", b"not parquet", "application/octet-stream")})
        assert garbage.status_code == 422


def test_workbench_page_uses_only_packaged_assets(tmp_path: Path) -> None:
    with make_client(tmp_path, keys=None) as c:
        page = c.get("/").text
        assert 'src="/static/vendor/htmx-2.0.11.min.js"' in page and 'src="/static/vendor/htmx-ext-sse-2.2.4.js"' in page
        assert "http://" not in page and "https://" not in page  # no CDN, nothing fetched elsewhere
        for asset in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/htmx-ext-sse-2.2.4.js", "/static/workbench.css",
                      "/static/figures/lambda_tradeoff.png", "/static/figures/scorer_reliability.png"):
            assert c.get(asset).status_code == 200, asset
        assert c.get("/docs").status_code == 404  # Swagger UI would load from a CDN


def test_workbench_writes_streams_accepts_and_reranks(tmp_path: Path) -> None:
    with make_client(tmp_path, keys=None) as c:
        form = {"title": "Bamboo <b>Cutting</b> Board", "facts": "\n".join(PRODUCT["facts"]),
                "channels": ["product_description"], "seed": "0"}
        r = c.post("/ui/runs", data=form, headers={"HX-Request": "true"})
        assert r.status_code == 200 and 'sse-connect="/ui/runs/' in r.text
        assert "<b>Cutting</b>" not in r.text and "&lt;b&gt;Cutting&lt;/b&gt;" in r.text  # untrusted text is escaped
        run_url = r.text.split('sse-connect="', 1)[1].split('"', 1)[0]
        events = sse_events(c.get(run_url).text)
        names = [n for n, _ in events]
        assert "round" in names and names[-1] == "end"
        round_html = next(d for n, d in events if n == "round")
        assert "rules pass" in round_html and "grounding" in round_html and "Round 1" in round_html
        panel = events[-1][1]
        assert "Current draft" in panel and "Accept" in panel
        sid = panel.split('id="session-', 1)[1].split('"', 1)[0]

        ranked = c.get(f"/ui/sessions/{sid}/rank", params={"lam": 1.0})
        assert ranked.status_code == 200 and "R<sub>λ=1.0</sub>" in ranked.text
        accepted = c.post(f"/ui/sessions/{sid}/accept", headers={"HX-Request": "true"})
        assert accepted.status_code == 200 and "Accepted copy" in accepted.text
        assert f'hx-get="/ui/sessions/{sid}"' in c.get("/").text  # listed for reopening after a reload
        reopened = c.get(f"/ui/sessions/{sid}")
        assert reopened.status_code == 200 and "Accepted copy" in reopened.text

        bad = c.post("/ui/runs", data={"title": "", "channels": ["product_description"]}, headers={"HX-Request": "true"})
        assert bad.status_code == 422 and "title" in bad.text


def test_an_engine_with_only_refine_still_serves_refine(tmp_path: Path) -> None:
    """COPYLOOP_ENGINE_FACTORY may return anything with Engine.refine: no rounds then, same result."""
    from batch_engines import ScriptedEngine

    with make_client(tmp_path, engine=ScriptedEngine(Settings(home=tmp_path))) as c:
        r = c.post("/v1/refine", headers=AUTH, json={"product": PRODUCT})
        assert r.status_code == 200 and r.json()["text"].startswith("Bamboo Cutting Board")
        events = sse_events(c.post("/v1/refine/stream", headers=AUTH, json={"product": PRODUCT}).text)
        assert [k for k, _ in events] == ["queued", "result"]


def test_requests_never_wait_on_the_engine_while_it_loads(tmp_path: Path) -> None:
    """The Engine loads its models under its own lock; handlers must not take it on the event loop."""
    settings = Settings(home=tmp_path)
    engine = service_engine(settings)
    with make_client(tmp_path, engine=engine) as c:
        loading, loaded = threading.Event(), threading.Event()

        def slow_load() -> None:  # what a first model load looks like from the outside
            with engine._lock:
                loading.set()
                loaded.wait(60)

        threading.Thread(target=slow_load).start()
        assert loading.wait(5)
        answers: list = []
        requests = [threading.Thread(target=lambda p=path, b=body: answers.append(c.post(p, headers=AUTH, json=b)))
                    for path, body in (("/v1/refine", {"product": PRODUCT}), ("/v1/refine/stream", {"product": PRODUCT}))]
        for t in requests:
            t.start()
        # while the engine is still "loading" (its lock held), the server keeps answering
        assert _answered(lambda: c.get("/healthz")).status_code == 200
        assert _answered(lambda: c.get("/v1/channels", headers=AUTH)).status_code == 200
        assert _answered(lambda: c.post("/v1/refine", headers=AUTH, json={"product": {"title": ""}})).status_code == 422
        assert not loaded.is_set()
        loaded.set()
        for t in requests:
            t.join(60)
        assert sorted(a.status_code for a in answers) == [200, 200]


def _answered(call, timeout: float = 30.0):
    """The response of ``call()``, made in a thread; fails if it does not come back at all
    (a request stuck behind the model would wait until the test released it)."""
    box: list = []
    t = threading.Thread(target=lambda: box.append(call()), daemon=True)
    t.start()
    t.join(timeout)
    assert box, "the request did not come back while the model was held"
    return box[0]
