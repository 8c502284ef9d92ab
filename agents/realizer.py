"""The small model's one job in the plan-then-realise drafter: say one planned fact as one sentence.

Why so narrow (issue #11): asked to rewrite a single fact, SmolLM2-135M invents in about half its
samples ("a 402-piece jet plane built by a team of aerospace engineers"). So each sample is
generated under a GBNF grammar whose words are only the product's own words, neutral words
(``copyloop.tools.vocab``) and the numbers in the product's data — a lexically constrained decoding
in the spirit of NeuroLogic decoding — and is then checked against its own fact: it must keep most
of the fact's content words, add no content word its fact (or the product's name) does not have,
add no "so ..." clause the fact does not make ("free of latex, so it is non-slip" is grounded word
by word and still false), make no unsupported claim, and read as a sentence. Several samples
are drawn; none may pass, and then the rule-based sentence (``copyloop.tools.realize``) is used.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Sequence

import yaml

from copyloop.agents.llm import LLMBackend, Message
from copyloop.prompts import read, render
from copyloop.tools.claims import unsupported_claims
from copyloop.tools.plan import PlanFact
from copyloop.tools.schemas import ProductBrief
from copyloop.tools.text import word_count
from copyloop.tools.vocab import NEUTRAL_WORDS, content_words, foreign_words, stem, tokens

if TYPE_CHECKING:
    from copyloop.tools.channels import ChannelSpec

log = logging.getLogger(__name__)

MIN_COVERAGE = 0.75
"""Share of the fact's content words a sample must keep (all of them for facts of up to four)."""
MAX_GRAMMAR_WORDS = 700
_NUMBER_RE = re.compile(r"\d+(?:[.,]\d+)*")
_SAFE_WORD_RE = re.compile(r"^[A-Za-z][A-Za-z'-]*$")


@dataclass(frozen=True)
class RealizerExample:
    product: str
    fact: str
    sentence: str


@lru_cache(maxsize=1)
def realizer_examples() -> tuple[RealizerExample, ...]:
    data = yaml.safe_load(read("realize_examples.yaml"))
    return tuple(RealizerExample(**e) for e in data["examples"])


@lru_cache(maxsize=1)
def headline_examples() -> tuple[tuple[str, str, str], ...]:
    data = yaml.safe_load(read("realize_examples.yaml"))
    return tuple((e["product"], e["fact"], e["headline"]) for e in data.get("headlines", []))


def headline_messages(product_name: str, fact: str) -> list[Message]:
    """The chat messages for one headline variation."""
    messages: list[Message] = [{"role": "system", "content": render("headline_system.j2")}]
    for name, f, headline in headline_examples():
        messages.append({"role": "user", "content": render("headline_user.j2", product=name, fact=f)})
        messages.append({"role": "assistant", "content": headline})
    messages.append({"role": "user", "content": render("headline_user.j2", product=product_name, fact=fact)})
    return messages


def realize_messages(product_name: str, fact: str, tone: str = "") -> list[Message]:
    """The chat messages for one fact (fine-tuning must render training prompts with this)."""
    messages: list[Message] = [{"role": "system", "content": render("realize_system.j2")}]
    for ex in realizer_examples():
        messages.append({"role": "user", "content": render("realize_user.j2", product=ex.product, fact=ex.fact, tone="")})
        messages.append({"role": "assistant", "content": ex.sentence})
    messages.append({"role": "user", "content": render("realize_user.j2", product=product_name, fact=fact, tone=tone)})
    return messages


def allowed_words(text: str, extra: Sequence[str] = ()) -> list[str]:
    """Every word a realised sentence may use: the words of ``text`` (the fact and the product's
    name) and the neutral ones."""
    words: dict[str, None] = {}
    for w in [*tokens(text), *tokens(" ".join(extra))]:
        if _SAFE_WORD_RE.match(w):
            words[w] = None
            words[w.lower()] = None
    for w in sorted(NEUTRAL_WORDS):
        if _SAFE_WORD_RE.match(w):
            words[w] = None
    return list(words)[:MAX_GRAMMAR_WORDS]


def words_grammar(text: str, *, max_words: int = 28, extra: Sequence[str] = ()) -> str:
    """A GBNF grammar for one sentence of the words of ``text`` plus neutral words, and the numbers
    of ``text`` (see ``prompts/grammar_words.gbnf.j2``)."""
    words = allowed_words(text, extra)
    first = list(dict.fromkeys(w[:1].upper() + w[1:] for w in words))
    numbers = sorted(dict.fromkeys(_NUMBER_RE.findall(text)), key=lambda n: (-len(n), n))[:60]
    return render("grammar_words.gbnf.j2", first_words=first, words=words, numbers=numbers, rep=f"{{2,{max_words - 1}}}")


