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
    worked_examples,
)
from copyloop.agents.llm import LLMBackend, Message
from copyloop.errors import LLMOutputError
from copyloop.tools.channels import ChannelSpec
from copyloop.tools.lexicons import TEMPLATE_ECHO_RE
from copyloop.tools.postprocess import clean
from copyloop.tools.schemas import Draft, ProductBrief
from copyloop.tools.text import STOPWORDS, sentences, words

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


class GarbageOutput(ValueError):
    """One completion was unusable; ``reason`` says why, ``text`` is what the model wrote."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.text = text


def _ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    toks = [w.lower() for w in words(text)]
    return {tuple(toks[i : i + n]) for i in range(len(toks) - n + 1)}


def _phrases(text: str, n: int) -> set[tuple[str, ...]]:
    """Distinctive n-grams of each line: at least two content words ("and who it is for" is
    ordinary English, "one punchy headline of" is our instruction)."""
    out: set[tuple[str, ...]] = set()
    for line in text.split("\n"):
        out |= {g for g in _ngrams(line, n) if sum(w not in STOPWORDS for w in g) >= 2}
    return out


def garbage_reason(
    text: str, spec: ChannelSpec, scaffold: "_Scaffold | None" = None, product: ProductBrief | None = None
) -> str | None:
    """Why cleaned ``text`` is not copy at all (None when it is usable).

    This is not quality judgement (the critics do that): only outputs no reviser can work from.
    ``scaffold`` (built per channel and angle) detects copied instructions and worked examples.
    """
    toks = words(text)
    if not text.strip() or not toks:
        return "empty"
    letters = sum(ch.isalpha() for ch in text)
    visible = sum(not ch.isspace() for ch in text)
    if letters < 3 or letters < 0.6 * visible:
        return "not language (too few letters)"
    # acronyms (TCG, USB, LED) and short words need no vowel; keyboard mash does
    alpha = [t for t in toks if t.isalpha() and len(t) > 3 and not t.isupper()]
    if len(alpha) >= 3 and sum(bool(_VOWEL_RE.search(t)) for t in alpha) < 0.7 * len(alpha):
        return "not language (unpronounceable words)"
    if not spec.max_chars or spec.max_chars >= 60:
        if len(toks) < 3:
            return "too short to be copy"
    if _ECHO_MARKERS.search(text) or TEMPLATE_ECHO_RE.search(text):
        return "echoed the prompt"
    echo = scaffold.echo(text) if scaffold else None
    if echo:
        return echo
    lower = [t.lower() for t in toks]
    run = 1
    for a, b in zip(lower, lower[1:]):
        run = run + 1 if a == b else 1
        if run >= 4:
            return f"repeated token {a!r}"
    if len(lower) >= 12:
        # the product's name may recur; a model stuck in a loop repeats other phrases too
        name = {w.lower() for w in words(product.title)} if product else set()
        grams = Counter(
            g for g in zip(lower, lower[1:], lower[2:], lower[3:]) if not {w for w in g if w not in STOPWORDS} <= name
        )
        if grams:
            top, count = grams.most_common(1)[0]
            if count >= 3:
                return f"loops on {' '.join(top)!r}"
        if len(set(lower)) < 0.35 * len(lower):
            return "repetitive (few distinct words)"
    return None


def drop_repeats(text: str, spec: ChannelSpec, scaffold: "_Scaffold | None" = None) -> str:
    """Repair instead of reject: drop sentences that repeat an earlier one word for word or that
    echo the instructions, keeping paragraphs. A small model at low temperature often writes a
    good paragraph and then loops on it; the first paragraph is worth keeping."""
    if spec.is_bullets or len(sentences(text)) < 2:
        return text
    seen: set[str] = set()
    paragraphs: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        kept: list[str] = []
        for sentence in sentences(para):
            key = _norm(sentence)
            if not key or key in seen or (scaffold is not None and scaffold.echo(sentence) == "echoed the instructions"):
                continue
            seen.add(key)
            kept.append(sentence)
        if kept:
            paragraphs.append(" ".join(kept))
    return "\n\n".join(paragraphs) if spec.multiline else " ".join(paragraphs)


_SENTENCE_END_RE = re.compile(r"[.!?][\"')\]]*(?=\s|$)")


def close_sentence(text: str, spec: ChannelSpec) -> str:
    """Prose cut off by the token budget ends mid-sentence: drop the unfinished sentence when
    what remains still meets the channel's minimum length."""
    if spec.is_bullets or not spec.min_words and not spec.multiline:
        return text
    body = text.rstrip()
    if not body or body[-1] in ".!?":
        return text
    ends = list(_SENTENCE_END_RE.finditer(body))
    if not ends:
        return text
    head = body[: ends[-1].end()]
    return head if len(words(head)) >= (spec.min_words or 1) else text


