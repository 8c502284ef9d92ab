"""Deterministic clean-up of raw model output before any critic sees it.

A 135M model wraps copy in chatter ("Sure! Here's your headline:"), labels, markdown, quotes,
hashtag clouds and emoji, and ignores length limits. ``clean`` removes what is not copy and
enforces the channel's maximum limits by cutting at a sentence boundary, else a word boundary,
never mid-word. It only ever deletes or normalises: it never adds words (minimum lengths are left
to the critics and the reviser).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.emoji import count_emoji, strip_emoji
from copyloop.tools.gsm import is_gsm7, sms_length, to_gsm7
from copyloop.tools.lexicons import LABEL_RE, PROMPT_FIELD_LINE_RE, TRAILER_RE
from copyloop.tools.text import bullet_items, normalise_space, sentence_spans, visible_len, word_count
from copyloop.tools.validators import HASHTAG_RE, shouted_words

_QUOTES = {"‘": "'", "’": "'", "‚": "'", "‛": "'", "“": '"', "”": '"', "„": '"', "‟": '"', "«": '"', "»": '"'}
_QUOTE_RE = re.compile("[" + "".join(_QUOTES) + "]")

_CHATTER_WORD = r"(?:sure|certainly|absolutely|of course|okay|ok|alright|here you go|got it)"
_CHATTER_LINE_RE = re.compile(rf"^(?:{_CHATTER_WORD}\b[!,.:]*\s*)+$", re.IGNORECASE)
_COPY_NOUN = (
    r"(?:headline|description|copy|text|version|option|title|subject(?: line)?|bullet(?: point)?|sms|message|ad|"
    r"tagline|caption|draft|rewrite|revision|variant|meta description|primary text|listing)s?"
)
_PREAMBLE_PREFIX_RE = re.compile(
    rf"^(?:{_CHATTER_WORD}\b[!,.]*\s*|great[!.]\s*)*"
    rf"(?:here(?:'s| is| are)|below (?:is|are)|i(?:'ve| have) (?:written|created|rewritten|revised)|this is)\b"
    rf"[^:\n]{{0,100}}?\b{_COPY_NOUN}\b[^:\n]{{0,80}}?(?::|\.\s*$|$)\s*",
    re.IGNORECASE,
)
_CHATTER_PREFIX_RE = re.compile(rf"^{_CHATTER_WORD}[!,.]+\s+(?=\S)", re.IGNORECASE)
_COUNT_NOTE_RE = re.compile(r"\s*[\(\[]\s*\d+\s*(?:words?|characters?|chars?)(?:\s*\w+)?\s*[\)\]]", re.IGNORECASE)
_MD_LINK_RE = re.compile(r"\[([^\]\n]+)\]\((?:[^)\s]+)\)")
_MD_EMPH_RE = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1|(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_LIST_MARK_RE = re.compile(r"^\s*(?:[-*+•·▪►✓✔]+|\(?\d{1,2}[.)])\s+")
_DANGLING_WORDS = {
    "and", "or", "with", "for", "the", "a", "an", "to", "of", "in", "on", "at", "by", "from", "your", "our",
    "its", "their", "but", "so", "that", "which", "plus", "as", "into", "than", "very", "more", "most", "is",
    "are", "be", "this", "these", "while", "when", "if", "&", "+", "like", "such", "every", "each", "all", "you",
    "we", "it's", "it", "just", "also", "both", "then", "not", "no", "via", "per", "my",
}
_DANGLING_PUNCT = " \t\n,;:-–—/&+(\"'«“‘|·•"


# --- small steps -------------------------------------------------------------------------------


def _drop_chatter_lines(text: str) -> str:
    lines = text.split("\n")
    # leading chatter / preamble
    while lines:
        first = lines[0].strip()
        if not first:
            lines.pop(0)
            continue
        if _CHATTER_LINE_RE.match(first):
            lines.pop(0)
            continue
        m = _PREAMBLE_PREFIX_RE.match(first)
        if m:
            rest = first[m.end() :].strip()
            if rest:
                lines[0] = rest
            else:
                lines.pop(0)
            continue
        lines[0] = _CHATTER_PREFIX_RE.sub("", lines[0], count=1)
        break
    # trailing chatter
    while lines and (not lines[-1].strip() or TRAILER_RE.match(lines[-1])):
        lines.pop()
    # echoed prompt fields anywhere
    lines = [ln for ln in lines if not PROMPT_FIELD_LINE_RE.match(ln)]
    return "\n".join(lines)


def _strip_markdown(text: str) -> str:
    text = re.sub(r"^\s*```[\w-]*\s*$", "", text, flags=re.MULTILINE)
    text = text.replace("```", "")
    text = re.sub(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*#{1,6}\s+", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\s*>\s?", "", text, flags=re.MULTILINE)
    text = _MD_LINK_RE.sub(r"\1", text)
    for _ in range(2):
        text = _MD_EMPH_RE.sub(lambda m: m.group(2) if m.group(2) is not None else m.group(3), text)
    text = re.sub(r"`([^`\n]*)`", r"\1", text)
    return text.replace("**", "")


def _strip_wrapping_quotes(line: str) -> str:
    s = line.strip()
    for _ in range(2):
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'" and s.count(s[0]) == 2:
            s = s[1:-1].strip()
        elif len(s) >= 2 and s[0] == '"' and s.count('"') == 1:
            s = s[1:].strip()
        elif len(s) >= 2 and s[-1] == '"' and s.count('"') == 1:
            s = s[:-1].strip()
    return s


def _per_line(text: str, fn: Callable[[str], str]) -> str:
    return "\n".join(fn(ln) for ln in text.split("\n"))


def _strip_label(line: str) -> str:
    return LABEL_RE.sub("", line, count=1)


def _hashtags(text: str, spec: ChannelSpec) -> str:
    # a trailing cloud of hashtags on any line is spam: drop it when over the channel's allowance
    def drop_cloud(line: str) -> str:
        m = re.search(r"(?:\s*#[A-Za-z]\w*){2,}\s*$", line)
        if m and len(HASHTAG_RE.findall(m.group())) > spec.max_hashtags:
            return line[: m.start()].rstrip()
        return line

    text = _per_line(text, drop_cloud)
    if len(HASHTAG_RE.findall(text)) > spec.max_hashtags:
        # inline hashtags become plain words ("our #bamboo board" -> "our bamboo board")
        text = HASHTAG_RE.sub(lambda m: m.group()[1:], text)
        text = re.sub(r"(?:^|\s)#(?=\s|$)", " ", text)
    return text


def _tidy_punctuation(text: str) -> str:
    text = re.sub(r"[ \t]+([,.!?;:])", r"\1", text)
    text = re.sub(r"([!?])[!?]+", r"\1", text)
    text = re.sub(r"\.{4,}", "...", text)
    text = re.sub(r",{2,}", ",", text)
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    text = re.sub(r"(?<![.])\.\.(?!\.)", ".", text)
    text = re.sub(r"\(\s*\)", "", text)
    return text


def _limit_exclamations(text: str, spec: ChannelSpec) -> str:
    if spec.max_exclamations is None or text.count("!") <= spec.max_exclamations:
        return text
    keep = spec.max_exclamations
    out: list[str] = []
    for i, ch in enumerate(text):
        if ch == "!":
            if keep > 0:
                keep -= 1
                out.append(ch)
            elif i == len(text.rstrip()) - 1 and spec.max_exclamations == 0 and not spec.multiline:
                continue  # a headline simply ends without it
            else:
                out.append(".")
        else:
            out.append(ch)
    return "".join(out)


def _calm_shouting(text: str, spec: ChannelSpec) -> str:
    if spec.allow_shouting:
        return text
    caps = shouted_words(text)
    if len(caps) < 3 and not (len(caps) >= 2 and len(caps) * 3 > word_count(text)):
        return text
    targets = set(caps)
    lines = []
    for line in text.split("\n"):
        lead = re.match(r"^[^a-z:\n]{2,60}:\s", line)
        head, body = (line[: lead.end()], line[lead.end() :]) if lead else ("", line)
        body = re.sub(r"(?<![\w'’])[A-Z][A-Z'’\-]*[A-Z](?![\w'’])", lambda m: m.group().capitalize() if m.group() in targets else m.group(), body)
        lines.append(head + body)
    return "\n".join(lines)


# --- limits ------------------------------------------------------------------------------------


def tidy_cut(text: str) -> str:
    """Strip what a cut leaves dangling: punctuation, connectors, an unclosed bracket."""
    prev = None
    while prev != text:
        prev = text
        text = text.rstrip(_DANGLING_PUNCT)
        parts = text.rsplit(None, 1)
        if len(parts) == 2 and parts[1].lower().strip(",;:") in _DANGLING_WORDS:
            text = parts[0]
        if text.count("(") > text.count(")"):
            text = text[: text.rfind("(")]
        if text.count('"') % 2 == 1:
            text = text[: text.rfind('"')]
    return text.strip()


def fit(text: str, fits: Callable[[str], bool], *, sentence_ratio: float = 0.6, end_period: bool = False) -> str:
    """Longest prefix of ``text`` that satisfies ``fits`` without cutting a word.

    Prefers ending at a sentence boundary; falls back to a word boundary (with dangling
    punctuation and connector words removed) when whole sentences would keep less than
    ``sentence_ratio`` of what a word cut keeps. Returns "" when not even one word fits.
    """
    text = text.strip()
    if fits(text):
        return text
    # word cut: binary search over word ends
    ends = [m.end() for m in re.finditer(r"\S+", text)]
    lo, hi, best_word = 0, len(ends) - 1, ""
    while lo <= hi:
        mid = (lo + hi) // 2
        cand = tidy_cut(text[: ends[mid]])
        if cand and fits(cand):
            best_word, lo = cand, mid + 1
        else:
            hi = mid - 1
    # sentence cut: longest run of whole sentences
    best_sent = ""
    sent_ends = [end for _, end in sentence_spans(text)]
    lo, hi = 0, len(sent_ends) - 1
    while lo <= hi:  # limits are monotone in the prefix length, so bisect
        mid = (lo + hi) // 2
        cand = text[: sent_ends[mid]].strip()
        if cand != text and fits(cand):
            best_sent, lo = cand, mid + 1
        else:
            hi = mid - 1
    if best_sent and len(best_sent) >= sentence_ratio * len(best_word):
        return best_sent
    if best_word and end_period and best_word[-1].isalnum():
        with_period = best_word + "."
        if fits(with_period):
            return with_period
    return best_word


def _fits_fn(spec: ChannelSpec) -> Callable[[str], bool]:
    def fits(t: str) -> bool:
        if spec.gsm7:
            if not sms_length(t, spec.max_chars or 160, spec.ucs2_max_chars or spec.max_chars or 160).fits:
                return False
        elif spec.max_chars is not None and visible_len(t) > spec.max_chars:
            return False
        if spec.max_words is not None and word_count(t) > spec.max_words:
            return False
        return True

    return fits


def _item_fits(spec: ChannelSpec) -> Callable[[str], bool]:
    return lambda t: spec.item_max_chars is None or visible_len(t) <= spec.item_max_chars


# --- layout ------------------------------------------------------------------------------------


def _split_inline_items(line: str) -> list[str]:
    for sep in (r"\s+[•·▪►]\s+", r"\s+\|\s+", r"(?<=[.!?])\s+[-–—]\s+", r"\s+(?=\(?\d{1,2}[.)]\s+[A-Z])"):
        parts = [p.strip() for p in re.split(sep, line) if p.strip()]
        if len(parts) >= 2:
            return [_LIST_MARK_RE.sub("", p) for p in parts]
    return [line[a:b] for a, b in sentence_spans(line)]


def _merge_to(items: list[str], n: int, max_chars: int | None) -> list[str]:
    """Merge adjacent sentences (shortest pair first) until at most ``n`` items remain."""
    items = list(items)
    while len(items) > n:
        pairs = sorted(range(len(items) - 1), key=lambda i: len(items[i]) + len(items[i + 1]))
        i = next((j for j in pairs if max_chars is None or len(items[j]) + 1 + len(items[j + 1]) <= max_chars), pairs[0])
        items[i : i + 2] = [f"{items[i]} {items[i + 1]}"]
    return items


def _format_bullets(text: str, spec: ChannelSpec) -> str:
    lines = [ln for ln in text.split("\n") if ln.strip()]
    # a heading such as "Key features:" or "About this item" is not a bullet
    lines = [ln for ln in lines if not (len(ln) < 40 and (ln.rstrip().endswith(":") or ln.strip().lower() == "about this item"))]
    if len(lines) >= 2:
        items = bullet_items("\n".join(lines))[: spec.items]
    elif lines:
        parts = _split_inline_items(_LIST_MARK_RE.sub("", lines[0]))
        if spec.item_max_chars:
            # only what can fit in the bullets is worth distributing among them
            budget, kept = spec.items * spec.item_max_chars, []
            for part in parts:
                if budget <= 0:
                    break
                kept.append(part)
                budget -= len(part) + 1
            parts = kept
        items = _merge_to(parts, spec.items, spec.item_max_chars)
    else:
        items = []
    fits = _item_fits(spec)
    out = []
    for item in items:
        item = normalise_space(item)
        item = fit(item, fits)
        if item:
            out.append(item)
    return "\n".join(out)


def _single_line(text: str, spec: ChannelSpec) -> str:
    lines = [ln.strip() for ln in text.split("\n") if ln.strip()]
    if len(lines) >= 2:
        marked = sum(1 for ln in lines if _LIST_MARK_RE.match(ln))
        short_channel = spec.max_chars is not None and spec.max_chars <= 60
        if marked >= 2 or short_channel:
            # several alternatives ("1. ... 2. ...") or lines for a one-liner: keep the first
            return _LIST_MARK_RE.sub("", lines[0])
    joined = ""
    for ln in lines:
        ln = _LIST_MARK_RE.sub("", ln)
        if not joined:
            joined = ln
        elif joined[-1] in ".!?:;,-" or not ln[:1].isupper():
            joined += " " + ln
        else:
            joined += ". " + ln
    return joined


def _paragraphs(text: str) -> str:
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    return "\n\n".join(" ".join(_LIST_MARK_RE.sub("", ln).strip() for ln in p.split("\n") if ln.strip()) for p in paras)


# --- entry point -------------------------------------------------------------------------------


def clean(text: str | None, spec: ChannelSpec) -> str:
    """Turn raw model output into copy for ``spec`` (see the module docstring); "" if nothing
    usable remains."""
    if not text:
        return ""
    t = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    t = re.sub(r"[\u200b\u200c\u2060\ufeff\u00ad]", "", t)
    t = _QUOTE_RE.sub(lambda m: _QUOTES[m.group()], t)
    t = _strip_markdown(t)
    t = normalise_space(t)
    t = _drop_chatter_lines(t)
    t = _COUNT_NOTE_RE.sub("", t)
    t = _per_line(t, lambda ln: _strip_label(_strip_wrapping_quotes(ln)))
    t = _per_line(t, _strip_wrapping_quotes)
    t = _hashtags(t, spec)
    if not spec.allow_emoji:
        t = strip_emoji(t)
    elif spec.max_emoji is not None and count_emoji(t) > spec.max_emoji:
        t = strip_emoji(t, keep=spec.max_emoji)
    if spec.gsm7:
        t = to_gsm7(t)
    t = normalise_space(t)
    if spec.is_bullets:
        t = _format_bullets(t, spec)
    elif spec.multiline:
        t = _paragraphs(t)
    else:
        t = _single_line(t, spec)
    t = _tidy_punctuation(t)
    t = _limit_exclamations(t, spec)
    t = _calm_shouting(t, spec)
    if spec.gsm7 and not is_gsm7(t) and not sms_length(t, spec.max_chars or 160, spec.ucs2_max_chars or 70).fits:
        # one emoji would cut the budget from 160 to 70: drop emoji rather than words
        t = normalise_space(strip_emoji(t))
    t = fit(t, _fits_fn(spec), end_period=spec.multiline)
    t = _per_line(t, lambda ln: ln.strip().rstrip(" ,;:-–—/&+|·•"))
    return t.strip()


__all__ = ["clean", "fit", "tidy_cut"]
