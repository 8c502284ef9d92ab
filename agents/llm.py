"""The LLM seam: a small protocol plus a scripted fake for unit tests.

Backends are passed in (never module globals). The llama-cpp implementation lives in
``copyloop.agents.llama_backend`` so importing this module stays free of native code.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

Message = dict[str, str]  # {"role": "system"|"user"|"assistant", "content": "..."}


@runtime_checkable
class LLMBackend(Protocol):
    """Anything that turns chat messages into ``n`` completions.

    ``stop`` lists extra stop sequences (the text before the first one is returned); backends
    also stop at their chat template's end-of-turn marker.
    """

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
    ) -> list[str]: ...


@dataclass
class FakeCall:
    """What the fake was asked (tests assert on the prompt actually sent)."""

    messages: list[Message]
    n: int
    max_tokens: int
    temperature: float
    seed: int
    grammar: str | None
    stop: list[str] = field(default_factory=list)


@dataclass
class FakeLLM:
    """Deterministic scripted backend.

    ``enqueue(*texts)`` queues replies, consumed one per completion. When the queue is empty,
    ``default`` is used: a string, or a callable ``(call, index) -> str`` that can build a reply
    from the prompt. ``history`` records every call.
    """

    default: str | Callable[[FakeCall, int], str] = "Bright, sturdy and ready to play. Shop now."
    queue: deque[str] = field(default_factory=deque)
    history: list[FakeCall] = field(default_factory=list)
    tokens_generated: int = 0

    def enqueue(self, *texts: str) -> "FakeLLM":
        self.queue.extend(texts)
        return self

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
    ) -> list[str]:
        call = FakeCall([dict(m) for m in messages], n, max_tokens, temperature, seed, grammar, list(stop or []))
        self.history.append(call)
        out: list[str] = []
        for i in range(n):
            if self.queue:
                text = self.queue.popleft()
            elif callable(self.default):
                text = self.default(call, i)
            else:
                text = self.default
            self.tokens_generated += len(text.split())
            out.append(text)
        return out

    def last_prompt(self) -> str:
        """The user message of the most recent call."""
        if not self.history:
            return ""
        return "\n".join(m["content"] for m in self.history[-1].messages if m["role"] == "user")


class RecordingLLM:
    """Passes calls to ``inner`` and keeps the raw completions of the last call.

    ``FactRealizer`` returns only the samples it keeps; the realiser benchmark and the realiser
    fine-tuning need every sample, to count why the others were dropped and to train against them.
    """

    def __init__(self, inner: LLMBackend) -> None:
        self.inner = inner
        self.last: list[str] = []

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
    ) -> list[str]:
        self.last = list(
            self.inner.generate(messages, n=n, max_tokens=max_tokens, temperature=temperature, seed=seed, grammar=grammar, stop=stop)
        )
        return list(self.last)


def stats_of(backend: Any) -> dict[str, float]:
    """Token/time counters a backend exposes (``tokens_generated``, ``seconds_generating``)."""
    return {
        "tokens_generated": float(getattr(backend, "tokens_generated", 0)),
        "seconds_generating": float(getattr(backend, "seconds_generating", 0.0)),
    }
