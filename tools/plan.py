"""Content planning: which of the product's facts a copy uses, in which order (issue #11).

Puduppully et al. (AAAI 2019) select and order content before realising it; a 135M model that is
asked to write 100 free words about a product wanders off to other products. So the drafter first
builds a plan here, in plain code, from the product's own data only:

- ``product_facts`` splits the seller's bullets, spec lines and description into single
  statements (a seller's label such as "RESPONSIVE FLEX:" is kept apart), drops page boilerplate,
  instructions to the writer, company voice ("we believe ...") and catalog metadata (model
  numbers), and scores each statement for how concrete and distinctive it is;
- ``product_name`` / ``product_type`` compress the title to what a headline can say;
- ``plan_facts`` picks and orders facts for a channel, honouring a person's requests (must
  mention, must leave out, shorter/longer).

Everything here is deterministic: the same product, channel and variant give the same plan.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

from copyloop.tools.claims import looks_like_instruction
from copyloop.tools.markup import clean_text
from copyloop.tools.quantities import join_broken_decimals
from copyloop.tools.schemas import ProductBrief
from copyloop.tools.text import sentence_spans
from copyloop.tools.vocab import FILLER_RE, GENERIC_NAME_WORDS, content_words, is_neutral, stem, tokens

_LABEL_RE = re.compile(r"^\s*([A-Z0-9][A-Za-z0-9 &'’/+,.()-]{1,48}?)\s*[:：]\s+(?=\S)")
# "BOA System- Tightens the boot ...", "High-performance wheels - 84mm wheels ...": a dash as the label's colon
_DASH_LABEL_RE = re.compile(r"^\s*([A-Z][A-Za-z0-9 &'’/+.-]{1,40}?[A-Za-z0-9])\s?[-–—]\s+(?=[A-Z0-9])")
_META_LABELS = {"model number", "item model number", "asin", "upc", "manufacturer part number", "part number",
                "isbn", "sku", "shipping weight", "domestic shipping", "international shipping", "color"}
_ADVISORY_LABELS = {"read before buying", "note", "please note", "attention", "warning", "important", "tips", "tip"}
_BOILERPLATE_RE = re.compile(
    r"show up to \d+ reviews|product description|brand name\b|manufacturer part number|item model number"
    r"|number of items|view shipping|go to your orders|make sure this fits|click here|see more|learn more about"
    r"|customer (?:service|support)|contact us|return policy|warranty card|amazon",
    re.IGNORECASE,
)
_COMPANY_VOICE_RE = re.compile(r"\b(?:we|we're|we've|our|us)\b", re.IGNORECASE)
_NUMBER_RE = re.compile(r"\d")


@dataclass(frozen=True)
class PlanFact:
    """One statement about the product, ready to be planned and realised."""

    text: str
    """The statement, without the seller's label (one sentence or clause)."""
    label: str = ""
    """The seller's own label ("Responsive flex"), or the spec key ("Item weight")."""
    source: str = "fact"
    """fact | spec | description | title | audience"""
    index: int = 0
    """Position in the product's data (the seller's order)."""
    salience: float = 0.0
    """How concrete and distinctive the statement is (higher first)."""
    kind: str = "feature"
    """feature | spec | audience | care | brand | filler"""
    offtopic: bool = False
    """Its sentence reads closer to another product's data than to this one's (set by the drafter
    when it has an embedder, ``copyloop.agents.topicality``): used only when a plan needs it."""
    named: int = 0
    """How much of the product's name its sentence needs to be about this product and no other
    (set with ``offtopic``): 0 the plain noun ("The costume weighs 8 ounces"), 1 its type ("This
    child's costume weighs ..."), 2 its whole name ("The Forum Novelties Union Officer Child's
    Costume weighs 8 ounces", where the others fit any costume)."""

    @property
    def key(self) -> str:
        """A stable id for plans and requests."""
        return f"{self.source}:{self.index}"

    def keywords(self) -> frozenset[str]:
        """Stems of the statement's content words (for coverage checks)."""
        return _keywords(self.text + (" " + self.label if self.label else ""))


@lru_cache(maxsize=4096)
def _keywords(text: str) -> frozenset[str]:
    return frozenset(stem(w) for w in content_words(text) if len(w) >= 3)


def _clean_label(label: str) -> str:
    label = " ".join(label.split()).strip(" -–—")
    if label.isupper() or label.islower():
        label = label.capitalize() if len(label.split()) > 1 else label.title()
    return label


def _split_label(text: str) -> tuple[str, str]:
    """("RESPONSIVE FLEX", "The Crossbow features ...") from "RESPONSIVE FLEX: The Crossbow ..."."""
    m = _LABEL_RE.match(text) or _DASH_LABEL_RE.match(text)
    if not m:
        return "", text.strip()
    label = m.group(1).strip()
    words = label.split()
    if len(words) > 6 or not any(c.isalpha() for c in label):
        return "", text.strip()
    return label, text[m.end():].strip()


