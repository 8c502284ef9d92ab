"""Engines for batch tests, importable by dotted path from spawned worker processes.

``scripted_engine`` is a test double of the small part of ``Engine`` a batch uses (``refine``):
it returns well-formed RefineResults at once, so the batch's own plumbing (job store, resume,
pool, crash isolation, output files) is tested without any model. What it does per product is
driven by the product title:

- ``FAIL`` in the title: raises InputError (a permanent per-item failure);
- ``FLAKY``: raises OSError on the first attempt in each process (a transient failure);
- ``CRASH``: kills its worker process with os._exit (a segfault stand-in);
- ``TEMPLATE``: returns the same boiler-plate copy as every other TEMPLATE product, unless the
  call carries feedback (the diversity re-draft), when it writes product-specific copy that passes.

Environment knobs (read in the worker): ``BATCH_TEST_SLEEP`` seconds per item;
``BATCH_TEST_LOG`` a folder where each engine construction and each refine call drops a line
(pid and item), so tests can count model loads per process and calls per item.

``fake_llm_engine`` is the real ``copyloop.engine.Engine`` with a scripted ``FakeLLM`` (and no
retrieval store): the whole refinement graph runs, only the language model is fake.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any, Sequence

from copyloop.errors import InputError
from copyloop.graph.result import RefineResult
from copyloop.settings import Settings
from copyloop.tools.schemas import Critique, ProductBrief

_FLAKY_SEEN: set[str] = set()

WORDS = [
    "sunny", "quiet", "nimble", "sturdy", "playful", "tidy", "clever", "gentle", "bold", "handy", "cosy",
    "breezy", "crisp", "lively", "steady", "smooth", "roomy", "trusty", "snug", "zesty",
]


def _log(kind: str, text: str) -> None:
    folder = os.environ.get("BATCH_TEST_LOG")
    if folder:
        with open(Path(folder) / f"{kind}.log", "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()} {text}\n")
            fh.flush()


def _words(key: str, n: int) -> list[str]:
    h = hashlib.sha256(key.encode()).digest()
    return [WORDS[b % len(WORDS)] for b in h[:n]]


class ScriptedEngine:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        _log("engines", "built")

    def refine(
        self,
        product: ProductBrief,
        channel: str = "product_description",
        threshold: float | None = None,
        max_iterations: int | None = None,
        candidates: int | None = None,
        seed: int = 0,
        *,
        feedback: Sequence[str] | None = None,
        previous: str | None = None,
        run_texts: Sequence[str] | None = None,
    ) -> RefineResult:
        _log("calls", f"{product.id} {channel} {'redraft' if feedback else 'draft'}")
        time.sleep(float(os.environ.get("BATCH_TEST_SLEEP", "0")))
        title = product.title
        if "FAIL" in title:
            raise InputError(f"cannot write copy for {title!r}")
        if "FLAKY" in title and f"{product.id}/{channel}" not in _FLAKY_SEEN:
            _FLAKY_SEEN.add(f"{product.id}/{channel}")
            raise OSError("temporary glitch")
        if "CRASH" in title:
            os._exit(13)
        if "TEMPLATE" in title and not feedback:
            text = "Make every moment magical with this wonderful pick for the whole family. Shop now."
        else:
            w = _words(f"{product.id}|{channel}|{seed}|{bool(feedback)}", 6)
            text = f"{title}: a {w[0]}, {w[1]} choice for {w[2]} days; {w[3]} and {w[4]} by design. Try it."
        score = (int(hashlib.sha256(text.encode()).hexdigest()[:4], 16) % 1000) / 1000
        threshold = self.settings.refine.threshold if threshold is None else threshold
        if feedback:  # a re-draft that took the feedback: make it pass so the batch may accept it
            score = max(score, threshold)
        return RefineResult(
            text=text, score=score, passed=score >= threshold,
            stop_reason="threshold_met" if score >= threshold else "max_iterations", iterations=1 if feedback else 2,
            critiques=[Critique(critic="sentiment", score=0.4, passed=False, message="flat")],
            channel=channel, product_id=product.id, threshold=threshold, seed=seed, first_draft_score=score / 2,
        )


def scripted_engine(settings: Settings) -> ScriptedEngine:
    return ScriptedEngine(settings)


def broken_engine(settings: Settings) -> ScriptedEngine:
    """A factory whose model file is missing (a configuration error: the batch must abort)."""
    from copyloop.errors import ModelPathError

    raise ModelPathError("LLM model file", "/nowhere/model.gguf")


_SENTENCES = [
    "Meet a {0} companion for {1} mornings.",
    "It keeps things {2} and {3} without any fuss.",
    "Friends notice the {4} look right away.",
    "Every detail feels {5}, so daily use stays {6}.",
    "Pack it, share it, or keep it close for {7} evenings.",
    "The {8} finish pairs well with a {9} routine.",
    "Owners describe it as {10} and {11}.",
    "Small moments become {12} with it around.",
]


def _fake_reply(call: Any, index: int) -> str:
    """Channel-appropriate, claim-free copy that differs by prompt and seed."""
    prompt = "\n".join(m["content"] for m in call.messages)
    w = _words(f"{prompt}|{call.seed}|{index}", 24)
    time.sleep(float(os.environ.get("BATCH_TEST_SLEEP", "0")))
    if "bullet" in prompt.lower():
        return "\n".join(s.format(*w[i:], *w).rstrip(".") for i, s in enumerate(_SENTENCES[:5]))
    return " ".join(s.format(*w) for s in _SENTENCES) + " Order yours today."


class HashScorer:
    """A stand-in conversion scorer: a stable score in [0.3, 0.9] per text."""

    def score(self, texts: Sequence[str], channel: str | None = None) -> list[Any]:
        from types import SimpleNamespace

        return [
            SimpleNamespace(score=0.3 + (int(hashlib.sha256(t.encode()).hexdigest()[:4], 16) % 600) / 1000,
                            explanation="hash score", features={})
            for t in texts
        ]


def fake_llm_engine(settings: Settings) -> Any:
    """The real Engine and graph with a scripted FakeLLM, a hash scorer and no retrieval store."""
    from copyloop.agents.llm import FakeLLM
    from copyloop.engine import Engine

    _log("engines", "built")
    return Engine(settings, llm=FakeLLM(default=_fake_reply), scorer=HashScorer(), store=None)


class CountingStore:
    """A retrieval store that logs every search (pid, hits) to BATCH_TEST_LOG, then answers from
    the real store: tests see that each worker process really read from a shared Chroma server."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def search(self, *args: Any, **kwargs: Any) -> Any:
        hits = self.inner.search(*args, **kwargs)
        _log("searches", str(len(hits)))
        return hits

    def as_retriever(self, channel: str | None = None, category: str | None = None, k: int = 4) -> Any:
        """The graph retrieves through a LangChain retriever: build it over this wrapper so its
        searches are counted too (the inner store's own would bypass the log)."""
        from copyloop.tools.retriever import CopyStoreRetriever

        return CopyStoreRetriever(store=self, channel=channel, category=category, k=k)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def fake_llm_engine_with_store(settings: Settings) -> Any:
    """``fake_llm_engine`` with the configured retrieval store (a Chroma server when
    COPYLOOP_STORE__CHROMA_URL is set), seeded by whichever worker gets there first."""
    from copyloop.agents.llm import FakeLLM
    from copyloop.engine import Engine
    from copyloop.tools.embeddings import load_embedder
    from copyloop.tools.store import CopyStore

    _log("engines", "built")
    store = CopyStore.from_settings(settings, embedder=load_embedder(settings.embeddings.model_path))
    _log("seeded", str(store.ensure_seeded()))
    return Engine(settings, llm=FakeLLM(default=_fake_reply), scorer=HashScorer(), store=CountingStore(store))