def _echo_n(spec: ChannelSpec) -> int:
    """N-gram size for echo detection: short copy echoes short phrases."""
    return 4 if spec.max_chars is not None and spec.max_chars <= 60 else 5


@dataclass(frozen=True)
class _Scaffold:
    """What a candidate must not copy: the instructions, and the worked examples' copy."""

    instructions: frozenset[tuple[str, ...]]
    example_texts: frozenset[str]
    example_grams: frozenset[tuple[str, ...]]
    n: int

    @classmethod
    def of(cls, spec: ChannelSpec, angle: Angle) -> "_Scaffold":
        n = _echo_n(spec)
        messages = build_messages(ProductBrief(title="x"), spec, angle=angle)
        text = messages[0]["content"] + "\n" + messages[-1]["content"]
        allowed: set[tuple[str, ...]] = set()
        for cta in spec.cta_examples:  # the CTA examples are meant to be reused
            allowed |= _ngrams(cta, n) | _ngrams(cta, 5)
        examples = [ex.output_for(spec) for ex in worked_examples()]
        grams: set[tuple[str, ...]] = set()
        for ex in examples:
            grams |= _phrases(ex, 5)
        return cls(
            instructions=frozenset(_phrases(text, n) - allowed),
            example_texts=frozenset(_norm(e) for e in examples),
            example_grams=frozenset(grams - allowed),
            n=n,
        )

    def echo(self, text: str) -> str | None:
        if self.instructions and _ngrams(text, self.n) & self.instructions:
            return "echoed the instructions"
        if _norm(text) in self.example_texts:
            return "copied the worked example"
        mine = _phrases(text, 5)
        if len(mine) >= 3 and len(mine & self.example_grams) >= 0.4 * len(mine):
            return "copied the worked example"
        return None


def _norm(text: str) -> str:
    return " ".join(w.lower() for w in words(text))


@dataclass
class Drafter:
    """Writes candidates with an ``LLMBackend``.

    ``max_tokens`` None: a budget per channel (``token_budget``); an int applies to every channel.
    ``use_grammar`` False drops the GBNF constraint (for backends without grammar support and for
    measuring what the grammar buys); ``restrict_numbers`` lets the grammar spell only numbers
    from the product's data. ``attempts``: tries per candidate before it is dropped.
    """

    llm: LLMBackend
    max_tokens: int | None = None
    use_grammar: bool = True
    restrict_numbers: bool = True
    attempts: int = 3
    angles: Sequence[Angle] = ANGLES
    _scaffolds: dict[tuple[str, str], _Scaffold] = field(default_factory=dict, repr=False)

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
        grammar = grammar_for(spec, product if self.restrict_numbers else None) if self.use_grammar else None
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
                text = self._candidate(messages, spec, angle, budget, seed + i, grammar, stop, tries, product)
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
        product: ProductBrief,
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
                repaired = drop_repeats(text, spec, scaffold)
                if repaired != text:
                    text = clean(repaired, spec)
                text = close_sentence(text, spec)
                reason = garbage_reason(text, spec, scaffold, product)
                if reason:
                    log.debug("attempt %d (seed %d) for %s rejected: %s", k + 1, seed + RETRY_SEED_STRIDE * k, spec.name, reason)
                    raise GarbageOutput(reason, raw)
                return text
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _scaffold_for(self, spec: ChannelSpec, angle: Angle) -> _Scaffold:
        key = (spec.name, angle.name)
        if key not in self._scaffolds:
            self._scaffolds[key] = _Scaffold.of(spec, angle)
        return self._scaffolds[key]


@dataclass
class _Tries:
    count: int = 0


__all__ = [
    "Drafter",
    "GarbageOutput",
    "RETRY_SEED_STRIDE",
    "build_messages",
    "close_sentence",
    "drop_repeats",
    "garbage_reason",
]