def coverage(sentence: str, fact: PlanFact) -> float:
    """Share of the fact's content words (stemmed) that the sentence keeps."""
    kw = {stem(w) for w in content_words(fact.text)}
    if not kw:
        return 1.0
    got = {stem(w) for w in tokens(sentence)}
    return len(kw & got) / len(kw)


_FINITE_VERBS = {
    "is", "are", "has", "have", "can", "will", "comes", "come", "works", "work", "holds", "hold", "keeps", "keep",
    "includes", "include", "features", "packs", "fits", "fit", "lets", "let", "makes", "make", "helps", "help",
    "stays", "stay", "gives", "give", "offers", "provides", "measures", "weighs", "contains", "gets", "get", "goes",
    "folds", "rolls", "clips", "plays", "lights", "adds", "brings", "turns", "uses", "use", "enjoy", "enjoys",
}
_DANGLING_END = {"a", "an", "the", "and", "or", "of", "to", "with", "for", "in", "on", "at", "by", "from", "so", "that",
                 "is", "are", "it", "its", "your", "you", "as", "be", "can", "will", "but", "than", "more", "most", "very"}
_FILLER_TAIL_RE = re.compile(
    r"\bso (?:it|this|that|you) (?:is|are|has|must|will be) (?:a|an|the|one|great|good|perfect|ideal|well|made)\b"
    r"|\bone of the\b|\bwell kept\b|\bso (?:it|this) is (?:[a-z-]+ ){0,2}[a-z-]+ (?:skillet|puzzle|jacket|product|toy|kit)\b",
    re.IGNORECASE,
)


_NEGATION_RE = re.compile(r"\b(?:not|no|never|without|none|nothing|n't)\b|n't\b", re.IGNORECASE)


def _negations(text: str) -> int:
    return len(_NEGATION_RE.findall(text or ""))


def sample_problem(sentence: str, fact: PlanFact, product: ProductBrief, name_words: frozenset[str] = frozenset()) -> str:
    """Why a sample may not be used ("" when it may).

    Beyond grounding, the checks catch what the 135M model does wrong when it may only use the
    product's words: fragments without a verb ("A 27 x 20 inches."), an ending cut mid-phrase,
    the same content word twice ("made from paperboard, so it must be made with paperboard"),
    empty benefit tails ("so it is a great ideal"), and the product's name dropped in as filler.
    """
    s = sentence.strip()
    if word_count(s) < 3:
        return "too short"
    if word_count(s) > 2 * word_count(fact.text) + 12:
        return "too long for one fact"
    need = 1.0 if len(content_words(fact.text)) <= 4 else MIN_COVERAGE
    if coverage(s, fact) < need:
        return f"keeps only {coverage(s, fact):.0%} of the fact"
    if _negations(s) != _negations(fact.text):
        return "changes a negation"  # "works without Wi-Fi" -> "is not without Wi-Fi"
    low = [w.lower() for w in tokens(s)]
    if low and low[0] in {"i", "we", "my", "our", "a:", "q"}:
        return "speaks as a person"
    if not any(w in _FINITE_VERBS for w in low):
        return "no verb: not a sentence"
    if low and low[-1] in _DANGLING_END:
        return "ends mid-phrase"
    content = [stem(w) for w in content_words(s)]
    repeated = {w for w in content if content.count(w) > 1}
    if repeated:
        return "repeats " + ", ".join(sorted(repeated))
    if _FILLER_TAIL_RE.search(s):
        return "empty filler clause"
    fact_stems = {stem(w) for w in tokens(fact.text)}
    added_name = {stem(w) for w in content_words(s)} & name_words - fact_stems
    if len(added_name) >= 2:
        return "repeats the product name instead of the fact"
    if re.search(r"\bso\b", s, re.I) and not re.search(r"\bso\b", fact.text, re.I):
        return "adds a 'so ...' clause the fact does not make"  # "free of latex, so it is non-slip"
    own = foreign_words(s, fact.text + " " + fact.label + " " + " ".join(sorted(name_words)))
    if own:
        return "adds words its fact does not have: " + ", ".join(own[:3])
    bad = unsupported_claims(s, product)
    if bad:
        return "unsupported: " + ", ".join(c.text for c in bad[:3])
    return ""


def tidy_sample(text: str) -> str:
    """A raw fact sample as ``sample_problem`` judges it: whitespace collapsed, a full stop added."""
    s = " ".join(text.split()).strip()
    if s and s[-1] not in ".!?":
        s += "."
    return s


