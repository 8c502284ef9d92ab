"""Channel rules checked in code: lengths, encoding, emoji, banned/promo/superlative phrases,
shouting, bullet structure and leftovers of the prompt.

Every message is a revision instruction ("Shorten to ≤30 characters (now 41)") because the
drafter feeds the messages of failed rules back to the model verbatim.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from pydantic import BaseModel, Field

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.emoji import find_emoji
from copyloop.tools.gsm import sms_length
from copyloop.tools.lexicons import PROMO_RE, SUPERLATIVE_RE, TEMPLATE_ECHO_RE, offensive_terms
from copyloop.tools.text import bullet_items, sentence_spans, visible_len, word_count


class RuleViolation(BaseModel):
    """One broken channel rule. ``hard`` violations block a draft; soft ones only cost score."""

    rule: str = Field(..., description="rule id, e.g. 'max_chars', 'emoji', 'promo'")
    message: str = Field(..., description="what to change, phrased as an instruction")
    hard: bool = True
    details: dict[str, Any] = Field(default_factory=dict)


_CAPS_WORD_RE = re.compile(r"(?<![\w'’])[A-Z][A-Z'’\-]*[A-Z](?![\w'’])")
_LEAD_IN_RE = re.compile(r"^[^a-z:\n]{2,60}:\s")  # "DURABLE BUILD: ..." opening an Amazon bullet
HASHTAG_RE = re.compile(r"(?<![\w&#/])#[A-Za-z][\w]*")
_REPEATED_PUNCT_RE = re.compile(r"[!?]{2,}|\.{4,}|,{2,}")
_MARKDOWN_RE = re.compile(r"\*\*|__|```|^#{1,6}\s|^\s*[-*]\s+\[[ x]\]", re.MULTILINE)


def _quote_list(items: Iterable[str], limit: int = 4) -> str:
    uniq = list(dict.fromkeys(items))
    shown = ", ".join(f"'{i}'" for i in uniq[:limit])
    return shown + (f" and {len(uniq) - limit} more" if len(uniq) > limit else "")


def _phrase_re(phrase: str) -> re.Pattern[str]:
    escaped = re.escape(phrase.strip())
    left = r"(?<![\w])" if phrase[:1].isalnum() else ""
    right = r"(?![\w])" if phrase[-1:].isalnum() else ""
    return re.compile(left + escaped + right, re.IGNORECASE)


def _length_rules(text: str, spec: ChannelSpec) -> list[RuleViolation]:
    out: list[RuleViolation] = []
    if spec.gsm7:
        sms = sms_length(text, spec.max_chars or 160, spec.ucs2_max_chars or spec.max_chars or 160)
        if not sms.fits:
            if sms.encoding == "UCS-2":
                msg = (
                    f"Shorten to ≤{sms.limit} characters, or replace the non-GSM characters "
                    f"{_quote_list(sms.non_gsm)} to get the full {spec.max_chars} (now {sms.units} UCS-2 units)"
                )
            else:
                msg = f"Shorten to ≤{sms.limit} characters (now {sms.units}; {{ }} [ ] ~ ^ | \\ € count as 2)"
            out.append(RuleViolation(rule="sms_length", message=msg, details=sms._asdict()))
    else:
        n = visible_len(text)
        if spec.max_chars is not None and n > spec.max_chars:
            out.append(
                RuleViolation(
                    rule="max_chars",
                    message=f"Shorten to ≤{spec.max_chars} characters (now {n})",
                    details={"chars": n, "limit": spec.max_chars},
                )
            )
        if spec.min_chars is not None and n < spec.min_chars:
            out.append(
                RuleViolation(
                    rule="min_chars",
                    message=f"Lengthen to at least {spec.min_chars} characters (now {n}) using the product facts",
                    details={"chars": n, "limit": spec.min_chars},
                )
            )
        if spec.target_min_chars is not None and n < spec.target_min_chars:
            out.append(
                RuleViolation(
                    rule="target_min_chars",
                    hard=False,
                    message=f"Aim for {spec.target_min_chars}-{spec.target_max_chars or spec.max_chars} characters (now {n})",
                    details={"chars": n},
                )
            )
        if spec.target_max_chars is not None and n > spec.target_max_chars and (spec.max_chars is None or n <= spec.max_chars):
            out.append(
                RuleViolation(
                    rule="target_max_chars",
                    hard=False,
                    message=f"Aim for at most {spec.target_max_chars} characters (now {n})",
                    details={"chars": n},
                )
            )
    wc = word_count(text)
    if spec.max_words is not None and wc > spec.max_words:
        out.append(
            RuleViolation(
                rule="max_words",
                message=f"Shorten to ≤{spec.max_words} words (now {wc})",
                details={"words": wc, "limit": spec.max_words},
            )
        )
    if spec.min_words is not None and wc < spec.min_words:
        out.append(
            RuleViolation(
                rule="min_words",
                message=f"Lengthen to at least {spec.min_words} words (now {wc}) with more product facts and benefits",
                details={"words": wc, "limit": spec.min_words},
            )
        )
    return out


def _item_rules(text: str, spec: ChannelSpec) -> list[RuleViolation]:
    out: list[RuleViolation] = []
    items = bullet_items(text)
    n = len(items)
    if n > spec.items:
        out.append(
            RuleViolation(
                rule="items_count",
                message=f"Use at most {spec.items} bullet points, one per line (now {n})",
                details={"items": n},
            )
        )
    elif n < spec.required_items:
        out.append(
            RuleViolation(
                rule="items_count",
                message=f"Write {spec.items} bullet points, one per line (now {n})",
                details={"items": n},
            )
        )
    elif n < spec.items:
        out.append(
            RuleViolation(
                rule="items_count",
                hard=False,
                message=f"Add {spec.items - n} more bullet point(s) from the product facts (now {n} of {spec.items})",
                details={"items": n},
            )
        )
    for i, item in enumerate(items, 1):
        length = visible_len(item)
        if spec.item_max_chars is not None and length > spec.item_max_chars:
            out.append(
                RuleViolation(
                    rule="item_max_chars",
                    message=f"Shorten bullet {i} to ≤{spec.item_max_chars} characters (now {length})",
                    details={"item": i, "chars": length},
                )
            )
        if spec.item_min_chars is not None and length < spec.item_min_chars:
            out.append(
                RuleViolation(
                    rule="item_min_chars",
                    message=f"Expand bullet {i} to at least {spec.item_min_chars} characters with a fact and its benefit (now {length})",
                    details={"item": i, "chars": length},
                )
            )
    return out


def shouted_words(text: str, allowed: Iterable[str] = ()) -> list[str]:
    """ALL-CAPS words of four or more letters, ignoring a "FEATURE NAME:" lead-in at the start of
    a line (Amazon's bullet convention) and words in ``allowed`` (brand names, acronyms from the
    product facts)."""
    allow = {a.upper() for a in allowed}
    found: list[str] = []
    for line in text.splitlines():
        lead = _LEAD_IN_RE.match(line)
        body = line[lead.end() :] if lead else line
        for w in _CAPS_WORD_RE.findall(body):
            letters = re.sub(r"[^A-Z]", "", w)
            if len(letters) >= 4 and w not in allow and letters not in allow:
                found.append(w)
    return found


def check_rules(
    text: str, spec: ChannelSpec, *, allowed_caps: Iterable[str] = (), product_text: str = ""
) -> list[RuleViolation]:
    """Every rule of ``spec`` that ``text`` breaks (empty list: the copy is legal on the channel).

    ``allowed_caps`` are words that may appear in capitals without counting as shouting (the
    channel-rules critic passes the product's own capitalised words such as "LEGO" or "BPA").
    ``product_text`` is the product's own data: an offensive word it uses itself (a book title)
    may be repeated; any other is a hard violation on every channel.
    """
    if not text or not text.strip():
        return [RuleViolation(rule="empty", message="Write the copy: the text is empty")]
    text = text.strip()
    name = spec.name
    out: list[RuleViolation] = []

    out += _length_rules(text, spec)
    if spec.is_bullets:
        out += _item_rules(text, spec)
    elif not spec.multiline and "\n" in text:
        lines = len([ln for ln in text.splitlines() if ln.strip()])
        out.append(RuleViolation(rule="single_line", message=f"Write it as one line of text (now {lines} lines)"))

    emoji = find_emoji(text)
    if emoji and not spec.allow_emoji:
        out.append(
            RuleViolation(
                rule="emoji",
                message=f"Remove the emoji {_quote_list(emoji)}: {name} does not allow emoji",
                details={"emoji": emoji},
            )
        )
    elif spec.max_emoji is not None and len(emoji) > spec.max_emoji:
        out.append(
            RuleViolation(
                rule="emoji_count",
                message=f"Use at most {spec.max_emoji} emoji (now {len(emoji)})",
                details={"emoji": emoji},
            )
        )

    bangs = text.count("!")
    if spec.max_exclamations is not None and bangs > spec.max_exclamations:
        msg = (
            f"Remove the exclamation marks: {name} allows none"
            if spec.max_exclamations == 0
            else f"Use at most {spec.max_exclamations} exclamation mark(s) (now {bangs})"
        )
        out.append(RuleViolation(rule="exclamations", message=msg, details={"count": bangs}))
    repeated = _REPEATED_PUNCT_RE.findall(text)
    if repeated:
        out.append(
            RuleViolation(
                rule="repeated_punctuation",
                message=f"Use single punctuation marks instead of {_quote_list(repeated)}",
            )
        )

    tags = HASHTAG_RE.findall(text)
    if len(tags) > spec.max_hashtags:
        msg = (
            f"Remove the hashtags {_quote_list(tags)}: {name} does not use hashtags"
            if spec.max_hashtags == 0
            else f"Use at most {spec.max_hashtags} hashtags (now {len(tags)})"
        )
        out.append(RuleViolation(rule="hashtags", message=msg, details={"hashtags": tags}))

    banned = [m.group() for p in spec.banned_phrases if p.strip() for m in [_phrase_re(p).search(text)] if m]
    if banned:
        out.append(
            RuleViolation(
                rule="banned_phrase",
                message=f"Remove {_quote_list(banned)}: banned on {name}",
                details={"phrases": banned},
            )
        )
    missing = [p for p in spec.required_phrases if p.strip() and not _phrase_re(p).search(text)]
    if missing:
        out.append(
            RuleViolation(
                rule="required_phrase",
                message=f"Include {_quote_list(missing)}: required on {name}",
                details={"phrases": missing},
            )
        )
    if spec.forbid_superlatives:
        sup = [m.group() for m in SUPERLATIVE_RE.finditer(text)]
        if sup:
            out.append(
                RuleViolation(
                    rule="superlative",
                    message=f"Remove the superlative claim {_quote_list(sup)}: {name} does not allow 'best'/'#1'-style claims; state a concrete fact instead",
                    details={"phrases": sup},
                )
            )
    if spec.forbid_promo:
        promo = [m.group() for m in PROMO_RE.finditer(text)]
        if promo:
            out.append(
                RuleViolation(
                    rule="promo",
                    message=f"Remove the promotional phrase {_quote_list(promo)}: {name} does not allow promotions or pricing talk",
                    details={"phrases": promo},
                )
            )
    if not spec.allow_shouting:
        caps = shouted_words(text, allowed_caps)
        if len(caps) >= 3 or (len(caps) >= 2 and len(caps) * 3 > word_count(text)):
            out.append(
                RuleViolation(
                    rule="shouting",
                    message=f"Write {_quote_list(caps)} in normal case: no ALL-CAPS shouting",
                    details={"words": caps},
                )
            )
    echo = [m.group() for m in TEMPLATE_ECHO_RE.finditer(text)]
    if echo:
        out.append(
            RuleViolation(
                rule="template_echo",
                message=f"Remove the leftover instruction or placeholder text {_quote_list(echo)}; output only the copy",
                details={"found": echo},
            )
        )
    allowed_words = set(offensive_terms(product_text))
    rude = [w for w in offensive_terms(text) if w not in allowed_words]
    if rude:
        out.append(
            RuleViolation(
                rule="offensive",
                message=f"Remove {_quote_list(rude)}: offensive words never belong in product copy",
                details={"words": rude},
            )
        )
    if _MARKDOWN_RE.search(text):
        out.append(RuleViolation(rule="markdown", message="Remove the markdown formatting (**, #, ```); write plain text"))
    return out


def remove_offensive(text: str, product_text: str = "") -> str:
    """Repair step: drop the sentences (of each line or bullet) that carry an offensive word the
    product's data does not use. Only deletes; returns "" when nothing is left."""
    allowed = set(offensive_terms(product_text))

    def clean_part(part: str) -> bool:
        return all(w in allowed for w in offensive_terms(part))

    if clean_part(text):
        return text
    lines: list[str] = []
    for line in text.split("\n"):
        if clean_part(line):
            lines.append(line)
            continue
        kept = [line[a:b] for a, b in sentence_spans(line) if clean_part(line[a:b])]
        if kept:
            lines.append(" ".join(s.strip() for s in kept))
    return "\n".join(lines).strip()


def hard_violations(violations: Iterable[RuleViolation]) -> list[RuleViolation]:
    return [v for v in violations if v.hard]


__all__ = ["HASHTAG_RE", "RuleViolation", "check_rules", "hard_violations", "remove_offensive", "shouted_words"]
