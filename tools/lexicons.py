"""Phrase lists shared by validators, post-processing, the request policy and the critics.

Kept in one place (and in ``tools``, the lowest layer that needs them) so the CTA critic and the
chat policy agree on what a call to action is, and validators and post-processing agree on what
an echoed instruction looks like.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from copyloop.tools.text import sentence_spans


def _rx(words: list[str]) -> re.Pattern[str]:
    """Case-insensitive alternation with word boundaries that also work next to '#' and '%'."""
    alts = sorted(set(words), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])", re.IGNORECASE)


# --- calls to action -------------------------------------------------------------------------


class CtaPhrase(NamedTuple):
    pattern: str  # regex, matched case-insensitively with word boundaries
    strength: float  # 1.0 strong (buy now), 0.7 medium (shop the range), 0.4 soft (learn more)
    purchase: bool  # drives a purchase; these are what CTA-forbidden channels ban


_NOW = r"(?:now|today|here|online|instantly)"
CTA_PHRASES: tuple[CtaPhrase, ...] = (
    CtaPhrase(rf"buy (?:it |yours |one |now|today)?{_NOW}?", 1.0, True),
    CtaPhrase(rf"order (?:yours |one |it |now|today)?{_NOW}?", 1.0, True),
    CtaPhrase(rf"shop {_NOW}", 1.0, True),
    CtaPhrase(r"add (?:it |this |one )?to (?:your )?(?:cart|basket|bag)", 1.0, True),
    CtaPhrase(r"(?:get|grab|claim|snag|score) (?:yours|one|it|them) (?:now|today|while)", 1.0, True),
    CtaPhrase(r"(?:call|text|reply|click|tap) (?:now|today|here|yes|y|to (?:order|buy|shop|claim|get|save))", 1.0, True),
    CtaPhrase(r"don'?t miss (?:out|it)", 0.9, True),
    CtaPhrase(r"(?:purchase (?:now|today|yours|one|it)|checkout now|check out now)", 0.9, True),
    CtaPhrase(r"(?:get|grab|claim|snag) yours", 0.8, True),
    CtaPhrase(r"shop (?:the|our|this|all|for|with)\b", 0.7, True),
    CtaPhrase(r"visit (?:our|the) (?:store|shop|site|website)", 0.7, True),
    CtaPhrase(r"(?:sign up|subscribe|book (?:now|today|yours)|reserve (?:yours|now)|pre-?order)", 0.8, True),
    CtaPhrase(r"(?:make it yours|bring (?:it|one|them) home|treat yourself)", 0.7, True),
    CtaPhrase(r"(?:give|gift) (?:it|one|them) (?:to|this)", 0.5, False),
    CtaPhrase(r"(?:try it|try one|try them)(?: (?:today|now))?", 0.6, False),
    CtaPhrase(r"(?:discover|explore) (?:more|yours|the (?:range|collection))", 0.5, False),
    CtaPhrase(r"(?:learn|find out|see) (?:more|why|how)", 0.4, False),
    CtaPhrase(r"(?:available|in stock) (?:now|today)", 0.4, True),
    CtaPhrase(r"(?:upgrade|switch) (?:today|now|to)", 0.6, False),
)
_CTA_RES = tuple((re.compile(r"(?<![\w-])" + p.pattern + r"(?![\w-])", re.IGNORECASE), p) for p in CTA_PHRASES)

# Imperative verbs that open a sentence as a call to action ("Shop the set.", "Get ready to ride").
CTA_IMPERATIVES = {
    "shop": (0.8, True), "order": (0.8, True), "buy": (0.9, True), "grab": (0.7, True),
    "get": (0.5, False), "add": (0.5, False), "discover": (0.5, False), "explore": (0.5, False),
    "try": (0.5, False), "bring": (0.5, False), "treat": (0.5, False), "give": (0.4, False),
    "upgrade": (0.6, False), "start": (0.4, False), "join": (0.5, False), "visit": (0.6, True),
    "book": (0.7, True), "reserve": (0.7, True), "claim": (0.7, True), "save": (0.4, False),
    "call": (0.6, True), "reply": (0.7, True), "tap": (0.7, True), "click": (0.7, True),
    "snag": (0.7, True), "gift": (0.5, False), "pick": (0.5, False), "make": (0.3, False),
    "see": (0.3, False), "find": (0.3, False), "learn": (0.4, False), "unlock": (0.5, False),
}
_URGENCY_RE = re.compile(r"\b(?:now|today|tonight|while (?:supplies|stocks?) last)\b", re.IGNORECASE)


class CtaMatch(NamedTuple):
    text: str
    strength: float
    purchase: bool
    start: int


def find_ctas(text: str) -> list[CtaMatch]:
    """Calls to action in ``text``, strongest first (phrase lexicon plus sentence-initial
    imperatives; urgency words such as "now"/"today" in the same sentence strengthen them)."""
    found: list[CtaMatch] = []
    taken: list[tuple[int, int]] = []
    for rx, phrase in _CTA_RES:
        for m in rx.finditer(text or ""):
            if any(a < m.end() and m.start() < b for a, b in taken):
                continue
            taken.append((m.start(), m.end()))
            found.append(CtaMatch(m.group(), phrase.strength, phrase.purchase, m.start()))
    for a, b in sentence_spans(text or ""):
        sent = text[a:b]
        m = re.match(r"[\W_]*([A-Za-z']+)", sent)
        if not m:
            continue
        verb = m.group(1).lower()
        if verb not in CTA_IMPERATIVES:
            continue
        start = a + m.start(1)
        if any(x <= start < y for x, y in taken):
            continue
        strength, purchase = CTA_IMPERATIVES[verb]
        if _URGENCY_RE.search(sent):
            strength = min(1.0, strength + 0.3)
        phrase = " ".join(re.split(r"[.!?,;:]", sent[m.start(1) :])[0].split()[:4])
        found.append(CtaMatch(phrase, strength, purchase, start))
    found.sort(key=lambda c: (-c.strength, c.start))
    return found


CTA_REQUEST_RE = re.compile(
    r"\b(?:cta|call[- ]to[- ]action|calls to action|buy now|shop now|order now|order today|add to cart"
    r"|tell (?:them|people|customers|shoppers|readers) to (?:buy|order|shop))\b",
    re.IGNORECASE,
)

# --- superlatives and promotional phrases ----------------------------------------------------

SUPERLATIVES = [
    r"best", r"#\s?1", r"no\.\s?1", r"number one", r"numero uno", r"top[- ]rated", r"highest[- ]rated",
    r"best[- ]selling", r"best[- ]sellers?", r"bestsellers?", r"top[- ]selling", r"hottest", r"greatest",
    r"unbeatable", r"unmatched", r"unrivall?ed", r"world'?s (?:best|finest|first|leading)", r"finest",
    r"most popular", r"top[- ]of[- ]the[- ]line", r"second to none", r"industry[- ]leading", r"market[- ]leading",
]
SUPERLATIVE_RE = _rx(SUPERLATIVES)

PROMO_PHRASES = [
    r"free shipping", r"free delivery", r"ships free", r"free returns", r"on sale", r"sale", r"hot sale",
    r"discount(?:ed)?", r"\d+\s?%\s?off", r"percent off", r"limited[- ]time(?: offer| only)?",
    r"best[- ]sellers?", r"bestsellers?", r"buy now", r"hot item", r"deals?", r"clearance", r"lowest price",
    r"cheapest", r"special offer", r"free gift", r"coupons?", r"promo(?: code)?", r"save \$?\d+%?",
    r"satisfaction guaranteed", r"100\s?% satisfaction", r"money[- ]back", r"brand new", r"new arrival",
    r"bogo", r"buy one get one", r"while supplies last", r"today only", r"act now", r"price drop",
]
PROMO_RE = _rx(PROMO_PHRASES)

# --- words that never belong in product copy --------------------------------------------------

# A 135M model sampling at temperature sometimes writes slurs, sexual-violence or drug words into
# copy for a child's toy. These are refused as a hard rule on every channel unless the product's
# own data uses the word (a book title, a film tie-in). Kept short and unambiguous on purpose:
# words with innocent senses in a catalog ("nude" heels, "XXX-Large", "dick" in "Moby Dick",
# "tranny" for a gearbox, "kill switch") are not here.
OFFENSIVE_TERMS = [
    r"fuck\w*", r"motherfuck\w*", r"shit(?:s|ty|ting|head)?", r"bullshit", r"bitch(?:es|y)?", r"bastards?",
    r"assholes?", r"arseholes?", r"cunts?", r"dickheads?", r"twats?", r"wankers?",
    r"sluts?", r"slutty", r"whores?", r"porn\w*",
    r"molest\w*", r"rap(?:e|es|ed|ing|ist|ists)", r"pedo(?:s|phile\w*|philia)?", r"paedo\w*", r"incest\w*",
    r"bestiality", r"n[i1]gg\w*", r"fag(?:s|got\w*)?", r"retard(?:s|ed)?", r"spastic", r"kike", r"wetback", r"nazis?", r"kill (?:yourself|urself)", r"kys", r"suicid\w*", r"cocaine", r"heroin", r"meth",
    r"crack pipe", r"terroris\w*", r"genocide",
]
OFFENSIVE_RE = _rx(OFFENSIVE_TERMS)


def offensive_terms(text: str) -> list[str]:
    """The offensive words in ``text``, lower-cased, in order of appearance (repeats dropped)."""
    seen: list[str] = []
    for m in OFFENSIVE_RE.finditer(text or ""):
        word = m.group().lower()
        if word not in seen:
            seen.append(word)
    return seen


# --- echoes of the prompt and chat chatter ---------------------------------------------------

# Anywhere in the output these betray an echoed instruction or an unfilled template.
TEMPLATE_ECHO_RE = re.compile(
    r"(?:\{\{?\s*\w+\s*\}?\}|\{%|<\s*(?:product|title|brand|name|insert)[^>]*>"
    r"|\[(?:product|brand|title|name|link|url|your [\w ]+|insert[\w ]*|company|store|website|price|x+)\]"
    r"|\bas an ai\b|\blanguage model\b|\bi(?:'m| am) (?:an ai|sorry|unable)|\bi cannot\b|\bi can't help"
    r"|\bhere(?:'s| is| are) (?:a|an|the|your|my|some)\b|\bsure[!,.]|\bcertainly[!,.]|\bi hope this\b"
    r"|\blet me know\b|\bword count\b|\bcharacter count\b|\(\s*\d+\s*(?:words|characters|chars)\s*\)"
    r"|\bwrite (?:a|an|the) (?:product|headline|description|title|copy)\b|\bignore (?:all |the )?previous\b"
    r"|\bfacts?:\s|\bchannel:\s|\binstructions?:\s|\bbrand voice:\s)",
    re.IGNORECASE,
)

# Leading lines of chat chatter that post-processing drops ("Sure! Here is your headline:").
PREAMBLE_RE = re.compile(
    r"^\s*(?:(?:sure|certainly|absolutely|of course|okay|ok|great|here you go)[!,.:]*\s*)*"
    r"(?:(?:here(?:'s| is| are)|below is|this is)\b[^\n]{0,80}?(?::|\n|$)|(?:sure|certainly|absolutely|of course|okay|ok)[!,.]+\s*$)",
    re.IGNORECASE,
)
# Trailing chatter lines.
TRAILER_RE = re.compile(
    r"^\s*(?:i hope (?:this|that|you)|let me know|feel free to|note:|notes:|\(?word count|\(?character count"
    r"|\(?\d+\s*(?:words|characters|chars)\)?\s*$|this (?:copy|description|headline|text) (?:is|has|uses))",
    re.IGNORECASE,
)
# Labels a model puts before the copy ("Headline:", "Product Description:", "Bullet 1:").
LABEL_RE = re.compile(
    r"^\s*(?:\*\*)?(?:(?:google |meta |amazon |seo |email |sms |product |primary |meta |ad |short |final |"
    r"revised |new |improved )*(?:headline|description|title|subject(?: line)?|text|copy|bullet(?: point)?s?|"
    r"message|sms|output|answer|response|tagline|caption|meta description|primary text|body|draft|version|"
    r"option|variant)(?:\s*#?\d+)?)(?:\*\*)?\s*[:\-–—]\s*(?:\*\*)?",
    re.IGNORECASE,
)
# Lines that echo the prompt's own fields; dropped whole.
PROMPT_FIELD_LINE_RE = re.compile(
    r"^\s*(?:product|facts?|channel|category|brand voice|audience|rules?|limits?|constraints?|instructions?|"
    r"price|tone|exemplars?|examples?|feedback|length)\s*:\s",
    re.IGNORECASE,
)

__all__ = [
    "CTA_IMPERATIVES",
    "CTA_PHRASES",
    "CTA_REQUEST_RE",
    "CtaMatch",
    "CtaPhrase",
    "LABEL_RE",
    "PREAMBLE_RE",
    "PROMO_PHRASES",
    "PROMO_RE",
    "PROMPT_FIELD_LINE_RE",
    "SUPERLATIVES",
    "SUPERLATIVE_RE",
    "TEMPLATE_ECHO_RE",
    "TRAILER_RE",
    "find_ctas",
]