def is_echo(sentence: str, fact: PlanFact) -> bool:
    """A sample that repeats its fact verbatim adds nothing over the rule-based sentence."""
    return sentence.lower().rstrip(".") == fact.text.lower().rstrip(".")


def headline_problem(text: str, product: ProductBrief, spec: "ChannelSpec") -> tuple[str, str]:
    """A raw headline sample tidied, and why it may not be used ("" when it may).

    The checks: fits the channel, breaks no hard rule, names the product, adds no foreign word,
    filler, soft claim or leftover, repeats no word and does not end mid-phrase. One function so
    ``FactRealizer.headlines`` and the benchmark (bench/realizer.py) judge alike.
    """
    from copyloop.tools.quality import assess
    from copyloop.tools.realize import _smart_title
    from copyloop.tools.text import visible_len
    from copyloop.tools.validators import check_rules

    h = _smart_title(" ".join(text.split()).strip(" .,;:-"))
    if not h:
        return h, "empty"
    if spec.max_chars and visible_len(h) > spec.max_chars:
        return h, "too long for the channel"
    hard = [v for v in check_rules(h, spec, product_text=product.fact_text()) if v.hard]
    if hard:
        return h, "breaks a rule: " + hard[0].rule
    report = assess(h, product, spec)
    if report.names is False:
        return h, "does not name the product"
    if report.foreign:
        return h, "adds words the product does not have"
    if report.filler:
        return h, "filler"
    if report.soft_claims:
        return h, "soft claim"
    if report.leftovers:
        return h, "leftover fragment"
    low = [w.lower() for w in tokens(h)]
    if len(low) != len(set(low)):
        return h, "repeats a word"
    if low and low[-1] in _DANGLING_END:
        return h, "ends mid-phrase"
    return h, ""


@dataclass
class FactRealizer:
    """Draws ``samples`` sentences per fact from the LLM and keeps the ones that pass."""

    llm: LLMBackend
    samples: int = 3
    temperature: float = 0.6
    max_tokens: int = 56
    use_grammar: bool = True
    _cache: dict[tuple[str, str, int, str], list[str]] = field(default_factory=dict, repr=False)

    def headlines(self, product: ProductBrief, name: str, fact: PlanFact, spec: "ChannelSpec", *, seed: int) -> list[str]:
        """Model-worded headlines for ``name`` and its key ``fact`` that pass the headline checks
        (fit the channel, name the product, only the product's words, no filler), best first."""
        key = (product.title + "\x00headline", fact.key + spec.name, seed, "")
        cached = self._cache.get(key)
        if cached is not None:
            return list(cached)
        grammar = words_grammar(f"{name} {fact.text} {product.brand or ''}", max_words=6) if self.use_grammar else None
        raw = self.llm.generate(headline_messages(name, fact.text), n=self.samples, max_tokens=20,
                                temperature=self.temperature, seed=seed, grammar=grammar, stop=["\n"])
        good: list[str] = []
        for text in raw:
            h, problem = headline_problem(text, product, spec)
            if not problem:
                good.append(h)
        out = list(dict.fromkeys(good))
        self._cache[key] = out
        return list(out)

    def realize(self, product: ProductBrief, name: str, fact: PlanFact, *, seed: int, tone: str = "") -> list[str]:
        """Valid sentences for ``fact`` (possibly none), best first; cached per (product, fact, seed, tone)."""
        key = (product.title + "\x00" + product.fact_text()[:2000], fact.key + fact.text, seed, tone)
        cached = self._cache.get(key)
        if cached is not None:
            return list(cached)
        grammar = (
            words_grammar(f"{fact.text} {fact.label} {name}", max_words=min(40, 2 * word_count(fact.text) + 10))
            if self.use_grammar
            else None
        )
        raw = self.llm.generate(
            realize_messages(name, fact.text, tone),
            n=self.samples,
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            seed=seed,
            grammar=grammar,
            stop=["\n"],
        )
        good: list[tuple[float, str]] = []
        name_words = frozenset(stem(w) for w in content_words(name))
        for text in raw:
            s = tidy_sample(text)
            problem = sample_problem(s, fact, product, name_words)
            if problem:
                log.debug("fact sample rejected (%s): %r", problem, s)
                continue
            if is_echo(s, fact):
                continue  # an echo adds nothing over the rule-based sentence
            good.append((coverage(s, fact), s))
        out = [s for _, s in sorted(good, key=lambda g: -g[0])]
        out = list(dict.fromkeys(out))
        if len(self._cache) > 4096:
            self._cache.clear()
        self._cache[key] = out
        return list(out)


__all__ = [
    "FactRealizer", "allowed_words", "coverage", "headline_messages", "headline_problem", "is_echo", "realize_messages",
    "sample_problem", "tidy_sample", "words_grammar",
]
