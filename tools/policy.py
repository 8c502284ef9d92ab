"""Which human chat requests to refuse before running the loop, and why.

A marketer's message ("shorter", "more playful", "mention the 2-year warranty") is a critique fed
into the refinement loop. Some requests cannot be honoured without breaking a hard rule: a
superlative or a CTA on a channel that forbids it, a medical claim, a fact the product does not
have, a length the channel does not allow. ``check_request`` names those up front so the session
can refuse with the reason instead of producing copy that the critics would reject anyway.
Removal requests ("no CTA", "drop the warranty") are never refused.
"""

from __future__ import annotations

import re

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.claims import unsupported_claims
from copyloop.tools.emoji import has_emoji
from copyloop.tools.lexicons import CTA_REQUEST_RE, PROMO_RE, SUPERLATIVE_RE, find_ctas
from copyloop.tools.schemas import ProductBrief

_CLAUSE_SPLIT_RE = re.compile(
    r"[.;!?\n]+\s*|,\s*|\s+but\s+|\s+and\s+(?=(?:also\s+)?(?:add|mention|say|call|claim|include|write|tell|use|put|highlight|"
    r"emphasi[sz]e|stress|remove|drop|delete|cut|make|keep|state|describe|note)\b)",
    re.IGNORECASE,
)
_REMOVAL_START_RE = re.compile(
    r"^\s*(?:please\s+|pls\s+|can you\s+|could you\s+)?(?:remove|drop|delete|cut|lose|omit|exclude|skip|avoid|stop|"
    r"get rid of|take out|tone down|no|without|don'?t|do not|never|less|fewer|not|nothing|lose)\b",
    re.IGNORECASE,
)
_REMOVAL_INNER_RE = re.compile(r"\b(?:without|instead of|rather than|but not|except|minus)\b", re.IGNORECASE)
_ADDITIVE_RE = re.compile(
    r"\b(?:say|says|saying|call|calling|claim|claiming|add|adding|mention|mentioning|state|include|including|write|tell|"
    r"describe|position|market|highlight|emphasi[sz]e|stress|put|note|point out|promote|advertise|brag|boast|insert|"
    r"feature|talk about|use the (?:word|phrase)|it'?s|it is|as the|as a)\b",
    re.IGNORECASE,
)
_QUOTED_RE = re.compile(r"(?:(?<=\s)|^)[\"“']([^\"“”]{2,200}?)[\"”'](?=\s|$|[.,;:!?])|‘([^’]{2,200})’")
_EMOJI_REQUEST_RE = re.compile(r"\b(?:emojis?|emoticons?|smileys?)\b", re.IGNORECASE)
_CAPS_REQUEST_RE = re.compile(r"\b(?:all[- ]caps|all capitals|in capitals|uppercase|upper case|shout)\b", re.IGNORECASE)
# Text about the copy itself, not about the product: never a product claim.
_META_RE = re.compile(
    r"\b(?:by|to)\s+\d+\s*%|\b\d+\s*(?:characters?|chars?|words?|sentences?|bullets?(?: points?)?|lines?|emojis?|"
    r"exclamation(?: marks?)?|paragraphs?|variants?|versions?|options?|drafts?|hashtags?|times)\b|"
    r"\b(?:bullet|line|sentence|option|variant|version|draft|paragraph|point|number|no\.?)\s*#?\d+\b|"
    r"\b(?:first|second|third|fourth|fifth|last) (?:sentence|bullet|line|paragraph|point|word)\b",
    re.IGNORECASE,
)
_COPY_META_RE = re.compile(r"\b(?:copy|version|draft|text|headline|description|wording|bullets?|title|subject line|ad)\b", re.IGNORECASE)
_LENGTH_RE = re.compile(
    r"(?P<qual>under|below|at most|max(?:imum)?|up to|less than|fewer than|no more than|within|shorter than|"
    r"at least|over|more than|longer than|min(?:imum)?|above|about|around|roughly|exactly)?\s*"
    r"(?P<n>\d{1,5})\s*(?P<unit>characters?|chars?|words?)\b",
    re.IGNORECASE,
)
_UPPER_QUALS = {"under", "below", "at most", "max", "maximum", "up to", "less than", "fewer than", "no more than", "within", "shorter than"}
_LOWER_QUALS = {"at least", "over", "more than", "longer than", "min", "minimum", "above"}


def _clauses(request: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_SPLIT_RE.split(request or "") if c and c.strip()]


def _additive_part(clause: str) -> str:
    """The part of a clause that asks to add something ("" for a removal request)."""
    if _REMOVAL_START_RE.match(clause):
        return ""
    inner = _REMOVAL_INNER_RE.search(clause)
    return clause[: inner.start()] if inner else clause