_FEATURES_PREFIX_RE = re.compile(
    r"^(?:(?:\d+\s+)?(?:key\s+|product\s+)?features?\s*:|from the manufacturer\b:?|product description\b:?"
    r"|about (?:this|the) (?:item|product)\b:?)\s*[-•*]?\s*",
    re.IGNORECASE,
)
""""42444 Features: -Cranky the crane ...": a page heading glued to the first feature."""


def _statements(body: str, limit: int = 260) -> list[str]:
    """Sentences of ``body``, long ones split at semicolons; a final fragment cut off by a field
    limit (no end punctuation after a long text) is dropped."""
    out: list[str] = []
    spans = sentence_spans(body)
    for n, (a, b) in enumerate(spans):
        sent = body[a:b].strip()
        parts = [p.strip() for p in re.split(r"\s*;\s*|\s+[-–—]\s+(?=[A-Z])", sent) if p.strip()]
        for part in parts:
            part = _FEATURES_PREFIX_RE.sub("", part.strip(" ,-–—")).strip(" ,-–—")
            if len(part) < 4:
                continue
            out.append(part[:limit].rsplit(" ", 1)[0] if len(part) > limit else part)
    if out and len(body) >= 300 and not re.search(r"[.!?)\"']\s*$", body.strip()):
        out.pop()  # the seller's text was cut mid-sentence
    return out


_PACKAGE_SPEC_RE = re.compile(r"\b(?:product|package|item|box) (?:dimensions|weight)\b|^\s*imported\.?\s*$|\bimported\s*$", re.I)


def _salience(text: str, label: str, kind: str, position: int, title_stems: frozenset[str]) -> float:
    words = tokens(text)
    content = [w for w in words if len(w) >= 3 and not is_neutral(w)]
    if not content:
        return -5.0
    fresh = [w for w in content if stem(w) not in title_stems]
    topical = [w for w in content if stem(w) in title_stems]
    score = 0.0
    score += 0.6 * min(4, len(set(stem(w) for w in fresh)))  # says something the title does not
    score += 0.7 if topical else 0.0  # ... about this product: a statement that names it stays on topic
    score += 0.8 if _NUMBER_RE.search(text) else 0.0  # concrete
    score += 0.4 if label else 0.0
    score -= 0.15 * position  # the seller's order carries their priorities
    n = len(words)
    score -= 0.6 if n > 35 else 0.0
    score -= 1.0 if n < 2 else 0.0
    if FILLER_RE.search(text):
        score -= 3.0
    if kind == "spec":
        score -= 0.8
    if _PACKAGE_SPEC_RE.search(f"{label} {text}"):
        score -= 1.2  # box sizes and shipping weights say little a shopper weighs, and read like any product's
    if kind == "audience":
        score -= 0.3
    if kind == "care":
        score -= 1.5
    if kind == "brand":
        score -= 2.5
    return round(score, 3)


_AUDIENCE_RE = re.compile(r"^(?:for (?:ages?|kids|children|boys|girls|adults|toddlers|babies|teens|women|men)\b|recommended (?:age|for)|ages? \d|age range)", re.I)
# A statement about the maker, not the product ("a leader in costumes for more than 30 years",
# "offers over 8,000 items"): true, but it reads as another product's copy and sells nothing here.
_BRAND_BLURB_RE = re.compile(
    r"\b(?:a leader|leading (?:maker|manufacturer|brand)|founded|family[- ]owned|offers over|items to choose from"
    r"|(?:for|over|more than) \d+ years|since (?:1[89]|20)\d\d|our (?:company|mission|team)|the company|manufacturer of"
    r"|look to \w+|has it all|for all (?:of )?your \w+(?:, \w+){2,}|bigger vision|our vision|mission is)\b",
    re.I,
)
_CARE_RE = re.compile(
    r"^(?:hand wash|machine wash|wipe clean|spot clean|dry clean|do not|not dishwasher|care:|cleaning:|wash )"
    r"|\b(?:sold separately|not included|read (?:the )?size chart|before buying|choking hazard|warning)\b",
    re.I,
)


def _kind(label: str, text: str, source: str) -> str:
    low_label = label.lower()
    if source == "spec" or low_label in {"product dimensions", "item dimensions", "package dimensions", "item weight", "batteries", "material", "size"}:
        if low_label in {"recommended age", "age range"}:
            return "audience"
        return "spec"
    if low_label in {"recommended age", "age range"} or _AUDIENCE_RE.match(text):
        return "audience"
    if _BRAND_BLURB_RE.search(text):
        return "brand"
    if low_label in _ADVISORY_LABELS or _CARE_RE.search(text):
        return "care"
    if FILLER_RE.search(text) or FILLER_RE.search("a " + text):
        return "filler"  # "Makes a great gift for birthdays": the copy would fail as generic, whatever else it says
    return "feature"


