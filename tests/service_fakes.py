"""Engines for the HTTP service tests: the real Engine and graph with fast fakes at the seams.

``service_engine`` is the real ``copyloop.engine.Engine`` (drafter, critics, channel rules, graph)
with the scripted ``FakeLLM`` of ``session_fakes`` (grounded copy for its bamboo board that reacts
to 'shorter'/'playful'), a rule-based scorer with an explanation, no retrieval, and a hashing
embedder — so no torch model loads and a refinement takes a fraction of a second. It is also the
``COPYLOOP_ENGINE_FACTORY`` target (``service_fakes:service_engine``) for servers the tests start
in child processes (with this folder on PYTHONPATH).

``GatedLLM`` blocks every generation until the test opens its gate: a "slow model call" that the
tests control exactly (to prove /healthz answers meanwhile, and to fill the queue).
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from copyloop.agents.llm import FakeLLM
from copyloop.engine import Engine
from copyloop.settings import Settings
from session_fakes import PRODUCT, copy_writer


class HashEmbedder:
    """Bag-of-words vectors from hashed tokens: deterministic, similar texts are close."""

    dim = 64
    model_path = None

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                rows[i, int(hashlib.md5(word.encode()).hexdigest()[:8], 16) % self.dim] += 1.0
            norm = float(np.linalg.norm(rows[i]))
            if norm:
                rows[i] /= norm
        return rows


@dataclass
class Scored:
    score: float
    explanation: str


@dataclass
class RuleScorer:
    """Longer copy with a call to action scores higher; the explanation names what moved it."""

    calls: list[list[str]] = field(default_factory=list)

    def score(self, texts: Sequence[str], channel: str | None = None) -> list[Scored]:
        self.calls.append(list(texts))
        out = []
        for t in texts:
            s = 0.35 + min(0.3, len(t) / 1500) + (0.15 if "today" in t.lower() else 0.0)
            out.append(Scored(round(min(0.95, s), 4), "+ a call to action" if "today" in t.lower() else "- no call to action"))
        return out


class GatedLLM(FakeLLM):
    """A FakeLLM whose every generation waits for ``gate`` (set it to let the model finish)."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(default=copy_writer, **kw)
        self.gate = threading.Event()
        self.started = threading.Event()

    def generate(self, messages: Any, n: int = 1, **kw: Any) -> list[str]:  # type: ignore[override]
        self.started.set()
        if not self.gate.wait(timeout=60):
            raise TimeoutError("the test never opened the gate")
        return super().generate(messages, n, **kw)


def service_engine(settings: Settings, llm: Any = None) -> Engine:
    """The real Engine with the scripted LLM, the rule scorer, the hashing embedder, no retrieval.

    The plan drafter asks the model from round 0 here (by default round 0 is rule-based): these
    tests are about what the service does while a model call runs, so every round must make one."""
    engine = Engine(settings, llm=llm or FakeLLM(default=copy_writer), scorer=RuleScorer(), store=None, embedder=HashEmbedder())
    if hasattr(engine.drafter, "model_from_round"):
        engine.drafter.model_from_round = 0
    return engine


__all__ = ["GatedLLM", "HashEmbedder", "PRODUCT", "RuleScorer", "service_engine"]