def _length_reasons(clause: str, spec: ChannelSpec) -> list[str]:
    reasons = []
    for m in _LENGTH_RE.finditer(clause):
        n = int(m.group("n"))
        qual = (m.group("qual") or "").lower()
        lo, hi = (0, n) if qual in _UPPER_QUALS else (n, 10**9) if qual in _LOWER_QUALS else (n, n)
        if m.group("unit").lower().startswith("w"):
            cmin, cmax, what = spec.min_words or 0, spec.max_words, "words"
        elif spec.is_bullets:
            cmin, cmax, what = spec.item_min_chars or 0, spec.item_max_chars, "characters per bullet"
        else:
            cmin, cmax, what = spec.min_chars or 0, spec.max_chars, "characters"
        if cmax is not None and lo > cmax:
            reasons.append(f"{spec.name} allows at most {cmax} {what}, so {m.group().strip()!r} is not possible")
        elif hi < cmin:
            reasons.append(f"{spec.name} needs at least {cmin} {what}, so {m.group().strip()!r} is not possible")
    return reasons


def _quoted(clause: str) -> list[str]:
    return [a or b for a, b in _QUOTED_RE.findall(clause)]


def check_request(request: str, spec: ChannelSpec, product: ProductBrief) -> list[str]:
    """Reasons to refuse a human chat request on ``spec`` for ``product`` ([] = go ahead).

    Refused: a call to action where the channel forbids one; superlatives, promotional phrases,
    emoji or ALL CAPS where the channel forbids them; phrases the channel bans; lengths outside the
    channel's limits; any claim (number, material, certification, warranty, compatibility,
    ranking, offer, health/medical) that the product's facts do not support. Style requests
    ("shorter", "more playful") and removal requests ("no CTA", "drop the warranty") pass.
    """
    reasons: list[str] = []
    for clause in _clauses(request):
        add = _additive_part(clause)
        if not add.strip():
            continue
        quoted = _quoted(add)
        additive = bool(_ADDITIVE_RE.search(add)) or bool(quoted)
        subject = " ".join(quoted) if quoted else add

        if spec.cta == "forbidden":
            asked = CTA_REQUEST_RE.search(add)
            in_quote = [c for q in quoted for c in find_ctas(q) if c.purchase and c.strength >= 0.7]
            if asked or in_quote:
                what = asked.group() if asked else in_quote[0].text
                reasons.append(f"{spec.name} does not allow a call to action ({what!r}); its copy must not tell the reader to buy")
        if spec.forbid_superlatives and additive:
            sup = SUPERLATIVE_RE.search(subject)
            if sup:
                reasons.append(
                    f"{spec.name} does not allow superlative claims such as {sup.group()!r} ('best', '#1', 'top rated')"
                )
        if spec.forbid_promo and additive:
            promo = PROMO_RE.search(subject)
            if promo:
                reasons.append(f"{spec.name} does not allow promotional phrases such as {promo.group()!r}")
        if not spec.allow_emoji and (has_emoji(add) or (_EMOJI_REQUEST_RE.search(add) and (additive or re.search(r"\b(?:more|with|some)\b", add, re.I)))):
            reasons.append(f"{spec.name} does not allow emoji")
        if not spec.allow_shouting and _CAPS_REQUEST_RE.search(add) and not re.search(r"\b(?:lower|normal|sentence|title)\s*case\b", add, re.I):
            reasons.append(f"{spec.name} does not allow ALL-CAPS shouting")
        for phrase in spec.banned_phrases:
            if phrase.strip() and re.search(re.escape(phrase), subject, re.IGNORECASE) and additive:
                reasons.append(f"{phrase!r} is banned on {spec.name}")
        reasons += _length_reasons(add, spec)

        claim_text = _META_RE.sub(" ", subject)
        # a person's own wording is allowed (content_words=False); claims in it are still checked,
        # except a superlative about the copy itself ("make it the best copy you can")
        about_copy = bool(_COPY_META_RE.search(claim_text))
        for claim in unsupported_claims(claim_text, product, content_words=False):
            if claim.kind == "soft" and (about_copy or any("superlative" in r for r in reasons)):
                continue
            if claim.kind == "health":
                reasons.append(f"Cannot claim {claim.text!r}: it is a health/medical claim the product facts do not support")
            else:
                reasons.append(
                    f"Cannot claim {claim.text!r}: {claim.reason}. Add it to the product's facts first if it is true"
                )
    return list(dict.fromkeys(reasons))


__all__ = ["check_request"]
