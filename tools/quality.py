"""Is this copy about this product, specific, and coherent? One set of checks for the critics, the
scorer's product fit and the quality benchmark, so that all three agree (issue #11).

"The Best Product Ever" passed the old loop with 0.74 because nothing checked that a headline
names its product; a card game was "pre-seasoned with vegetable oil" because nothing checked that
a sentence is about it. ``assess`` measures, for one text of one channel:

- **names**: does it name the product (a distinctive word of its title or brand, or a number
  from its title)? Required of headlines and descriptions;
- **facts used**: which of the product's own statements it carries (stemmed keyword overlap);
- **foreign words**: content words found nowhere in the product's data (another product's
  nouns, invented uses and features);
- **filler**: phrases that fit any product ("a great gift for any occasion", "Good Product");
- **unsupported soft claims**: popularity, reputation, awards, scarcity, superlatives;
- **coherence**: leftover prompt text ("A:", "Rewrite it", "Fact:"), the voice of an assistant
  or a customer ("I", "my kids love"), fragments without a verb;
- **bullets**: each starts with a label and carries a fact.

``FitReport.fit`` folds them into one number in [0, 1] (1 = specific, grounded copy) that the
conversion scorer combines with click appeal (``copyloop.agents.scorer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.claims import check_claims
from copyloop.tools.plan import PlanFact, product_facts
from copyloop.tools.schemas import ProductBrief
from copyloop.tools.text import bullet_items, sentences, word_count
from copyloop.tools.vocab import content_words, filler_phrases, names_product, stem, tokens

FACT_COVERAGE = 0.5
"""Share of a fact's content words a text must contain to count as using that fact."""
MIN_DESCRIPTION_FACTS = 3

LEFTOVER_RE = re.compile(
    r"(?:^|\n|\s)(?:A|Q|Answer|Question|Fact|Facts|Product|Tone|Channel|Output|Input|Note|Rewrite|Example)\s*:\s"
    r"|\brewrite (?:it|this|the)\b|\bdo not add\b|\bdon'?t add\b|\bthis includes additional facts\b"
    r"|\b(?:the )?product data\b|\bfrom the seller\b|\bas an ai\b|\blanguage model\b|\bi (?:can(?:not|'t)|am unable)\b"
    r"|\bhere (?:is|are) (?:the|your|a|an)\b|\bword count\b|\bcall to action\b|\bheadline\b|\bbullet points?\b",
    re.IGNORECASE,
)
_FIRST_PERSON_RE = re.compile(r"\b(?:I|I'm|I've|I'd|I'll|me|my|mine|myself)\b")
_BRAND_VOICE_RE = re.compile(r"\b(?:we|we're|we've|our|ours|us)\b", re.IGNORECASE)
_REVIEW_RE = re.compile(r"\b(?:\d stars?|five stars|highly recommend|would (?:definitely )?(?:buy|recommend)|arrived (?:quickly|on time|broken))\b", re.I)
_BULLET_LABEL_RE = re.compile(r"^\s*([A-Z0-9][A-Z0-9 &'’/+.,()%-]{1,60}?)\s*:\s+\S")
_VERB_HINT = {
    "is", "are", "was", "were", "be", "has", "have", "had", "can", "could", "will", "would", "should", "may", "might",
    "must", "do", "does", "did", "get", "gets", "make", "makes", "keep", "keeps", "let", "lets", "help", "helps", "come",
    "comes", "work", "works", "fit", "fits", "hold", "holds", "stay", "stays", "give", "gives", "bring", "brings",
    "use", "uses", "add", "adds", "include", "includes", "feature", "features", "offer", "offers", "provide",
    "provides", "order", "shop", "buy", "meet", "say", "enjoy", "measure", "measures", "weigh", "weighs", "take",
    "takes", "turn", "turns", "create", "creates", "need", "needs", "want", "wants", "look", "looks", "feel", "feels",
}


