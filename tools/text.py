"""Plain-text utilities shared by validators, post-processing, claims, critics and batch reports.

Pure Python and regex only: critics call these many times per product, so nothing here loads a
model or allocates more than the text itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Iterable, Sequence

from copyloop.tools.emoji import EMOJI_CLUSTER_RE

# A word is a run of letters/digits, optionally joined by an apostrophe, hyphen or decimal point
# ("don't", "two-year", "10.7"), so word counts match what a copywriter would count.
_WORD_RE = re.compile(r"[^\W_]+(?:['’\-.][^\W_]+)*")

# Sentence ends: . ! ? (and …) followed by optional closing quotes/brackets and whitespace.
_SENT_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)")

# Abbreviations whose trailing dot does not end a sentence.
_ABBREVIATIONS = {
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "st", "no", "approx", "incl", "oz", "lbs",
    "lb", "in", "ft", "fl", "pcs", "pc", "inc", "co", "ltd", "jr", "sr", "u.s", "u.k", "dept", "est",
}

STOPWORDS = frozenset(
    """a an the and or but if of to in on at for with from by as is are was were be been being it its
    this that these those your you our we my me i he she they them their his her so than then too very
    can will just not no yes do does did has have had into onto up out over under about all any each
    every more most some such only own same both few other off again once here there when where why how
    what which who whom while until also s t""".split()
)


def words(text: str) -> list[str]:
    """The words of ``text`` (hyphenated and decimal tokens count once: "two-year", "10.7")."""
    return _WORD_RE.findall(text or "")


def word_count(text: str) -> int:
    """Number of words as a copywriter counts them (see :func:`words`)."""
    return len(words(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of the sentences of ``text``; line breaks always end a sentence.

    Whitespace around each sentence is excluded. Abbreviations such as "e.g." or "10 in." do not
    end a sentence.
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text or ""):
        start = line.start()
        line_text = line.group()
        cursor = 0
        for m in _SENT_END_RE.finditer(line_text):
            before = line_text[cursor : m.start()]
            last = before.split()[-1].lower().rstrip(".") if before.split() else ""
            if m.group().startswith(".") and len(m.group().rstrip("\"'”’)]")) == 1 and last in _ABBREVIATIONS:
                continue
            _push(spans, text, start + cursor, start + m.end())
            cursor = m.end()
        _push(spans, text, start + cursor, start + len(line_text))
    return spans


def _push(spans: list[tuple[int, int]], text: str, a: int, b: int) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if b > a:
        spans.append((a, b))


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (stripped, with their end punctuation)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def visible_len(text: str) -> int:
    """Characters a reader sees: an emoji sequence (ZWJ, skin tone, flag) counts as one and
    invisible format characters (zero-width space, soft hyphen, variation selectors) and
    combining marks count as none. Ad platforms limit visible characters, not code points."""
    text = unicodedata.normalize("NFC", text or "")
    text = EMOJI_CLUSTER_RE.sub("\u25a0", text)
    return sum(1 for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf"))


def ngrams(tokens: Sequence[str], n: int) -> list[tuple[str, ...]]:
    """Contiguous n-grams of a token list."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def _lower_words(text: str) -> list[str]:
    return [w.lower() for w in words(text)]


def distinct_n(texts: str | Iterable[str], n: int = 2) -> float:
    """Distinct-n: unique word n-grams / all word n-grams over ``texts`` (lower-cased).

    1.0 means no n-gram repeats; 0.0 is returned when there is no n-gram at all (texts shorter
    than ``n`` words), so callers decide how to treat very short copy.
    """
    if isinstance(texts, str):
        texts = [texts]
    grams: list[tuple[str, ...]] = []
    for t in texts:
        grams += ngrams(_lower_words(t), n)
    if not grams:
        return 0.0
    return len(set(grams)) / len(grams)


def _is_phrase(gram: tuple[str, ...]) -> bool:
    """A stock phrase must not start or end with a stopword and must contain a real word."""
    if gram[0] in STOPWORDS or gram[-1] in STOPWORDS:
        return False
    return any(any(c.isalpha() for c in w) for w in gram)


def repeated_phrases(
    texts: Sequence[str], n_values: Sequence[int] = (2, 3, 4), top: int = 10, min_texts: int = 2
) -> list[tuple[str, int]]:
    """Most repeated stock phrases across ``texts``: (phrase, number of texts using it).

    Counts each phrase once per text (document frequency), keeps only phrases used by at least
    ``min_texts`` texts, drops phrases that start/end with a stopword, and hides a shorter phrase
    when a longer one containing it is used by as many texts ("perfect for" under "perfect for
    any occasion"). Sorted by count, then length, then alphabetically.
    """
    df: Counter[tuple[str, ...]] = Counter()
    for t in texts:
        toks = _lower_words(t)
        seen: set[tuple[str, ...]] = set()
        for n in n_values:
            seen.update(g for g in ngrams(toks, n) if _is_phrase(g))
        df.update(seen)
    kept = {g: c for g, c in df.items() if c >= min_texts}
    result: list[tuple[tuple[str, ...], int]] = []
    for g, c in kept.items():
        dominated = any(
            len(o) > len(g) and oc >= c and _contains(o, g) for o, oc in kept.items()
        )
        if not dominated:
            result.append((g, c))
    result.sort(key=lambda gc: (-gc[1], -len(gc[0]), gc[0]))
    return [(" ".join(g), c) for g, c in result[:top]]


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    n = len(shorter)
    return any(longer[i : i + n] == shorter for i in range(len(longer) - n + 1))


def shared_phrases(text: str, others: Iterable[str], n: int = 4, top: int = 3) -> list[str]:
    """Word n-grams of ``text`` that also occur in any of ``others`` (stock phrases reused
    across products), longest-first de-duplicated, at most ``top``."""
    mine = [g for g in ngrams(_lower_words(text), n) if _is_phrase(g)]
    if not mine:
        return []
    theirs: set[tuple[str, ...]] = set()
    for o in others:
        theirs.update(ngrams(_lower_words(o), n))
    found: list[str] = []
    for g in mine:
        phrase = " ".join(g)
        if g in theirs and phrase not in found:
            found.append(phrase)
    return found[:top]


# list markers a model puts before a bullet: "-", "•", "1.", "2)", "15.2." (outline numbers),
# "8.x", and "1.Word" with no space; a leading measurement ("8.5 inches", "3.5mm") is kept
_BULLET_MARK_RE = re.compile(
    r"^\s*(?:[-*•·–—▪►✓✔]+\s+|\(?\d{1,2}\.\d{1,2}\.\s*|\d{1,2}\.x\s+|\(?\d{1,2}[.)]\s+|\d{1,2}\.(?=[A-Z][a-z])|[a-e][.)]\s+)"
)


def bullet_items(text: str) -> list[str]:
    """The items of a bulleted text: one per non-empty line, list markers ("-", "•", "1.") removed."""
    items = []
    for line in (text or "").splitlines():
        item = _BULLET_MARK_RE.sub("", line).strip()
        if item:
            items.append(item)
    return items


def normalise_space(text: str) -> str:
    """Collapse runs of spaces/tabs, trim each line, keep at most one blank line."""
    text = re.sub(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+", " ", text or "")
    lines = [ln.strip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return out.strip()


__all__ = [
    "STOPWORDS",
    "bullet_items",
    "distinct_n",
    "ngrams",
    "normalise_space",
    "repeated_phrases",
    "sentence_spans",
    "sentences",
    "shared_phrases",
    "visible_len",
    "word_count",
    "words",
]
