"""Is a completion copy at all? Cheap checks and repairs the drafter runs on every candidate.

Not quality judgement (the critics and the scorer do that): only what no reviser can work from —
empty text, non-language, echoed instructions, a copied worked example, loops — plus two repairs
that save a retry: dropping repeated or echoed sentences, and closing a sentence cut off by the
token budget.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace
from typing import Sequence

from copyloop.agents.draft_prompt import Angle, build_messages, worked_examples
from copyloop.tools.channels import ChannelSpec
from copyloop.tools.lexicons import TEMPLATE_ECHO_RE
from copyloop.tools.schemas import ProductBrief
from copyloop.tools.text import STOPWORDS, sentences, words

# Phrases of our own prompt that never belong in copy.
_ECHO_MARKERS = re.compile(
    r"product data|not instructions|never instructions|text inside is data|quoted seller text|"
    r"reply with the copy|copy their style|fix these points|your previous draft|"
    r"\bangle:|\blength:|\bvoice:|careful copywriter|<\|im_(?:start|end)\|>",
    re.IGNORECASE,
)
_VOWEL_RE = re.compile(r"[aeiouy]", re.IGNORECASE)
# Quoted spans of a request are what the user wants said ('add "summer sale"') or what a critic
# refers to, never the instruction itself, so they do not count as echo material.
_QUOTED_RE = re.compile(r"\"[^\"]*\"|“[^”]*”|‘[^’]*’|(?<!\w)'[^']*'(?!\w)")
REQUEST_ECHO_N = 3
# Words of an instruction *about* copy. Parroting needs one of them among the lifted phrases:
# "make the headline say cozy nights start here" → "Cozy Nights Start Here" is the user's own
# wording, done as asked, not an echo.
_META_WORDS = frozenset(
    "make add remove mention write rewrite shorter longer shorten lengthen tone copy headline "
    "description bullet bullets sentence please avoid include appealing punchy version".split()
)


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
    text: str, spec: ChannelSpec, scaffold: "Scaffold | None" = None, product: ProductBrief | None = None
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


_INITIALS_RE = re.compile(r"(?:\b[A-Za-z]\.){5,}")


def _bad_bullet(item: str, scaffold: "Scaffold | None") -> bool:
    """A bullet no reviser can use: letter soup ("A.G.T.C.O.F.S..."), an echoed instruction or
    request, or mostly symbols. The letter share is loose on purpose: a spec bullet such as
    "SIZE: 10 x 12 x 3.5 in; 2.4 lb" is under half letters and still a good bullet."""
    letters = sum(ch.isalpha() for ch in item)
    visible = sum(not ch.isspace() for ch in item)
    if letters < 3 or letters < 0.35 * visible or _INITIALS_RE.search(item):
        return True
    return scaffold is not None and scaffold.echo(item) in _SENTENCE_ECHOES


def drop_repeats(text: str, spec: ChannelSpec, scaffold: "Scaffold | None" = None) -> str:
    """Repair instead of reject: drop sentences (bullets, on bullet channels) that repeat an
    earlier one word for word or that echo the instructions or the request, keeping paragraphs.
    A small model at low temperature often writes a good paragraph and then loops on it; the
    first paragraph is worth keeping. Bullets that are letter soup are dropped too."""
    if spec.is_bullets:
        seen_items: set[str] = set()
        kept_items: list[str] = []
        for line in text.split("\n"):
            key = _norm(line)
            if not key or key in seen_items or _bad_bullet(line, scaffold):
                continue
            seen_items.add(key)
            kept_items.append(line)
        return "\n".join(kept_items)
    if len(sentences(text)) < 2:
        return text
    seen: set[str] = set()
    paragraphs: list[str] = []
    for para in re.split(r"\n\s*\n", text):
        kept: list[str] = []
        for sentence in sentences(para):
            key = _norm(sentence)
            if not key or key in seen or (scaffold is not None and scaffold.echo(sentence) in _SENTENCE_ECHOES):
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


def request_grams(requests: Sequence[str]) -> frozenset[tuple[str, ...]]:
    """Word trigrams of revision requests (human or critic), quoted spans removed."""
    grams: set[tuple[str, ...]] = set()
    for request in requests:
        grams |= _ngrams(_QUOTED_RE.sub(" ", request), REQUEST_ECHO_N)
    return frozenset(grams)


def echoes_request(text: str, grams: frozenset[tuple[str, ...]]) -> bool:
    """True when most of ``text`` is lifted from the revision requests.

    A small model asked "make it shorter with the main benefit first" sometimes answers with
    "Make it shorter with the main" — which passes every channel rule. At least two trigrams and
    half of the text's trigrams must come from the requests, so copy that merely uses a word or a
    phrase the user asked for ("waterproof to 50 m") is not flagged, and the lifted phrases must
    carry an instruction word (``_META_WORDS``), so wording the user dictated is not flagged either.
    """
    if not grams:
        return False
    mine = _ngrams(text, REQUEST_ECHO_N)
    lifted = mine & grams
    if len(lifted) < 2 or len(lifted) < 0.5 * len(mine):
        return False
    return any(w in _META_WORDS for g in lifted for w in g)


@dataclass(frozen=True)
class Scaffold:
    """What a candidate must not copy: the instructions, the worked examples' copy, and the
    revision requests of this call (``with_requests``)."""

    instructions: frozenset[tuple[str, ...]]
    example_texts: frozenset[str]
    example_grams: frozenset[tuple[str, ...]]
    n: int
    requests: frozenset[tuple[str, ...]] = frozenset()

    @classmethod
    def of(cls, spec: ChannelSpec, angle: Angle) -> "Scaffold":
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

    def with_requests(self, requests: Sequence[str]) -> "Scaffold":
        """This scaffold plus the revision requests a candidate must not parrot."""
        return replace(self, requests=request_grams(requests)) if requests else self

    def echo(self, text: str) -> str | None:
        if self.instructions and _ngrams(text, self.n) & self.instructions:
            return "echoed the instructions"
        if echoes_request(text, self.requests):
            return "echoed the request"
        if _norm(text) in self.example_texts:
            return "copied the worked example"
        mine = _phrases(text, 5)
        if len(mine) >= 3 and len(mine & self.example_grams) >= 0.4 * len(mine):
            return "copied the worked example"
        return None


_SENTENCE_ECHOES = ("echoed the instructions", "echoed the request")


def _norm(text: str) -> str:
    return " ".join(w.lower() for w in words(text))


__all__ = ["GarbageOutput", "Scaffold", "close_sentence", "drop_repeats", "echoes_request", "garbage_reason", "request_grams"]
