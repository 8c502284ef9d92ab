"""End to end in a real browser with the real small model: paste a product, get copy, accept it.

``copyloop serve`` runs in a child process on a free loopback port with the real local models
(SmolLM2 via llama.cpp, the trained scorer, ChromaDB retrieval) in a fresh data folder. Debian's
Chromium (``/usr/bin/chromium``; ``scripts/_test_services.sh`` installs it) is driven headless
by Playwright's Python package through ``executable_path``: no browser is downloaded. The test
types a product into the workbench, asks for a Google Ads headline, watches the panel stream its
rounds, checks the copy, its score and its rule checks, and accepts it. Screenshots go to the
test's temporary folder and to ``bench/out/workbench-latest.png``; ``COPYLOOP_UPDATE_SCREENSHOTS=1``
also refreshes the README's ``bench/out/workbench.png``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from services import free_port

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PRODUCT_FACTS = "made of bamboo\ndishwasher safe\njuice groove around the edge\ncomes in three sizes"


@pytest.fixture()
def server(tmp_path: Path, llama_native_check):
    """The real service on a free loopback port (no API key: loopback only). It answers as soon as
    uvicorn is up; the models load in the background meanwhile (``--preload``), so the browser
    starts while they load and the first request simply queues behind the load."""
    if not llama_native_check.ok:
        pytest.fail("llama.cpp does not run on this machine: " + llama_native_check.describe_failure(), pytrace=False)
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("COPYLOOP_ENGINE_FACTORY", "COPYLOOP_API_KEYS")}
    env.update(COPYLOOP_HOME=str(home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    port = free_port()
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "copyloop", "serve", "--port", str(port), "--preload"], env=env,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    try:
        while True:
            assert proc.poll() is None, f"the server exited with {proc.returncode}: {(tmp_path / 'server.log').read_text()[-2000:]}"
            assert time.perf_counter() - started < 240, "the server did not answer within 240 s"
            try:
                health = httpx.get(base + "/healthz", timeout=2).json()
                assert health["model"] != "failed", (tmp_path / "server.log").read_text()[-2000:]
                break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        print(f"server answering after {time.perf_counter() - started:.1f} s, models {health['model']} "
              f"(load average {os.getloadavg()[0]:.2f})")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_paste_a_product_get_copy_and_accept_it(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; scripts/_test_services.sh does this)")
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = tmp_path / "screenshots"
    shots.mkdir()
    with sync_api.sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=str(CHROMIUM), headless=True, args=FLAGS,
            viewport={"width": 1280, "height": 1000},
        )
        try:
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(server + "/")
            page.fill("input[name=title]", "Bamboo Cutting Board")
            page.fill("input[name=category]", "Home & Kitchen | Cutting Boards")
            page.fill("textarea[name=facts]", PRODUCT_FACTS)
            page.uncheck("input[name=channels][value=product_description]")
            page.check("input[name=channels][value=google_ads_headline]")
            model_state = httpx.get(server + "/healthz", timeout=5).json()["model"]
            started = time.perf_counter()
            page.click("button:has-text('Write copy')")

            page.wait_for_selector("section.panel.running", timeout=10_000)  # the panel opens its event stream at once
            page.wait_for_selector("section.panel .round .candidate", timeout=120_000)  # a finished round arrived
            page.screenshot(path=str(shots / "1-streaming.png"), full_page=True)
            panel = page.wait_for_selector("section.panel:not(.running) .current", timeout=120_000)
            seconds = time.perf_counter() - started
            page.screenshot(path=str(shots / "2-copy.png"), full_page=True)

            copy = page.inner_text("section.panel .current p.text").strip()
            assert copy and len(copy) <= 30, copy  # a Google Ads headline: hard limit 30 characters
            assert page.locator("section.panel .round").count() >= 1
            assert page.locator("section.panel .round .candidate").count() >= 1
            assert "Score" in panel.inner_text() and "channel_rules" in page.inner_text("section.panel .current")
            accept = page.locator("section.panel .actions button:has-text('Accept')")
            assert accept.is_enabled(), page.inner_text("section.panel .current")  # every hard rule passes

            accept.click()
            page.wait_for_selector("section.panel .badge.accepted", timeout=20_000)
            accepted = page.inner_text("section.panel .accepted-copy p.text").strip()
            assert accepted == copy
            page.screenshot(path=str(shots / "3-accepted.png"), full_page=True)
            page.locator("#write").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "workbench.png"), clip={"x": 0, "y": 0, "width": 1280, "height": 2000}, full_page=True)
            assert not errors, errors
            print(f"copy in {seconds:.1f} s after the click, models {model_state} at the click "
                  f"(load average {os.getloadavg()[0]:.2f}): {copy!r}")
        finally:
            context.close()
    # A copy for people to look at: bench/out/workbench-latest.png every run (not tracked by git);
    # the README's bench/out/workbench.png only when missing or asked for, so a test run does not
    # leave a modified tracked file behind.
    out = ROOT / "bench" / "out"
    if os.access(out, os.W_OK):
        shutil.copyfile(shots / "workbench.png", out / "workbench-latest.png")
        readme_shot = out / "workbench.png"
        if not readme_shot.exists() or os.environ.get("COPYLOOP_UPDATE_SCREENSHOTS") == "1":
            shutil.copyfile(shots / "workbench.png", readme_shot)