@lru_cache(maxsize=256)
def _facts_cached(product_json: str) -> tuple[PlanFact, ...]:
    product = ProductBrief.model_validate_json(product_json)
    title_stems = frozenset(stem(w) for w in tokens(product.title))
    raw: list[tuple[str, str, str]] = []  # (label, statement, source)
    for fact in product.facts:
        label, body = _split_label(join_broken_decimals(" ".join(clean_text(fact).split())))
        source = "fact"
        if label.lower() in _META_LABELS:
            continue
        if label and len(body.split()) <= 8 and _NUMBER_RE.search(body) and label[:1].isupper() and not label.isupper():
            source = "spec"  # "Item weight: 3.2 ounces"
        for part in _statements(body):
            raw.append((label, part, source))
    for part in _statements(join_broken_decimals(clean_text(product.description or "", keep_newlines=True)), limit=220):
        raw.append(("", part, "description"))
    category_stems = {_singular(w.lower()) for w in re.findall(r"[A-Za-z]+", product.category)}
    noun = _singular(product_noun(product))
    for part in _segments(product.title)[1:]:  # "Cast Iron Skillet, 10.25 Inch, Pre-Seasoned": facts too
        part_stems = {_singular(w.lower()) for w in re.findall(r"[A-Za-z]+", part)}
        if part_stems and part_stems <= category_stems:
            continue  # "... | Party Supply": the shop's aisle, not a fact ("This set has a party supply.")
        if len(part.split()) >= 3 and not re.search(r"\d", part) and noun in part_stems:
            continue  # "...: Dawn of Justice Wonder Woman Costume Top" names the product again
        if len(part) > 2:
            raw.append(("", part, "title"))
    if product.audience:
        raw.append(("", f"For {clean_text(product.audience)}", "audience"))
    out: list[PlanFact] = []
    seen: set[frozenset[str]] = set()
    for i, (label, text, source) in enumerate(raw):
        if looks_like_instruction(text) or _BOILERPLATE_RE.search(text) or _COMPANY_VOICE_RE.search(text):
            continue
        if text.count(":") > 1 or re.search(r"\b\w+:\S", text):  # "Color:Primary", "Weight:2lb" page residue
            continue
        kw = _keywords(text + " " + label)
        if not kw:
            continue
        if re.fullmatch(r"(?:the |this )?\w+ (?:includes|features|contains|comes with)[.:]?", text.strip(), re.IGNORECASE):
            continue  # "Set includes." - the list it announced was cut off: no fact left
        if source != "title" and not label and len(kw) >= 3 and not _NUMBER_RE.search(text) and {stem(w) for w in tokens(text)} <= title_stems:
            continue  # "Haunted House Children's Costumes Pirate Boy": the name again ("Driver: Chase Elliott" says more)
        near = next((s for s in seen if len(kw & s) >= 0.8 * min(len(kw), len(s))), None)
        if near is not None:
            continue  # the description repeats a bullet
        seen.add(kw)
        kind = "audience" if source == "audience" else _kind(label, text, source)
        position = len(out)
        out.append(
            PlanFact(text=text, label=_clean_label(label) if label else "", source=source, index=i,
                     salience=_salience(text, label, kind, position, title_stems), kind=kind)
        )
    return tuple(out)


def product_facts(product: ProductBrief) -> list[PlanFact]:
    """Every usable statement about ``product``, in the seller's order (see the module docstring)."""
    return list(_facts_cached(product.model_dump_json(exclude={"warnings"})))


# --- names ---------------------------------------------------------------------------------------

_TITLE_CUT_RE = re.compile(r"\s*(?:,|;|\||\(|\[|:|\s[-–—]\s|\s(?:with|featuring|includes|including|for use with)\s)", re.IGNORECASE)
_FOR_RE = re.compile(r"\s+for\s+", re.IGNORECASE)


def _smart_title(text: str) -> str:
    small = {"a", "an", "the", "and", "or", "for", "of", "in", "on", "with", "to", "by", "at"}
    out = []
    for i, w in enumerate(text.split()):
        if w.isupper() or any(c.isdigit() for c in w) or (w[:1].isupper() and any(c.isupper() for c in w[1:])):
            out.append(w)  # "LEGO", "1000-Piece", "CoreFlex"
        elif i > 0 and w.lower() in small:
            out.append(w.lower())
        else:
            out.append("-".join(p[:1].upper() + p[1:] for p in w.split("-")))
    return " ".join(out)


def _segments(title: str) -> list[str]:
    return [p.strip(" -–—,") for p in _TITLE_CUT_RE.split(" ".join(title.split())) if p and p.strip(" -–—,")]


def _singular(word: str) -> str:
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss"):
        return w[:-1]
    return w


