"""Issue #12: draft through a real local OpenAI-compatible server (llama-cpp-python's own server,
serving the bundled GGUF on 127.0.0.1 in a child process) with ``provider = "openai"``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from copyloop.agents.llama_backend import default_model_path
from copyloop.engine import Engine
from copyloop.settings import Settings
from copyloop.tools.claims import unsupported_claims

pytestmark = pytest.mark.integration

PRODUCT = {
    "id": "srv-skillet",
    "title": "Cast Iron Skillet, 10.25 Inch, Pre-Seasoned",
    "category": "Home & Kitchen | Cookware | Skillets",
    "brand": "Ironhearth",
    "facts": ["10.25 inch cooking surface", "Pre-seasoned with vegetable oil", "Works on gas, electric, induction, oven and campfire",
              "Heavy cast iron holds heat for searing steaks", "Helper handle for a two-handed lift"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = _free_port()
    cmd = [sys.executable, "-m", "copyloop.agents.llama_server", "--model", str(default_model_path()),
           "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048", "--n_threads", "1", "--verbose", "false"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited ({proc.returncode}): {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama_cpp.server did not answer within 120 s")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_the_grammar_reaches_the_server(server: str) -> None:
    settings = Settings(llm={"provider": "openai", "base_url": server})
    backend = Engine(settings).llm
    grammar = 'root ::= "Yes" | "No"'
    out = backend.generate([{"role": "user", "content": "Is cast iron heavy? Answer Yes or No."}], n=2, max_tokens=4,
                           temperature=0.7, seed=1, grammar=grammar)
    assert all(t in ("Yes", "No") for t in out), out


def test_refinement_drafts_through_the_server(server: str, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, llm={"provider": "openai", "base_url": server})
    engine = Engine(settings, store=None)
    result = engine.refine(PRODUCT, "product_description", threshold=0.99, max_iterations=2, candidates=2, seed=3)
    assert result.iterations == 2 and engine.llm.tokens_generated > 0  # the revision round used the server
    assert result.text and not unsupported_claims(result.text, engine.prepare(PRODUCT).product)