@dataclass
class FitReport:
    """What ``assess`` found; ``fit`` in [0, 1] and ``problems`` in words."""

    names: bool | None = None
    facts_used: list[str] = field(default_factory=list)
    facts_available: int = 0
    foreign: list[str] = field(default_factory=list)
    filler: list[str] = field(default_factory=list)
    soft_claims: list[str] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)
    voice: list[str] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)
    unlabeled_bullets: int = 0
    factless_bullets: int = 0
    bullets: int = 0
    needs_name: bool = False
    needs_facts: int = 0

    @property
    def fit(self) -> float:
        """1.0 for specific, grounded, coherent copy; each problem multiplies it down."""
        f = 1.0
        if self.needs_name and self.names is False:
            f *= 0.25
        if self.needs_facts:
            f *= min(1.0, (0.4 + 0.6 * len(self.facts_used) / self.needs_facts))
        if self.bullets:
            bad = self.unlabeled_bullets + self.factless_bullets
            f *= max(0.2, 1.0 - 0.5 * bad / self.bullets)
        f *= 0.5 ** len(self.foreign)
        f *= 0.35 ** len(self.filler)
        f *= 0.35 ** len(self.soft_claims)
        f *= 0.3 ** min(2, len(self.leftovers) + len(self.voice))
        f *= 0.85 ** min(3, len(self.fragments))
        return round(max(0.0, min(1.0, f)), 4)

    def problems(self) -> list[str]:
        out: list[str] = []
        if self.needs_name and self.names is False:
            out.append("does not name the product, its type or its brand")
        if self.needs_facts and len(self.facts_used) < self.needs_facts:
            out.append(f"uses {len(self.facts_used)} of the product's facts (needs {self.needs_facts})")
        if self.unlabeled_bullets:
            out.append(f"{self.unlabeled_bullets} bullet(s) without a label")
        if self.factless_bullets:
            out.append(f"{self.factless_bullets} bullet(s) without a fact of the product")
        if self.foreign:
            out.append("not in the product's data: " + ", ".join(f"'{w}'" for w in self.foreign[:5]))
        if self.filler:
            out.append("generic filler: " + ", ".join(f"'{w}'" for w in self.filler[:3]))
        if self.soft_claims:
            out.append("unsupported soft claims: " + ", ".join(f"'{w}'" for w in self.soft_claims[:3]))
        if self.leftovers:
            out.append("leftover prompt text: " + ", ".join(f"'{w}'" for w in self.leftovers[:3]))
        if self.voice:
            out.append("speaks as an assistant or a customer: " + ", ".join(f"'{w}'" for w in self.voice[:3]))
        if self.fragments:
            out.append(f"{len(self.fragments)} sentence fragment(s)")
        return out


def is_headline_like(spec: ChannelSpec) -> bool:
    return not spec.is_bullets and (spec.max_chars or 1000) <= 60 and not spec.max_words


def is_prose(spec: ChannelSpec) -> bool:
    return bool(spec.max_words) and (spec.max_chars is None or spec.max_chars > 400)


def fact_used(text_stems: set[str], fact: PlanFact, name_stems: frozenset[str] = frozenset()) -> bool:
    """The fact's own content words (its words that are not the product's name, which every copy
    repeats) are at least FACT_COVERAGE present in the text."""
    kw = fact.keywords()
    own = kw - name_stems
    if own:
        kw = own
    return bool(kw) and len(kw & text_stems) / len(kw) >= FACT_COVERAGE


def facts_used(text: str, facts: Sequence[PlanFact], title: str = "") -> list[PlanFact]:
    """The product's statements that ``text`` carries."""
    stems = {stem(w) for w in tokens(text)}
    names = frozenset(stem(w) for w in tokens(title))
    return [f for f in facts if f.kind != "filler" and fact_used(stems, f, names)]


def leftover_prompt_text(text: str) -> list[str]:
    return [m.group().strip() for m in LEFTOVER_RE.finditer(text or "")]