def product_name(product: ProductBrief, max_chars: int | None = None) -> str:
    """The product's name as copy says it: the title up to its first separator ("Cast Iron Skillet"
    from "Cast Iron Skillet, 10.25 Inch, Pre-Seasoned"). When the first segment is a lone word (a
    brand: "Moonlite, 3-Story Bundle for Boys, ...") the next segment joins it. A trailing
    "for ..." goes when that makes the name fit ``max_chars``."""
    segments = _segments(product.title) or [product.title.strip()]
    core = segments[0]
    if len(core.split()) < 2 and len(segments) > 1:
        core = f"{core} {_FOR_RE.split(segments[1], maxsplit=1)[0]}"
    elif len(core.split()) == 2 and len(segments) > 1 and not _names_a_thing(core):
        # "Star Wars: The Force Awakens Child's Stormtrooper Costume": a franchise or a maker alone
        # is no name for the product ("This is the Star Wars.")
        longer = f"{core} {_FOR_RE.split(segments[1], maxsplit=1)[0]}"
        if len(longer.split()) <= 10 and _names_a_thing(longer):
            core = longer
    # "Created By Me! Heart Beads ...": a "!" inside a name ends the sentence for a reader (and for
    # every sentence splitter); the words read the same without it
    core = re.sub(r"[!?](?=\s+\S)", "", core)
    if max_chars and len(core) > max_chars:
        short = _FOR_RE.split(core, maxsplit=1)[0]
        core = short if len(short) >= 3 else core
    return core.strip()


def _names_a_thing(name: str) -> bool:
    """Whether a name says what the product is: it holds a singular product noun ("Stormtrooper
    Costume"); "Star Wars", "Pokemon TCG" and "Buffalo Games" do not."""
    return any(re.sub(r"[^a-z-]", "", w.lower()) in _THING_NOUNS and not _is_plural(w) for w in name.split())


def product_type(product: ProductBrief) -> str:
    """What kind of thing it is, in 1-3 words from its name: the category's own noun when the name
    uses it ("Jigsaw Puzzle", "Rain Jacket"), the whole name when it is short ("Non-Slip Yoga
    Mat"), else its last two words. A "type" that ends in a number or a code ("Skyhawk 1:72")
    falls back to the category's last noun, so sentences never say "This 1 has ..."."""
    kind = _product_type(product)
    last = kind.split()[-1] if kind.split() else ""
    if not re.fullmatch(r"[A-Za-z][A-Za-z'’-]{2,}", last) or last.isupper():
        segs = [seg.strip() for seg in product.category.split("|") if seg.strip()]
        noun = re.findall(r"[A-Za-z]+", segs[-1])[-1] if segs and re.findall(r"[A-Za-z]+", segs[-1]) else "product"
        return _singular(noun).capitalize() if noun.lower() != "product" else "Product"
    words = kind.split()
    if len(words) > 1 and words[0].lower() in _STOP_BEFORE_KIND:
        kind = " ".join(words[1:])  # "Magnets in a Box" -> "Box", not "a Box"
    elif len(words) == 2 and (_is_plural(words[0]) and not _is_plural(words[1]) or words[0].lower() in _UNIT_WORDS):
        kind = words[1]  # "Blue Eyes Doll" -> "Doll", not "This eyes doll"; "17 Inch Backpack" -> "Backpack"
    return _known_kind(product, kind)


def _known_kind(product: ProductBrief, kind: str) -> str:
    """``kind`` when its last word is a thing we know products to be; otherwise what the title or
    the category says the product is. Titles often end in a character, a colour or a line's name
    ("Astrid & Hiccup", "Blue Eyes/Blonde Hair", "Trainer Cruz Ramirez"), and "This hiccup has
    ..." reads as junk to a shopper: "This playset", "This doll", "This die-cast vehicle" do not."""
    heads = _category_heads(product) - _ABSTRACT_HEADS
    known = heads | _THING_NOUNS
    last = kind.split()[-1] if kind.split() else ""
    if _singular(last.strip(",.")) in known:
        return kind
    segs = [seg.strip() for seg in product.category.split("|") if seg.strip()]
    if segs:  # the most specific category, when it names a thing: "Dolls", "Die-Cast Vehicles"
        m = re.search(r"(?:([A-Za-z][A-Za-z'-]*)\s+)?([A-Za-z][A-Za-z'-]*)\s*$", segs[-1])
        prev, last = (m.group(1), _singular(m.group(2))) if m else (None, "")
        broad = last in {"game", "toy"}  # "Board Games", "Bath Toys" say a thing; "Toys & Games" does not
        # "Baby & Toddler Toys" says little; "Stuffed Animals & Plush Toys" says plush
        generic = broad and (not prev or ("&" in segs[-1] and _singular(prev) not in known))
        if last and not generic and (last in heads or broad):
            head = last.capitalize()
            paired = bool(prev) and bool(re.search(rf"&\s+{re.escape(prev)}\s+\S+\s*$", segs[-1]))
            if paired and _singular(prev) not in known:
                return head  # "Basketball & Volleyball Sets" says "Set", not "Volleyball Set"
            return f"{prev} {head}" if prev and prev.lower() not in _STOP_BEFORE_KIND else head
    words = re.findall(r"[A-Za-z][A-Za-z'-]*", product.title)
    # a title's "Toy", "Game" or "Accessory" says nothing more than the category did
    found = _kind_in(words, known - _ABSTRACT_HEADS, first=1, platform_words=False)
    if found:  # the noun, with the word before it only when that is a thing too ("Kitchen Set"), as it
        # is often a character's or a line's name ("Magic Snorkel", "Battat Dinosaur")
        *before, noun = found.split()
        prev = before[-1] if before else ""
        keep = prev and not _is_plural(prev) and _singular(prev) in known | _ABSTRACT_HEADS
        return f"{prev.capitalize()} {_singular(noun).capitalize()}" if keep else _singular(noun).capitalize()
    return kind


