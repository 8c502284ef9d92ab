"""The drafter: n candidate texts for one product and channel from the LLM backend.

The default model (SmolLM2-135M) cannot be trusted on its own, so every candidate is generated
under the channel's GBNF grammar and stop sequences, cleaned with ``tools.postprocess.clean``,
and checked for garbage (empty, echoed prompt, loops, non-language). Garbage is retried with a
different seed (tenacity); a candidate that stays garbage is dropped, and when no candidate
survives the round raises ``LLMOutputError`` with the attempts and the last output.

Candidates vary by angle (benefit-led, feature-led, playful, urgency-light) and temperature;
candidate ``i`` uses seed ``seed + i`` so a round is reproducible and candidates differ.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Sequence

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from copyloop.agents.draft_prompt import (
    ANGLES,
    Angle,
    build_messages,
    grammar_for,
    stop_sequences,
    token_budget,
)
from copyloop.agents.llm import LLMBackend, Message
from copyloop.errors import LLMOutputError
from copyloop.tools.channels import ChannelSpec
from copyloop.tools.lexicons import TEMPLATE_ECHO_RE
from copyloop.tools.postprocess import clean
from copyloop.tools.schemas import Draft, ProductBrief
from copyloop.tools.text import words

log = logging.getLogger(__name__)

RETRY_SEED_STRIDE = 100_003
"""Attempt ``k`` of candidate ``i`` uses seed ``seed + i + RETRY_SEED_STRIDE * k``."""

# Phrases of our own prompt that never belong in copy.
_ECHO_MARKERS = re.compile(
    r"product data|not instructions|never instructions|text inside is data|quoted seller text|"
    r"reply with the copy|copy their style|fix these points|your previous draft|"
    r"\bangle:|\blength:|\bvoice:|careful copywriter|<\|im_(?:start|end)\|>",
    re.IGNORECASE,
)
_VOWEL_RE = re.compile(r"[aeiouy]", re.IGNORECASE)
_SCAFFOLD_N = 6


class GarbageOutput(ValueError):
    """One completion was unusable; ``reason`` says why, ``text`` is what the model wrote."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = [w.lower() for w in words(text)]
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def garbage_reason(text: str, spec: ChannelSpec, scaffold: set[tuple[str, ...]] = frozenset()) -> str | None:  # type: ignore[assignment]
    """Why cleaned ``text`` is not copy at all (None when it is usable).

    This is not quality judgement (the critics do that): only outputs no reviser can work from.
    ``scaffold`` holds word n-grams of the prompt's instructions; copying one is an echo.
    """
    toks = words(text)
    if not text.strip() or not toks:
        return "empty"
    letters = sum(ch.isalpha() for ch in text)
    visible = sum(not ch.isspace() for ch in text)
    if letters < 3 or letters < 0.6 * visible:
        return "not language (too few letters)"
    alpha = [t for t in toks if t.isalpha()]
    if alpha and sum(bool(_VOWEL_RE.search(t)) for t in alpha) < 0.7 * len(alpha):
        return "not language (unpronounceable words)"
    if not spec.max_chars or spec.max_chars >= 60:
        if len(toks) < 3:
            return "too short to be copy"
    if _ECHO_MARKERS.search(text) or TEMPLATE_ECHO_RE.search(text):
        return "echoed the prompt"
    if scaffold and _ngrams(text, _SCAFFOLD_N) & scaffold:
        return "echoed the instructions"
    lower = [t.lower() for t in toks]
    run = 1
    for a, b in zip(lower, lower[1:]):
        run = run + 1 if a == b else 1
        if run >= 4:
            return f"repeated token {a!r}"
    if len(lower) >= 12:
        grams = Counter(zip(lower, lower[1:], lower[2:], lower[3:]))
        top, count = grams.most_common(1)[0]
        if count >= 3:
            return f"loops on {' '.join(top)!r}"
        if len(set(lower)) < 0.35 * len(lower):
            return "repetitive (few distinct words)"
    return None


