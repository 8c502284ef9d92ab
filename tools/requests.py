"""A person's (or a critic's) revision request, read as changes to the content plan.

Issue #11, item 9: "mention that it works on induction" must put that fact in the plan, "remove
the sentence about kids" must take it out, "shorter" must use fewer facts, a tone word changes the
wording, and a request that cannot be met must be answered with the reason — never silently
ignored. ``parse_requests`` turns free text into a ``Requests`` plan edit plus the parts it could
not map (``Unmet``); ``check_applied`` verifies afterwards, on the new text, what was done.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

from copyloop.tools.plan import PlanFact, Requests
from copyloop.tools.text import word_count
from copyloop.tools.vocab import content_words, stem, tokens

_CLAUSE_RE = re.compile(r"\s*(?:[.;!?\n]+|,\s*(?:and\s+)?(?=(?:please\s+)?(?:make|add|mention|include|remove|drop|say|use|keep|cut|delete|highlight|more|less|a bit|slightly|shorter|longer|but))|\s+and\s+(?=(?:also\s+)?(?:make|add|mention|include|remove|drop|say|use|keep|cut|delete|highlight|lose|omit)\b))\s*", re.I)
_INCLUDE_RE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+|also\s+)*(?:mention|add|include|highlight|emphasi[sz]e|stress|feature|"
    r"call out|point out|note|talk about|bring up|use|say|state|tell (?:them|people|shoppers|buyers))\s+"
    r"(?:that\s+|how\s+)?(?:it\s+(?:is|has|comes|works)?\s*|its\s+|the fact that\s+(?:it\s+)?)?(?P<what>.+)$",
    re.I,
)
_EXCLUDE_RE = re.compile(
    r"^(?:please\s+|can you\s+|could you\s+)*(?:remove|drop|delete|cut|lose|omit|skip|leave out|take out|get rid of|"
    r"don'?t (?:mention|say|talk about)|do not (?:mention|say|talk about)|no more|without|stop (?:mentioning|saying))\s+"
    r"(?:the\s+|that\s+|any\s+|all\s+)?(?:(?:sentence|line|bullet|part|bit|mention|word|words|phrase|stuff|claim)s?\s+)?"
    r"(?:about|on|mentioning|with|that says|saying|of)?\s*(?:the\s+)?(?P<what>.+)$",
    re.I,
)
_SHORTER_RE = re.compile(r"\b(?:short(?:er|en)?|less|fewer|trim|concise|brief(?:er)?|tighten|tighter|cut (?:it )?down|too long)\b", re.I)
_LONGER_RE = re.compile(r"\b(?:long(?:er)?|more detail(?:ed|s)?|expand|elaborate|add more|fuller|too short|at least \d+ (?:of the )?(?:product'?s )?facts)\b", re.I)
_TONES = ("playful", "fun", "practical", "formal", "professional", "warm", "calm", "bold", "friendly", "casual",
          "serious", "elegant", "luxurious", "energetic", "simple", "plain", "technical", "cozy", "upbeat")
_TONE_RE = re.compile(r"\b(" + "|".join(_TONES) + r")\b", re.I)
_QUOTED_RE = re.compile(r"[\"“']([^\"“”']{2,120})[\"”']")
_SAY_RE = re.compile(r"\b(?:say|read|be|use the (?:words?|phrase)|to)\s*[:\-]?\s*(?P<what>[^,;]+)$", re.I)
_CRITIC_HINTS = re.compile(r"^(?:shorten|cut|use at least|name the product|drop|remove|rewrite|replace|add a|end with|make it)", re.I)


@dataclass
class Unmet:
    """Part of a request that cannot be done, and why (shown to the person)."""

    request: str
    reason: str


@dataclass
class ParsedRequests:
    requests: Requests
    unmet: list[Unmet] = field(default_factory=list)
    understood: list[str] = field(default_factory=list)
    """What the plan will do, in words ("mention: Works on gas, electric, induction ...")."""


def _best_fact(phrase: str, facts: Sequence[PlanFact]) -> PlanFact | None:
    want = {stem(w) for w in content_words(phrase)}
    if not want:
        return None
    best: tuple[float, PlanFact] | None = None
    for f in facts:
        have = f.keywords() | {stem(w) for w in tokens(f.label)}
        hit = len(want & have)
        if not hit:
            continue
        score = hit / len(want) + 0.01 * f.salience
        if best is None or score > best[0]:
            best = (score, f)
    if best is None or best[0] < 0.5:
        return None
    return best[1]


def _focus_words(phrase: str, fact: PlanFact) -> list[str]:
    """The request's own words that the fact contains, in the fact's spelling."""
    have = {stem(w): w for w in tokens(fact.text)}
    out = []
    for w in content_words(phrase):
        hit = have.get(stem(w))
        if hit:
            out.append(hit[:1].upper() + hit[1:])
    return out


def parse_requests(
    feedback: Sequence[str], facts: Sequence[PlanFact], *, human: Sequence[str] | None = None
) -> ParsedRequests:
    """Plan edits from ``feedback`` (human requests and critic instructions). ``human`` marks which
    ones a person wrote: only those can be unmet (a critic's hint that maps to nothing is dropped)."""
    include: list[str] = []
    focus: list[str] = []
    exclude: list[str] = []
    wording: list[str] = []
    length = 0
    tone = ""
    unmet: list[Unmet] = []
    understood: list[str] = []
    human_set = set(human if human is not None else feedback)
    for note in feedback:
        is_human = note in human_set
        for m in _QUOTED_RE.finditer(note):
            if is_human and re.search(r"\b(?:say|read|use|headline|title|subject|wording|words?|phrase|call it)\b", note, re.I):
                wording.append(m.group(1).strip())
                understood.append(f"use the wording \"{m.group(1).strip()}\"")
        for clause in [c for c in _CLAUSE_RE.split(note) if c and c.strip()]:
            clause = clause.strip()
            if _SHORTER_RE.search(clause) and not re.search(r"\b(?:not|no) (?:too )?short", clause, re.I):
                length = -1
                understood.append("shorter: fewer facts")
            elif _LONGER_RE.search(clause):
                length = 1
                understood.append("longer: more facts")
            tm = _TONE_RE.search(clause)
            if tm and is_human:
                tone = tm.group(1).lower()
                understood.append(f"tone: {tone}")
            ex = _EXCLUDE_RE.match(clause)
            if ex:
                what = re.sub(r"\b(?:please|thanks|thank you)\b", "", ex.group("what"), flags=re.I).strip(" .")
                what = re.split(r"\s+(?:and|but)\s+(?:make|keep|add)\b", what, flags=re.I)[0]
                terms = [w for w in content_words(what)] or [w for w in tokens(what) if len(w) > 2]
                if terms:
                    exclude.extend(terms)
                    understood.append(f"leave out: {', '.join(terms)}")
                continue
            inc = _INCLUDE_RE.match(clause)
            if inc and is_human:
                what = inc.group("what").strip(" .")
                if _QUOTED_RE.search(clause):
                    continue  # dictated wording, handled above
                if re.match(r"^(?:a |the )?(?:cta|call to action|emoji|hashtag|exclamation)", what, re.I):
                    continue
                fact = _best_fact(what, facts)
                if fact is not None:
                    include.append(fact.key)
                    focus.extend(_focus_words(what, fact))
                    understood.append(f"mention: {fact.text[:80]}")
                else:
                    unmet.append(Unmet(clause, f"the product's data says nothing about '{what}', so it cannot be mentioned; add it to the product's facts first if it is true"))
                continue
            sm = re.search(r"\b(?:make|have) (?:the |it |this )?(?:headline|title|subject(?: line)?|copy|text)?\s*say\s+(?P<what>.+)$", clause, re.I)
            if sm and is_human and not _QUOTED_RE.search(clause):
                what = sm.group("what").strip(" .")
                fact = _best_fact(what, facts)
                if fact is not None:
                    include.append(fact.key)
                    focus.extend(_focus_words(what, fact))
                    understood.append(f"mention: {fact.text[:80]}")
                else:
                    wording.append(what)
                    understood.append(f"use the wording \"{what}\"")
    req = Requests(
        include=tuple(dict.fromkeys(include)),
        exclude_terms=tuple(dict.fromkeys(exclude)),
        length=length,
        tone=tone,
        wording=tuple(dict.fromkeys(wording)),
        focus=tuple(dict.fromkeys(focus)),
    )
    return ParsedRequests(req, unmet, list(dict.fromkeys(understood)))


def check_applied(req: Requests, facts: Sequence[PlanFact], before: str, after: str, title: str = "") -> tuple[list[str], list[str]]:
    """(done, not done): each part of ``req`` checked on the new text ``after``."""
    done: list[str] = []
    missing: list[str] = []
    after_stems = {stem(w) for w in tokens(after)}
    by_key = {f.key: f for f in facts}
    for key in req.include:
        fact = by_key.get(key)
        if fact is None:
            continue
        kw = fact.keywords() - {stem(w) for w in tokens(title)} or fact.keywords()
        covered = len(kw & after_stems) / max(1, len(kw))
        (done if covered >= 0.5 else missing).append(f"mention: {fact.text[:80]}")
    for term in req.exclude_terms:
        present = stem(term) in after_stems
        (missing if present else done).append(f"leave out: {term}")
    if req.length:
        b, a = word_count(before), word_count(after)
        ok = (a < b) if req.length < 0 else (a > b)
        (done if ok else missing).append(("shorter" if req.length < 0 else "longer") + f" ({b} -> {a} words)")
    for w in req.wording:
        (done if w.lower() in after.lower() else missing).append(f"wording: \"{w}\"")
    return done, missing


__all__ = ["ParsedRequests", "Unmet", "check_applied", "parse_requests"]