def _kind_in(words: Sequence[str], heads: set[str], *, first: int = 0, platform_words: bool = True) -> str:
    """The last singular category head among ``words`` (from index ``first``) with the word before
    it ("Action Figure"), or "" when there is none. ``platform_words=False`` also skips
    activities and platforms ("Pretend Play", "PlayStation")."""
    for i in range(len(words) - 1, first - 1, -1):
        w = words[i]
        if _singular(w) not in heads or _is_plural(w):
            continue
        if not platform_words and (re.search(r"[a-z][A-Z]", w) or w.lower() in _NOT_KINDS):
            continue
        prev = words[i - 1] if i > 0 else ""
        return f"{prev} {w}" if prev and prev.lower() not in _STOP_BEFORE_KIND else w
    return ""


def _product_type(product: ProductBrief) -> str:
    full = product_name(product)
    name = _FOR_RE.split(full, maxsplit=1)[0]
    head = re.split(r"\s+(?:with|w/)\s+", name, maxsplit=1, flags=re.IGNORECASE)[0]
    if len(head.split()) >= 2:
        name = head  # "Storage Tin with Built in Sharpener" is a tin
    brand = brand_of(product)
    if brand and name.lower().startswith(brand.lower() + " "):
        name = name[len(brand) + 1:]
    words = [w for w in name.split() if w]
    if not words:
        return product.title.split()[0]
    heads = _category_heads(product)
    last = words[-1].strip(",.")
    if _is_plural(last) and _singular(last) not in heads:
        # "Action Attackers" is a line's name; the title says what it is ("... Action Figure")
        found = _kind_in(re.findall(r"[A-Za-z][A-Za-z'-]*", product.title), heads, first=1)
        if found:
            return found
    at = product.title.find(full)
    rest = product.title[at + len(full):] if at >= 0 else ""
    if _singular(last) not in heads and _singular(last) not in _KIND_NOUNS and rest:
        # "Rubie's Women's Batman v Superman: Dawn of Justice Wonder Woman Costume Top": the name
        # ends in a film, the rest of the title says what it is
        found = _kind_in(re.findall(r"[A-Za-z][A-Za-z'-]*", rest), heads, platform_words=False)
        if found:
            return found
    if len(words) <= 3:
        return " ".join(words)
    if _singular(last) in heads or re.fullmatch(r"[A-Za-z][A-Za-z'’-]{2,}", last):
        return " ".join(words[-2:])  # the kind is named at the end: "Bella Butterfly Net" -> "Butterfly Net"
    for i in range(len(words) - 1, max(0, len(words) - 3), -1):
        if _singular(words[i].strip(",.")) in heads:
            return " ".join(words[max(0, i - 1): i + 1])
    return " ".join(words[-2:])


# Nouns that already say what a product is, whatever its category calls it ("Plush Doll")
_KIND_NOUNS = {"doll", "toy", "game", "plush", "set", "kit", "figure", "puzzle", "playset", "book", "ball", "blanket",
               "costume", "statue", "wallet", "net", "bike", "tent", "card", "vehicle", "truck", "car", "train", "robot",
               "table", "restaurant", "phone", "kitchen", "house", "chair", "lamp", "bag", "backpack", "bottle", "mat",
               "tin", "box", "case", "jar", "basket", "bin"}
