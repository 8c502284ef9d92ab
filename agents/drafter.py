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
from dataclasses import dataclass, field
from typing import Sequence

from tenacity import RetryError, Retrying, retry_if_exception_type, stop_after_attempt

from copyloop.agents.draft_checks import GarbageOutput, Scaffold, close_sentence, drop_repeats, garbage_reason
from copyloop.agents.draft_prompt import ANGLES, Angle, build_messages, grammar_for, stop_sequences, token_budget
from copyloop.agents.llm import LLMBackend, Message
from copyloop.errors import LLMOutputError
from copyloop.tools.channels import ChannelSpec
from copyloop.tools.postprocess import clean
from copyloop.tools.schemas import Draft, ProductBrief

log = logging.getLogger(__name__)

RETRY_SEED_STRIDE = 100_003
"""Attempt ``k`` of candidate ``i`` uses seed ``seed + i + RETRY_SEED_STRIDE * k``."""


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
    _scaffolds: dict[tuple[str, str], Scaffold] = field(default_factory=dict, repr=False)

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
        human: Sequence[str] | None = None,
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
                text = self._candidate(messages, spec, angle, budget, seed + i, grammar, stop, tries, product, feedback)
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
        feedback: Sequence[str] = (),
    ) -> str:
        scaffold = self._scaffold_for(spec, angle).with_requests(feedback)
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
                # bullets: judge every line the model wrote before the channel's item cap keeps
                # the first five, so a junk line does not take a good bullet's place
                roomy = spec.is_bullets and raw.count("\n") >= spec.items
                repaired = drop_repeats(clean(raw, spec.model_copy(update={"items": 2 * spec.items})) if roomy else text, spec, scaffold)
                if repaired != text:
                    text = clean(repaired, spec)
                text = close_sentence(text, spec)
                reason = garbage_reason(text, spec, scaffold, product)
                if reason:
                    log.debug("attempt %d (seed %d) for %s rejected: %s", k + 1, seed + RETRY_SEED_STRIDE * k, spec.name, reason)
                    raise GarbageOutput(reason, raw)
                return text
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    def _scaffold_for(self, spec: ChannelSpec, angle: Angle) -> Scaffold:
        key = (spec.name, angle.name)
        if key not in self._scaffolds:
            self._scaffolds[key] = Scaffold.of(spec, angle)
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
