"""What words copy may use: the product's own vocabulary plus a closed list of neutral words.

Why (issue #11): a 135M model borrows nouns from whatever it has read — a card game came out
"pre-seasoned with vegetable oil", a baby ball "woven from soft, breathable muslin" — and number
and lexicon checks cannot see that, because a use or a feature is not a number. So the rule is
closed-vocabulary: every *content* word of a copy (not a function word, not a neutral marketing
word) must come from the product's own data, after light stemming ("seasoned" ~ "pre-seasoned",
"pieces" ~ "piece"). A content word found nowhere in the data is an unsupported claim about this
product, whatever it is: another product's material, an invented use, an exemplar's noun.

``NEUTRAL_WORDS`` is deliberately a list of words that make no claim about a product: grammar,
pronouns, common verbs of use ("keep", "enjoy", "start"), time and degree words, and the words of
openers and calls to action. Words that make claims — audiences ("kids", "family"), uses
("gift", "party"), places ("home", "beach"), materials, qualities ("durable", "premium") — are not
in it: they are fine exactly when the product's data says them.

Also here, because the critics, the scorer and the planner must agree on them: filler phrases
(generic copy that fits any product) and distinctive words (what names this product).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Iterable

_TOKEN_RE = re.compile(r"[A-Za-z][A-Za-z'’]*(?:-[A-Za-z][A-Za-z'’]*)*")

NEUTRAL_WORDS: frozenset[str] = frozenset(
    """
    a an the and or but nor if so as than then that this these those there here what which who whom whose
    when where why how while until because since though although whether either neither both each every
    all any some many much more most less least few several enough such same other another own
    i me my mine we us our ours you your yours he him his she her hers it its they them their theirs
    one ones someone something anything everything nothing everyone anyone
    is are was were be been being am do does did done doing has have had having can could will would
    shall should may might must need needs let lets
    not no yes never always often ever also just only even still already yet again too very quite
    really right away soon now today tonight later once twice
    of to in on at by for from with without within into onto over under about above below between
    through across around along after before during against among per via up down out off back
    plus like unlike together apart instead almost anywhere everywhere somewhere
    get gets got getting give gives gave giving go goes going went make makes made making take takes
    took taking keep keeps kept keeping put puts use uses used using enjoy enjoys enjoyed enjoying
    bring brings brought bringing add adds added adding start starts started starting try tries
    find finds found finding see sees saw seen look looks looking feel feels felt help helps helped
    helping let lets meet meets choose chooses pick picks order orders ordered ordering buy buys shop
    shops shopping grab grabs come comes came coming stay stays work works worked working fit fits
    hold holds held holding set sets show shows want wants wanted love loves need
    ready easy easier easily simple simply quick quickly new nice good great well better best
    little big small large long short full whole real true clear clearly perfect ideal
    first second last next every day days time times moment moments way ways thing things part parts
    lot lots kind kinds
    today's yours home-ready
    cart basket checkout online store
    meet discover explore hello say says measure measures weigh weighs
    """.split()
)
"""Words that never count as a claim about the product (see the module docstring)."""

# Generic words that do not name a product even when they appear in its title ("Set", "Kids").
GENERIC_NAME_WORDS: frozenset[str] = frozenset(
    """
    product products item items set sets kit kits pack packs piece pieces pcs pc toy toys game games gift gifts
    kids kid children child boys girls baby babies adults adult men women mens womens unisex
    new best great good quality premium deluxe classic original official perfect ultimate amazing beautiful
    home house day fun family edition series collection style styles size sizes color colors colour
    black white red blue green yellow orange pink purple grey gray brown multi multicolor assorted
    small medium large mini big large x inch inches cm mm pack count
    for with and the a an of in to by from on
    """.split()
)

FILLER_PATTERNS: tuple[str, ...] = (
    r"(?:a |the )?(?:good|great|nice|quality|amazing|awesome|wonderful|excellent|perfect|best) products?",
    r"quality (?:toys?|items?|products?|goods)",
    r"(?:made|crafted) (?:of|from|with) (?:good|high[- ]quality|quality|premium|the best|fine|durable) materials?",
    r"high[- ]quality materials?",
    r"(?:a |the )?(?:great|perfect|ideal|wonderful|nice) gift (?:for|to) (?:any|every|all) (?:occasions?|ages?|ones?)",
    r"(?:great|perfect|ideal) for (?:any|every|all) (?:occasions?|ages?|seasons?)",
    r"perfect for all ages",
    r"(?:suitable|fun|great) for (?:everyone|all ages|the whole family)",
    r"something for everyone",
    r"you won'?t be disappointed",
    r"look no further",
    r"must[- ]have",
    r"(?:the )?best (?:product|thing|purchase|buy) ever",
    r"(?:fun|great|good) for (?:kids|children) (?:and|&) adults",
    r"(?:makes|an?) (?:a |an )?(?:great|perfect|excellent|wonderful|ideal) gift",
    r"(?:beautiful|gentle|quality|good|great|amazing) kids",
    r"what are you waiting for",
    r"(?:a|is a) (?:great|good|nice) (?:ideal?|way to)\b",
    r"(?:you|kids|children|everyone|customers|they) (?:will|'ll) (?:love|adore) (?:it|this|them|these)",
)
FILLER_RE = re.compile(r"(?<![\w-])(?:" + "|".join(FILLER_PATTERNS) + r")(?![\w-])", re.IGNORECASE)


def tokens(text: str) -> list[str]:
    """Word tokens (hyphenated words stay whole), apostrophes normalised."""
    return [t.replace("’", "'") for t in _TOKEN_RE.findall(text or "")]


def stem(word: str) -> str:
    """A light, predictable English stem: enough to match plural, -ing, -ed and -ly forms.

    Not a linguist's stemmer on purpose: over-stemming would let unrelated words match ("news" vs
    "new"), and the only job here is to recognise the product's own words in another form.
    """
    w = word.lower().replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    w = w.strip("'")
    if len(w) <= 3:
        return w
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("ying", "y")):
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            return w[: -len(suffix)] + repl
    if w.endswith("sses") or w.endswith("shes") or w.endswith("ches") or w.endswith("xes") or w.endswith("zes"):
        return w[:-2]
    if w.endswith("ing") and len(w) > 5:
        base = w[:-3]
        if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]
        return base
    if w.endswith("ed") and len(w) > 4:
        base = w[:-2]
        if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]
        return base
    if w.endswith("ly") and len(w) > 5:
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and not w.endswith("us") and not w.endswith("is"):
        return w[:-1]
    return w


def _stems_of(word: str) -> set[str]:
    """Stems of a token and of each part of a hyphenated token ("pre-seasoned" -> also "season")."""
    out = {stem(word)}
    if "-" in word:
        parts = [p for p in word.split("-") if p]
        out.update(stem(p) for p in parts)
        out.add(stem("".join(parts)))
    base = stem(word)
    if base.endswith("e") and len(base) > 4:
        out.add(base[:-1])  # "made"/"make" ~ "mak", "seasone" vs "season"
    return out


@lru_cache(maxsize=512)
def vocabulary(text: str) -> frozenset[str]:
    """Stems of every word in ``text`` (the product's trusted data), hyphen parts included."""
    out: set[str] = set()
    for t in tokens(text):
        out.update(_stems_of(t))
        out.add(t.lower())
    return frozenset(out)


_NEUTRAL_STEMS = frozenset(s for w in NEUTRAL_WORDS for s in _stems_of(w)) | NEUTRAL_WORDS


def is_neutral(word: str) -> bool:
    w = word.lower().replace("’", "'")
    if w in NEUTRAL_WORDS:
        return True
    return stem(w) in _NEUTRAL_STEMS or w.removesuffix("'s") in NEUTRAL_WORDS


def content_words(text: str) -> list[str]:
    """The words of ``text`` that say something about a product (not neutral, at least 3 letters)."""
    return [t for t in tokens(text) if len(t) >= 3 and not is_neutral(t)]


def known(word: str, vocab: frozenset[str]) -> bool:
    """True when ``word`` (or each part of it, if hyphenated) is in the stemmed ``vocab``."""
    w = word.lower().replace("’", "'")
    if w in vocab or stem(w) in vocab:
        return True
    if stem(w).endswith("e") and stem(w)[:-1] in vocab:
        return True
    if "-" in w:
        parts = [p for p in w.split("-") if p]
        if "".join(parts) in vocab or stem("".join(parts)) in vocab:
            return True
        return all(p in vocab or stem(p) in vocab or is_neutral(p) or len(p) < 3 for p in parts)
    return False


def foreign_words(text: str, allowed_text: str, extra: Iterable[str] = ()) -> list[str]:
    """Content words of ``text`` that neither ``allowed_text`` (the product's data) nor ``extra``
    (wording a person dictated, the channel's CTA examples) contain. In order, without repeats."""
    vocab = vocabulary(allowed_text + "\n" + " ".join(extra))
    seen: list[str] = []
    for w in content_words(text):
        if not known(w, vocab) and w.lower() not in (s.lower() for s in seen):
            seen.append(w)
    return seen


def filler_phrases(text: str) -> list[str]:
    """Generic phrases that would fit any product ("a great gift for any occasion")."""
    return list(dict.fromkeys(m.group().strip() for m in FILLER_RE.finditer(text or "")))


@lru_cache(maxsize=512)
def distinctive_words(title: str, brand: str = "") -> frozenset[str]:
    """Stems of the words that name this product: its title and brand minus generic words."""
    out: set[str] = set()
    for t in tokens(f"{title} {brand}"):
        low = t.lower()
        if len(low) < 3 or low in GENERIC_NAME_WORDS or is_neutral(low):
            continue
        out.update(_stems_of(t))
    for num in re.findall(r"\d+(?:[.,]\d+)?", title):
        out.add(num)
    return frozenset(out)


def names_product(text: str, title: str, brand: str = "") -> bool:
    """True when ``text`` names the product: a distinctive word of its title or brand (or a
    number from its title, as in "1000-Piece Puzzle") appears in it."""
    names = distinctive_words(title, brand)
    if not names:
        return True  # a title made only of generic words cannot be named more specifically
    for t in tokens(text):
        if _stems_of(t) & names:
            return True
    return any(num in names for num in re.findall(r"\d+(?:[.,]\d+)?", text or ""))


__all__ = [
    "FILLER_RE",
    "GENERIC_NAME_WORDS",
    "NEUTRAL_WORDS",
    "content_words",
    "distinctive_words",
    "filler_phrases",
    "foreign_words",
    "is_neutral",
    "known",
    "names_product",
    "stem",
    "tokens",
    "vocabulary",
]