# Other things products are, beyond this product's category heads: a type ending in one of these is
# kept ("Cowboy Hat", "Wall Decal"); one ending in anything else is looked up in the title and the
# category (``_known_kind``).
_PRODUCT_NOUNS = {
    "hat", "cap", "decal", "poster", "tank", "rattle", "ramp", "track", "bundle", "pack", "tape", "pad", "roll",
    "shirt", "t-shirt", "dress", "sweater", "jacket", "coat", "hoodie", "sock", "shoe", "boot", "glove", "scarf",
    "tiara", "crown", "wand", "sword", "shield", "helmet", "wig", "mask", "cape", "apron", "tutu", "skirt", "gauge",
    "brace", "pin", "screw", "bolt", "nut", "washer", "spring", "gear", "wheel", "tire", "axle", "motor", "battery",
    "charger", "cable", "controller", "remote", "drone", "helicopter", "plane", "airplane", "jet", "boat", "ship",
    "rocket", "tractor", "bus", "van", "ambulance", "stroller", "crib", "cradle", "highchair", "carrier", "bouncer",
    "swing", "slide", "trampoline", "pool", "sandbox", "kite", "scooter", "skateboard", "longboard", "skate",
    "racket", "racquet", "bat", "hoop", "goal", "paddle", "frisbee", "disc", "yo-yo", "top", "spinner", "cube",
    "block", "brick", "tile", "bead", "bracelet", "necklace", "ring", "earring", "keychain", "charm", "sticker",
    "stamp", "marker", "crayon", "pencil", "pen", "brush", "paint", "canvas", "easel", "clay", "dough", "slime",
    "journal", "notebook", "album", "calendar", "map", "globe", "telescope", "microscope", "binocular", "camera",
    "radio", "speaker", "clock", "watch", "light", "lantern", "flashlight", "nightlight", "projector", "candle",
    "balloon", "banner", "garland", "streamer", "confetti", "plate", "cup", "napkin", "tablecloth", "invitation",
    "cutout", "centerpiece", "topper", "favor", "pinata", "decoration", "ornament", "wreath", "stocking", "pillow",
    "cushion", "quilt", "comforter", "sheet", "curtain", "valance", "rug", "carpet", "tunnel", "playhouse",
    "castle", "garage", "station", "farm", "dollhouse", "furniture", "bed", "desk", "stool", "bench", "shelf",
    "rack", "organizer", "pouch", "purse", "lunchbox", "puppet", "marionette", "instrument", "drum", "guitar",
    "piano", "keyboard", "xylophone", "tambourine", "maraca", "harmonica", "ukulele", "recorder", "whistle",
    "microphone", "walkie-talkie", "replica", "prop", "bust", "statuette", "figurine", "bobblehead", "diorama",
    "model", "miniature", "expansion", "deck", "dice", "die", "token", "board", "playmat", "sleeve", "binder",
    "collection", "assortment", "refill", "accessory", "outfit", "uniform", "suit", "stuffed", "bear", "animal",
    "dinosaur", "unicorn", "teether", "pacifier", "mobile", "gym", "walker", "tricycle", "bicycle", "wagon", "sled",
    "surfboard", "snorkel", "goggles", "float", "raft", "tube", "wristband", "headband", "tote", "magnet",
    "keyring", "recliner", "rocker", "headset", "toaster", "vacuum", "mower", "tattoo", "hammock", "chest", "trunk",
    "locker", "mirror", "frame", "plaque", "sign", "flag", "insert", "cartridge", "pump", "filter", "cover", "bowl",
    "mug", "tumbler", "basketball", "football", "volleyball", "baseball", "softball",
}
_THING_NOUNS = _KIND_NOUNS | _PRODUCT_NOUNS
# Category heads that say a department, not a thing ("Party Supplies", "Learning & Education")
_ABSTRACT_HEADS = {"accessory", "play", "hobby", "supply", "outdoor", "education", "baby", "cor", "product", "electronic",
                   "fitness", "women", "men", "girl", "boy", "room", "nursery", "recreation", "apparel", "equipment",
                   "dining", "organization", "sport", "storage", "treatment", "clothing", "novelty", "more", "crafting",
                   "material", "activity", "shop", "structure", "staple", "baking", "theater", "entertainment",
                   "improvement", "center", "care", "accent", "lighting", "garden", "wood", "painting", "hockey",
                   "skating", "skateboarding", "kitchen", "craft", "jewelry", "toy", "game", "headwear", "percussion",
                   "tenni", "aid", "film", "part", "system", "store", "housekeeping", "hardware"}
# Category words that name an activity or a platform, not a thing ("Pretend Play", "Nintendo Switch")
_NOT_KINDS = {"play", "room", "switch", "playstation", "xbox", "nintendo", "wii", "party", "birthday", "decor", "décor"}
_UNIT_WORDS = {"inch", "inches", "in", "piece", "pieces", "pc", "pcs", "pack", "count", "ct", "foot", "feet", "ft", "mm",
               "cm", "oz", "ounce", "lb", "pound", "story", "player", "speed", "gallon", "liter", "quart", "volt"}
_STOP_BEFORE_KIND = {"a", "an", "the", "and", "or", "of", "for", "with", "to", "in", "on", "by"}


def _category_heads(product: ProductBrief) -> set[str]:
    """The last noun of each category segment, singular ("Action Figures" -> "figure")."""
    return {_singular(w) for seg in product.category.split("|") for w in re.findall(r"[A-Za-z]+", seg)[-1:]}


def _is_plural(word: str) -> bool:
    w = word.lower()
    return len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "'s", "’s"))


def product_noun(product: ProductBrief) -> str:
    """The one word sentences use for the product ("The net has ...", "This puzzle is ..."),
    always singular so every verb agrees: a product named by a plural ("Watercolor Pencils",
    "Flash Cards") is a "set"."""
    noun = product_type(product).split()[-1].lower()
    if _is_plural(noun) or not re.fullmatch(r"[a-z][a-z'-]*", noun):
        return "set"
    return noun