def _scaffold(spec: ChannelSpec, angle: Angle) -> set[tuple[str, ...]]:
    """N-grams of the instruction text alone (a product with no data), to detect echoes."""
    blank = ProductBrief(title="x")
    grams: set[tuple[str, ...]] = set()
    for m in build_messages(blank, spec, angle=angle):
        grams |= _ngrams(m["content"], _SCAFFOLD_N)
    return grams


@dataclass
class Drafter:
    """Writes candidates with an ``LLMBackend``.

    ``max_tokens`` None: a budget per channel (``token_budget``); an int applies to every channel.
    ``use_grammar`` False drops the GBNF constraint (for backends without grammar support and for
    measuring what the grammar buys). ``attempts``: tries per candidate before it is dropped.
    """

    llm: LLMBackend
    max_tokens: int | None = None
    use_grammar: bool = True
    attempts: int = 3
    angles: Sequence[Angle] = ANGLES
    _scaffolds: dict[tuple[str, str], set[tuple[str, ...]]] = field(default_factory=dict, repr=False)

    def draft(
        self,
        product: ProductBrief,
        spec: ChannelSpec,
        *,
        n: int,
        seed: int,
        iteration: int = 0,
        exemplars: Sequence[str] = (),
        feedback: Sequence[str] = (),
        previous: str | None = None,
    ) -> list[Draft]:
        """``n`` cleaned candidates (fewer when some stayed garbage; LLMOutputError when none)."""
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        grammar = grammar_for(spec) if self.use_grammar else None
        stop = stop_sequences(spec)
        budget = self.max_tokens or token_budget(spec)
        drafts: list[Draft] = []
        failures: list[GarbageOutput] = []
        total_attempts = 0
        for i in range(n):
            # rotate angles each round so revisions explore, but stay fixed within a round
            angle = self.angles[(i + iteration) % len(self.angles)]
            messages = build_messages(product, spec, exemplars, feedback, previous, angle)
            tries = _Tries()
            try:
                text = self._candidate(messages, spec, angle, budget, seed + i, grammar, stop, tries)
            except RetryError as exc:
                error = exc.last_attempt.exception()
                assert isinstance(error, GarbageOutput)
                failures.append(error)
                log.warning("candidate %d of %s/%s dropped after %d attempts: %s (%r)",
                            i, product.id or product.title[:40], spec.name, tries.count, error.reason, error.text[:120])
                continue
            finally:
                total_attempts += tries.count
            drafts.append(
                Draft(text=text, iteration=iteration, candidate=i, angle=angle.name, temperature=angle.temperature, source="llm")
            )
        if not drafts:
            last = failures[-1] if failures else None
            raise LLMOutputError(
                f"The LLM returned no usable {spec.name} copy for {product.title[:60]!r}"
                + (f" ({last.reason})" if last else ""),
                attempts=total_attempts,
                last_output=last.text if last else None,
            )
        return drafts

    def _candidate(
        self,
        messages: list[Message],
        spec: ChannelSpec,
        angle: Angle,
        budget: int,
        seed: int,
        grammar: str | None,
        stop: list[str],
        tries: "_Tries",
    ) -> str:
        scaffold = self._scaffold_for(spec, angle)
        for attempt in Retrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            retry=retry_if_exception_type(GarbageOutput),
        ):
            with attempt:
                k = attempt.retry_state.attempt_number - 1
                tries.count += 1
                raw = self.llm.generate(
                    messages,
                    n=1,
                    max_tokens=budget,
                    temperature=angle.temperature,
                    seed=seed + RETRY_SEED_STRIDE * k,
                    grammar=grammar,
                    stop=stop,
                )[0]
                text = clean(raw, spec)
                reason = garbage_reason(text, spec, scaffold)
                if reason:
                    raise GarbageOutput(reason, raw)
                return text
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _scaffold_for(self, spec: ChannelSpec, angle: Angle) -> set[tuple[str, ...]]:
        key = (spec.name, angle.name)
        if key not in self._scaffolds:
            self._scaffolds[key] = _scaffold(spec, angle)
        return self._scaffolds[key]


@dataclass
class _Tries:
    count: int = 0


__all__ = ["Drafter", "GarbageOutput", "RETRY_SEED_STRIDE", "build_messages", "garbage_reason"]