def _quotes_product(text: str, m: "re.Match[str]", data: str) -> bool:
    """True when the words around a match are copied from the product's own data: "My Pirate
    Ship" in a carrier's name, "I Taught Myself to Knit" as a book's title, are names, not a
    voice."""
    before = re.findall(r"[\w'’&-]+", text[: m.start()])[-2:]
    after = re.findall(r"[\w'’&-]+", text[m.end():])[:2]
    word = m.group().strip()
    for i in range(len(before) + 1):
        for j in range(len(after) + 1):
            if i + j < 2:
                continue
            window = " ".join([*before[len(before) - i:], word, *after[:j]]).lower()
            if window in data:
                return True
    return False


def voice_problems(text: str, product: ProductBrief) -> list[str]:
    text = text or ""
    found: list[str] = []
    matches = list(_FIRST_PERSON_RE.finditer(text))
    if matches:  # the product's words are needed only to excuse a match
        data = " ".join(re.findall(r"[\w'’&-]+", product.fact_text().lower()))
        found = [m.group() for m in matches if not _quotes_product(text, m, data)]
    if not _BRAND_VOICE_RE.search(product.fact_text()):
        found += [m.group() for m in _BRAND_VOICE_RE.finditer(text or "")]
    found += [m.group() for m in _REVIEW_RE.finditer(text or "")]
    return list(dict.fromkeys(found))


def fragments(text: str) -> list[str]:
    """Sentences of prose without any verb-like word (a CTA or a two-word exclamation is fine)."""
    out = []
    for s in sentences(text):
        low = [w.lower() for w in tokens(s)]
        if len(low) < 4:
            continue
        if any(w in _VERB_HINT or w.endswith("ed") or (w.endswith("s") and i > 0 and low[i - 1] in {"it", "this", "that", "which", "who"}) for i, w in enumerate(low)):
            continue
        out.append(s)
    return out


def assess(
    text: str,
    product: ProductBrief,
    spec: ChannelSpec,
    *,
    wording: Sequence[str] = (),
    facts: Sequence[PlanFact] | None = None,
) -> FitReport:
    """Check ``text`` for ``product`` on ``spec`` (``wording``: words a person dictated, allowed)."""
    facts = list(product_facts(product) if facts is None else facts)
    allowed = list(wording) + list(spec.cta_examples)
    claims = check_claims(text, product, wording=allowed)
    report = FitReport(
        foreign=[c.text for c in claims if c.kind == "feature" and c.supported is False],
        soft_claims=[c.text for c in claims if c.kind in ("soft", "ranking") and c.supported is False],
        filler=[f for f in filler_phrases(text) if not any(f.lower() in w.lower() for w in wording)],
        leftovers=leftover_prompt_text(text),
        voice=voice_problems(text, product),
        facts_available=len([f for f in facts if f.kind != "filler"]),
    )
    used = facts_used(text, facts, product.title)
    report.facts_used = [f.key for f in used]
    report.names = names_product(text, product.title, product.brand or "")
    if is_headline_like(spec):
        report.needs_name = True
        if not report.names:
            # "or its concrete key benefit": two content words of its own facts
            fact_words = {stem(w) for f in facts for w in content_words(f.text)}
            own = {stem(w) for w in content_words(text)} & fact_words
            report.names = len(own) >= 2
    elif spec.is_bullets:
        items = bullet_items(text)
        report.bullets = len(items)
        stems_per = [{stem(w) for w in tokens(i)} for i in items]
        report.unlabeled_bullets = sum(1 for i in items if not _BULLET_LABEL_RE.match(i))
        names = frozenset(stem(w) for w in tokens(product.title))
        report.factless_bullets = sum(1 for st in stems_per if not any(fact_used(st, f, names) for f in facts))
    elif is_prose(spec):
        report.needs_name = True
        report.needs_facts = min(MIN_DESCRIPTION_FACTS, max(1, report.facts_available))
        report.fragments = fragments(text)
    else:
        report.needs_name = False
        if not report.names and not used:
            report.needs_facts = 1
    return report


__all__ = [
    "FitReport",
    "LEFTOVER_RE",
    "assess",
    "facts_used",
    "fragments",
    "is_headline_like",
    "is_prose",
    "leftover_prompt_text",
    "voice_problems",
]