_NAME_WORDS = 7
"""A name longer than this is no subject ("The Madame Alexander 8" ICY Elegance Light Skin ...");
the maker and the type stand in ("The Madame Alexander doll"), else the plain noun."""
_CODE_RE = re.compile(r"^[A-Z]*\d[\dA-Z/-]*$")


def _is_code(word: str) -> bool:
    """A catalog code in a name ("96959", "C1070", "W5220"): no word a shopper says."""
    return bool(_CODE_RE.match(word)) and sum(c.isdigit() for c in word) >= 3


def name_subject(product: ProductBrief) -> str:
    """The product's own name as a sentence subject, always singular: "The Forum Novelties Union
    Officer Child's Costume", "The Carson Dellosa Funky Frogs Shape Stickers set" (a plural name
    takes ``product_noun``, so the verb agrees); catalog codes ("96959", "C1070") go. For the few
    sentences that would otherwise read like any product of the kind."""
    name = _FOR_RE.split(product_name(product), maxsplit=1)[0].strip(" ,:;-")
    words = [w for w in name.split() if not _is_code(w)]
    while words and (words[-1].lower() in _STOP_BEFORE_KIND or words[-1] in {"&", "+", "-"} or words[-1].isdigit()):
        words.pop()  # "Airfix Douglas A-4B/Q Skyhawk 1" (the title said "1:72")
    noun = product_noun(product)
    if not words or len(words) > _NAME_WORDS:
        # a name too long to be a subject: the maker before a catalog code and the type ("The
        # Performance Tool drilling assortment" for "Performance Tool W5220 200 pc Hex Washer Self
        # Drilling Assortment"), else the plain noun, as elsewhere
        maker = _maker(product.title)
        kind = type_subject(product)[len("This "):]
        return f"The {maker} {kind}" if maker and maker.lower() not in kind.lower() else f"The {noun}"
    if noun not in {_singular(re.sub(r"[^a-z'-]", "", w.lower())) for w in words}:
        words.append(noun)
    if words[0].lower() == "the":
        words = words[1:]
    return "The " + " ".join(words)


_NAME_JOINTS = {"&", "and", "n'", "N'"}
"""Words that join the parts of a maker's name ("Melissa & Doug", "Click N' Play")."""


def _maker(title: str) -> str:
    """The maker, as the title shows it: a first word styled as a brand ("Mi-Zone", "LEGO"); the
    one to three capitalised words before the first catalog code or size ("Madame Alexander" in
    'Madame Alexander 8" ICY Elegance ...'); else the title's first two capitalised words, with the
    joints of a two-part name ("Melissa & Doug", "Kid O Myland", "Indie Boards and Cards"). Used
    only where the whole name is too long to say; "" when the title starts otherwise."""
    words = [w.strip(",:;") for w in title.split()]
    if words and re.fullmatch(r"[A-Z][a-z]+-[A-Z][A-Za-z]+|[A-Z]{3,}|[A-Z][a-z]+[A-Z][A-Za-z]+", words[0]):
        if words[0].isupper() and len(words) > 1 and words[1].isupper() and words[1].isalpha() and len(words[1]) > 2:
            return " ".join(words[:2])  # "TAMASHII NATIONS", "LIL TOTS"
        return words[0]  # "Mi-Zone", "LEGO", "PLAYMOBIL", "FunKo": a word styled as a brand
    for j, w in enumerate(words[:4]):
        if any(c.isdigit() for c in w):
            lead = words[:j]
            if 1 <= j <= 3 and all(x[:1].isupper() or x == "&" for x in lead) and lead[-1] != "&":
                return " ".join(lead).strip("-")
            return ""
    lead: list[str] = []
    for w in words[:5]:
        joint = w in _NAME_JOINTS or (len(w) == 1 and w.isupper())
        if not (w[:1].isupper() or joint) or w.lower() == "the" and not lead:
            break
        lead.append(w)
        if len([x for x in lead if not (x in _NAME_JOINTS or len(x) == 1)]) >= 2 and not joint:
            break
    while lead and lead[-1] in _NAME_JOINTS:
        lead.pop()
    return " ".join(lead) if len(lead) >= 2 else ""


def type_subject(product: ProductBrief) -> str:
    """"This child's costume", "This butterfly net": the product's type as a subject, between the
    bare noun and the whole name ("This costume" when the type is not a plain phrase)."""
    kind = product_type(product)
    noun = product_noun(product)
    words = kind.split()
    plain = all(re.fullmatch(r"[A-Za-z][A-Za-z'’-]*", w) for w in words)
    maker_led = product.title.lower().startswith(kind.lower())  # "Buffalo Games", "Lionel Trains": a maker
    if plain and _is_plural(words[-1]) and _singular(words[-1]) != noun and noun == "set" and len(words) <= 3 and not maker_led:
        return "This set of " + " ".join(w if w.isupper() else w.lower() for w in words)  # "This set of playing cards"
    if len(words) < 2 or not plain or _singular(words[-1]) != noun:
        return f"This {noun}"
    if _is_plural(words[-1]):
        words = [*words[:-1], noun]  # "Bedding Sets" -> "This bedding set", so the verb agrees
    elif kind == product_name(product):
        # the whole (short) name, said as a description rather than repeated as a name
        # ("The Non-Slip Yoga Mat" three times): "This non-slip yoga mat"
        if len(words) > 3:
            words = words[-2:]
    return "This " + " ".join(w if w.isupper() else w.lower() for w in words)


def brand_of(product: ProductBrief) -> str:
    """The brand, when the product names one."""
    return " ".join((product.brand or "").split())


# --- planning ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requests:
    """What a person asked for, as changes to the plan (``copyloop.tools.requests`` parses them)."""

    include: tuple[str, ...] = ()
    """Fact keys that must be in the copy."""
    exclude_terms: tuple[str, ...] = ()
    """Words whose sentences must leave the copy."""
    length: int = 0
    """-1 shorter, +1 longer, 0 as is."""
    tone: str = ""
    """A tone word ("playful", "practical", "warm", ...)."""
    wording: tuple[str, ...] = ()
    """Exact wording a person dictated (quoted), to be used as is."""
    focus: tuple[str, ...] = ()
    """The words a person used for a fact they want mentioned ("induction"): a headline names them."""


@dataclass
class Plan:
    """The facts one candidate uses, in order, plus the choices that vary between candidates."""

    facts: list[PlanFact] = field(default_factory=list)
    variant: int = 0
    requests: Requests = field(default_factory=Requests)


def _excluded(fact: PlanFact, terms: Sequence[str]) -> bool:
    if not terms:
        return False
    stems = _keywords(fact.text + " " + fact.label) | {w.lower() for w in tokens(fact.text)}
    for term in terms:
        term_stems = {stem(w) for w in tokens(term)}
        if term_stems and term_stems <= stems:
            return True
    return False


def plan_facts(
    facts: Sequence[PlanFact], count: int, *, variant: int = 0, requests: Requests = Requests(),
    kinds: Sequence[str] = ("feature", "spec", "audience"),
) -> list[PlanFact]:
    """``count`` facts for one candidate: requested ones first, then by salience; candidate
    ``variant`` > 0 swaps in the next-best facts so candidates of a round differ in content, not
    only in wording. Output keeps the seller's order after the requested facts (it reads better)."""
    usable = [f for f in facts if f.kind in kinds and not _excluded(f, requests.exclude_terms)]
    topical = [f for f in usable if not f.offtopic or f.key in requests.include]
    if len(topical) >= min(count, 3):
        usable = topical
    must = [f for f in usable if f.key in requests.include]
    rest = sorted((f for f in usable if f.key not in requests.include), key=lambda f: (-f.salience, f.index))
    features = [f for f in rest if f.kind == "feature"]
    others = [f for f in rest if f.kind != "feature"]
    ranked = features + others
    if variant and len(ranked) > count:
        # rotate the tail so candidate v replaces its v weakest picks with the next ones
        keep = max(1, count - variant)
        ranked = ranked[:keep] + ranked[count:count + variant] + ranked[keep:count] + ranked[count + variant:]
    chosen = must + [f for f in ranked if f not in must][: max(0, count - len(must))]
    head = [f for f in chosen if f in must]
    tail = sorted((f for f in chosen if f not in must), key=lambda f: (f.kind != "feature", f.index))
    return head + tail


def revise_plan(
    previous: Sequence[PlanFact], facts: Sequence[PlanFact], *, requests: Requests, floor: int = 1,
) -> list[PlanFact]:
    """The facts of a revision: the previous draft's facts, minus what a person asked to leave
    out, plus what they asked to mention; "shorter" drops the weakest fact (never below
    ``floor``), "longer" adds the strongest unused one. A revision changes what was asked, and
    only that."""
    kept = [f for f in previous if not _excluded(f, requests.exclude_terms)]
    by_key = {f.key: f for f in facts}
    for key in requests.include:
        f = by_key.get(key)
        if f is not None and f not in kept:
            kept.insert(0, f)
    if requests.length < 0 and len(kept) > floor:
        removable = [f for f in kept if f.key not in requests.include]
        if removable:
            weakest = min(removable, key=lambda f: (f.salience, -f.index))
            kept.remove(weakest)
    elif requests.length > 0:
        spare = sorted((f for f in facts if f not in kept and f.kind in ("feature", "spec", "audience")
                        and not _excluded(f, requests.exclude_terms)), key=lambda f: (-f.salience, f.index))
        kept.extend(spare[:1])
    return kept


__all__ = [
    "Plan",
    "PlanFact",
    "Requests",
    "brand_of",
    "plan_facts",
    "revise_plan",
    "product_facts",
    "name_subject",
    "type_subject",
    "product_name",
    "product_noun",
    "product_type",
]
