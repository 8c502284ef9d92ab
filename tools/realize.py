"""Rule-based realisation: turn planned facts into sentences, bullets, headlines and whole copy.

This is the extractive side of the drafter (issue #11): the seller's own statement, lightly
edited into a sentence a shopper reads ("Pre-seasoned with vegetable oil" -> "The skillet comes
pre-seasoned with vegetable oil."). It never adds content words beyond the product's data and a
few neutral ones ("it", "has", "comes", "measures"), so it is the floor under every model
sample: when no sample of the small model passes its checks, this text is used. Warczyński,
Lango & Dušek (2025) make the same point: rule-based realisers do not hallucinate.

Headlines are compressions of the title, the brand and one key fact ("K'NEX Turbo Jet Building
Set", "Pre-Seasoned Cast Iron Skillet"), fitted to the channel's limit.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Collection, Sequence

from copyloop.tools.channels import ChannelSpec
from copyloop.tools.plan import PlanFact, _is_code, _maker, _singular, _smart_title, brand_of, product_name, product_type
from copyloop.tools.schemas import ProductBrief
from copyloop.tools.text import visible_len, word_count
from copyloop.tools.vocab import GENERIC_NAME_WORDS, filler_phrases

# --- one fact, one sentence ----------------------------------------------------------------------

_VERBS_S = {
    "includes", "features", "works", "comes", "holds", "packs", "fits", "folds", "offers", "provides", "keeps",
    "lets", "helps", "makes", "supports", "measures", "weighs", "contains", "has", "uses", "allows", "creates",
    "develops", "reinforces", "encourages", "promotes", "teaches", "requires", "stores", "clips", "attaches",
    "connects", "plays", "lights", "rolls", "adds", "gives", "brings", "turns", "converts", "doubles", "stays",
    "dries", "washes", "cleans", "protects", "prevents", "reduces", "improves", "builds", "grows", "sits", "stands",
    "mounts", "hangs", "opens", "closes", "locks", "snaps", "slides", "zips", "wipes", "cuts", "heats", "cools",
    "charges", "runs", "moves", "spins", "flies", "floats", "glows", "sounds", "sings", "talks", "records", "shows",
    "displays", "measures", "combines", "delivers", "ensures", "enables", "inspires", "introduces", "sparks",
    "boosts", "comes", "arrives", "ships", "covers", "wraps", "secures", "retains", "resists", "absorbs", "blocks",
}
_IMPERATIVES = {
    "make", "experiment", "build", "create", "learn", "enjoy", "use", "take", "keep", "bring", "give", "let", "watch",
    "explore", "discover", "read", "write", "peel", "clip", "slide", "store", "add", "choose", "practice", "play",
    "turn", "set", "mix", "sort", "stack", "tell", "help", "get", "put", "try", "start", "wear", "pack", "carry", "hang",
    "display", "show", "just", "simply", "transform", "imagine", "celebrate", "dress", "decorate", "stay", "treat",
    "place", "fill", "press", "pull", "push", "attach", "connect", "open", "insert", "assemble", "plug", "charge",
    "spark", "encourage", "develop", "introduce", "teach", "share", "capture", "join", "relax", "unwind", "personalize",
    "customize", "organize", "protect", "hand", "machine", "wipe", "find", "recreate", "look", "watch", "listen",
    "hear", "feel", "see", "go", "ride", "roll", "throw", "catch", "kick", "swing", "climb", "slide", "jump", "sit",
    "stand", "store", "travel", "fly", "launch", "race", "drive", "steer", "spin", "match", "count", "spell", "trace",
    "color", "colour", "paint", "draw", "cut", "glue", "fold", "sew", "knit", "cook", "bake", "serve", "pour", "fill",
    "clean", "dry", "wash", "hang", "mount", "plug", "pair", "sync", "record", "snap", "lock", "twist", "turn", "pull",
    "convert", "unleash", "reveal", "solve", "guess", "collect", "trade", "battle", "defend", "feed", "dig", "flip",
    "shake", "squeeze", "bounce", "tap", "grab", "hide", "seek", "escape", "shoot", "blast", "link", "swap", "complete",
    "pop", "toss", "drop", "load", "squirt", "spray", "blow", "inflate", "zip", "unzip", "stretch", "bend",
}
# Words that make a short phrase an adjective ("Safe, cordless, battery operated" -> "It is safe,
# cordless and battery operated."), besides the endings in _ADJ_LIST_END_RE
_ADJECTIVES = {"safe", "soft", "durable", "lightweight", "sturdy", "easy", "strong", "light", "portable", "compact",
               "cute", "bright", "colorful", "colourful", "washable", "reusable", "waterproof", "non-toxic",
               "cuddly", "comfy", "shiny", "fluffy", "squishy", "stretchy", "handy", "quiet", "smooth", "thick", "warm",
               "cozy", "sleek", "simple", "quick", "realistic", "flexible", "adjustable", "foldable", "huggable"}
_ADJ_LIST_END_RE = re.compile(r"(?:ed|less|able|ible|ful|ive|ous|proof|free|resistant)$")
_MASS_ING = {"ring", "string", "swing", "wing", "king", "sling", "spring", "earring", "building", "stocking", "pudding",
             "painting", "drawing", "thing", "ceiling", "wedding", "filling"}
_PEOPLE = {"children", "kids", "child", "kid", "you", "parents", "babies", "baby", "toddlers", "adults", "players",
           "owners", "fans", "collectors", "teachers", "students", "users", "girls", "boys", "everyone", "families"}
_MODALS = {"can", "will", "may", "won't", "can't", "cannot", "should", "must", "could", "would"}
_PEOPLE_PLURAL = {"children", "kids", "parents", "toddlers", "adults", "players", "owners", "fans", "collectors",
                  "teachers", "students", "users", "families", "everyone"}
_AUX = {"is", "are", "was", "were", "has", "have", "can", "will", "won't", "can't", "don't", "doesn't", "do", "does",
        "would", "could", "should", "may", "might", "must", "'re", "'s", "'ll", "become", "becomes", "get", "gets",
        "need", "needs", "come", "create", "develop", "make", "help", "keep", "let", "allow", "provide", "offer"}
_SUBORDINATORS = {"as", "when", "while", "if", "once", "because", "whether", "since", "although", "though", "whatever",
                  "whenever", "wherever", "after", "before", "until"}
_DETERMINERS = {"the", "this", "these", "those", "each", "every", "your", "our", "its", "their", "all", "both"}
_ROLE_NOUNS = {"starter", "resource", "kit", "set", "toy", "game", "companion", "system", "tool", "gift", "way",
               "choice", "option", "solution", "accessory", "addition", "product", "favorite", "classic", "must",
               "essential", "staple", "alternative", "replacement", "upgrade", "bundle", "collection", "pack", "unit",
               "item", "piece", "device", "machine", "model", "version", "edition"}
_OBJECT_STARTERS = {"the", "a", "an", "your", "its", "their", "this", "these", "every", "each", "any", "all", "up", "down",
                    "out", "off", "away", "it", "them", "you"}
_BASE_VERBS = {"keep", "make", "help", "let", "hold", "stay", "fit", "work", "come", "give", "add", "create", "provide",
               "offer", "allow", "protect", "prevent", "feature", "include", "learn", "play", "grow", "love", "enjoy",
               "get", "go", "take", "snap", "lock", "fold", "roll", "stack", "connect", "attach", "light", "glow", "move",
               "develop", "build", "promote", "encourage", "support", "last", "stand", "sit", "look", "feel", "clean"}
_MASS_NOUNS = {"satisfaction", "assembly",  # "Satisfaction is ensured", not "A satisfaction ..."
               "vision", "talk", "cushioning", "protection", "storage", "support", "lighting", "sound", "comfort",
               "padding", "construction", "fabric", "material", "cotton", "nylon", "polyester", "plastic", "wood",
               "steel", "leather", "fun", "play", "learning", "information", "equipment", "furniture", "clothing",
               "insulation", "ventilation", "traction", "grip", "coverage", "care", "power", "control", "audio", "video",
               "paint", "music", "light", "water", "air", "space", "storage", "safety", "quality", "durability"}
_PARTICIPLE_TAIL = {"included", "sold", "required", "recommended", "needed", "provided", "shown", "packed", "made",
                    "available", "attached", "supplied", "pictured", "guaranteed", "ensured"}
_PREPOSITIONS = {"with", "from", "by", "in", "for", "to", "on", "of", "and", "using", "into", "at", "onto", "under",
                 "over", "through", "like", "as", "without"}
_PARTICIPLES = {"made", "built", "designed", "crafted", "sewn", "woven", "grown", "sold", "shown", "printed", "packed",
                "packaged", "constructed", "engineered", "inspired", "licensed", "certified", "tested", "approved",
                "handmade", "hand-made", "handcrafted", "recommended", "intended", "suitable", "ideal", "perfect",
                "great", "safe", "compatible", "available", "ready", "easy", "suited"}
_ADJ_END_RE = re.compile(
    r"(?:safe|proof|free|resistant|friendly|ready|able|ible|washable|adjustable|lightweight|portable|waterproof|"
    r"included|required|compatible|approved|certified|rechargeable|foldable|reusable|durable|soft|sturdy)$",
    re.IGNORECASE,
)
_WEIGHT_RE = re.compile(r"^[\d.,]+\s*(?:ounces?|oz|pounds?|lbs?|grams?|g|kilograms?|kg)\.?$", re.IGNORECASE)
_SKILLS_RE = re.compile(
    r"^(?:[\w&-]+\s+){0,3}(?:skills|coordination|socialization|socialisation|reasoning|development|dexterity|creativity|"
    r"imagination|awareness|recognition|thinking|problem[- ]solving)$",
    re.IGNORECASE,
)
"""A child's skill that a toy builds, as the seller lists it: realised as "It helps with ..."."""
_COLOURS = {"red", "orange", "yellow", "green", "blue", "purple", "pink", "black", "white", "grey", "gray", "brown",
            "beige", "navy", "teal", "gold", "silver", "multicolor", "multicolored", "colorful", "colourful"}
_SPEC_TEMPLATES: dict[str, str] = {
    "product dimensions": "{subj} measures {v}.",
    "item dimensions": "{subj} measures {v}.",
    "package dimensions": "The package measures {v}.",
    "dimensions": "{subj} measures {v}.",
    "size": "{subj} measures {v}." ,
    "finished size": "The finished size is {v}.",
    "item weight": "{subj} weighs {v}.",
    "weight": "{subj} weighs {v}.",
    "recommended age": "{subj} is recommended for ages {v}.",
    "age range": "{subj} is recommended for ages {v}.",
    "batteries": "Batteries: {v}.",
    "material": "{subj} is made of {v}.",
}
_MATERIAL_NP_RE = re.compile(r"^(?:\d+\s?%\s*)?(?:organic |recycled |solid |genuine |stainless |natural )?(?:cotton|nylon|polyester|wool|bamboo|wood|steel|"
                             r"aluminum|plastic|silicone|rubber|leather|paper|paperboard|cardboard|glass|ceramic|canvas|felt|foam|metal|acrylic|"
                             r"latex|vinyl|pvc|velvet|satin|fleece)\b", re.I)


def _subject(subject: str, first: bool) -> str:
    return subject if first else "It"


_OWN_SUBJECT_RE = re.compile(r"^(?:(?:the|this|our|your)\s+)?([A-Za-z][A-Za-z'-]*)\s+([a-z']+)\b(.*)$", re.IGNORECASE)
_ONE_SIZE_RE = re.compile(r"^one size fits (most|all)\b\s*(.*)$", re.IGNORECASE)


def _own_subject(text: str, subj: str, head: str) -> str:
    """A seller's sentence whose subject is the bare kind (``head``, the type's last word: "Figure
    measures 6.75 inches tall", "The set includes 4 cups") says the given subject instead, when
    that is a name or a type ("This action figure measures ..."): the bare kind fits every product
    of the kind, which is what the name is there to fix. "One size fits most" says whose size it
    is. "" when neither."""
    body = text.rstrip(". ")
    one = _ONE_SIZE_RE.match(body)
    if one:
        rest = f" {one.group(2)}" if one.group(2) else ""
        return _end(f"{subj} comes in one size that fits {one.group(1).lower()}{rest}")
    if subj in ("It", "They") or not head:
        return ""
    m = _OWN_SUBJECT_RE.match(body)
    if not m:
        return ""
    noun, verb = m.group(1).lower(), m.group(2).lower()
    nouns = {_singular(head), _singular(subj.split()[-1])}  # the head noun: "Doll" is not a "Doll Set"
    if noun not in nouns or verb not in (_VERBS_S | {"is", "has", "can", "will"}):
        return ""  # a plural ("Figures measure") is not this product either
    return _end(f"{subj} {verb}{m.group(3)}")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def _lower_first(text: str) -> str:
    if len(text) > 1 and text[:1].isupper() and not text[1:2].isupper() and not re.match(r"[A-Z][a-z]*[A-Z]", text.split()[0]):
        return text[:1].lower() + text[1:]
    return text


_POSTPOSITIVE = {"perfect", "ideal", "great", "suitable", "safe", "easy", "ready", "made", "designed", "built", "inspired",
                 "crafted", "intended", "included", "featuring", "including", "offering", "making", "allowing", "helping"}
"""Words that end a noun phrase's head when they follow it ("pieces perfect for small hands")."""


def _head(np: str) -> str:
    """The head noun of a noun phrase: the last word before its first preposition or "and"."""
    words = np.split()
    head = words[-1] if words else ""
    for i, w in enumerate(words):
        lw = w.lower().strip(",")
        if i > 0 and (lw in _PREPOSITIONS | {"that", "which", "so"} or (lw in _POSTPOSITIVE and i > 1)):
            head = words[i - 1]  # "chunky pieces perfect for small hands": the head is "pieces"
            break
    return re.sub(r"[^a-z0-9-]", "", head.lower())


def _plural(np: str) -> bool:
    head = _head(np)
    return (head.endswith("s") and not head.endswith(("ss", "us", "is"))) or bool(re.match(r"^\d+\s+\w+s\b", np)) and not re.match(r"^1\s", np)


def _article(np: str) -> str:
    words = np.split()
    if not words:
        return ""
    first = words[0].lower()
    if first in {"a", "an", "the", "its", "your", "one", "two", "three", "four", "five", "six", "ten", "both", "all", "each",
                 "every", "no", "some", "many", "multiple", "several", "this", "these", "their", "our"}:
        return ""
    if first[:1].isdigit():
        # "10.25 inch cooking surface" / "5-inch display" take an article; "1000 pieces" does not
        if not re.match(r"^[\d.,]+(?:[- ]?(?:inch|in|mm|cm|foot|ft|feet|meter|m|oz|ounce|lb|pound|piece|pc|pack|count|ct|story|player|speed|year|month|day|hour|note|sided|way))\b", first + " " + " ".join(words[1:2]), re.I):
            return ""
        if _plural(np):
            return ""
        return "an " if first[:1] == "8" or first.startswith(("11", "18")) else "a "
    if _plural(np) or _head(np) in _MASS_NOUNS or " and " in np.lower():
        return ""
    if len(words) > 1 and _head(np).endswith("ing") and _head(np) not in _MASS_ING:
        return ""  # "superb detailing", "realistic sculpting": no "a"
    return "an " if first[:1] in "aeiou" else "a "


def _adjective_list(text: str) -> str:
    """"Safe, cordless, battery operated" as "safe, cordless and battery operated" when every item
    of a short list is an adjective phrase (the seller listed qualities, not parts); "" else."""
    items = [i.strip() for i in re.split(r",\s*(?:and\s+)?|\s+and\s+", text.rstrip(". "), flags=re.IGNORECASE) if i.strip()]
    if not items or len(items) > 5:
        return ""

    def adjective(word: str) -> bool:
        return word in _ADJECTIVES or word in _COLOURS or (len(word) > 4 and bool(_ADJ_LIST_END_RE.search(word))
                                                           and word not in {"speed", "need", "seed", "bleed", "shred"})

    for item in items:
        words = [re.sub(r"[^a-z-]", "", w.lower()) for w in item.split()]
        if not words or len(words) > 3 or words[0] in {"be", "all", "no", "not"}:
            return ""
        # the last word says it ("battery operated", "fully poseable"), or "easy to clean"
        if not (adjective(words[-1]) or (len(words) == 3 and words[0] in _ADJECTIVES and words[1] == "to")):
            return ""
    if len(items) == 1 and not re.search(r"(?:ed|able|proof|free|resistant)$", items[0].lower()):
        return ""  # one word alone is left to the other rules ("Colorful", "Durable")
    items = [" ".join(w.lower() if w[:1].isupper() and w[1:].islower() else w for w in i.split()) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _end(text: str) -> str:
    text = text.strip().rstrip(",;:-–— ")
    if not text:
        return text
    return text if text[-1] in ".!?" else text + "."


def _tidy(text: str) -> str:
    text = re.sub(r"(?<=\d)\s+-\s+(?=\d)", " to ", text)  # "36 months - 5 years" -> "... to ..."
    text = re.sub(r"(?<=[a-z])\s+-\s+(?=\d)", " to ", text)
    text = re.sub(r"\s*[–—]\s*", ", ", text)
    text = text.replace(" ,", ",").replace("“", '"').replace("”", '"').replace("’", "'")
    text = re.sub(r"\(\s*\)", "", text)
    text = re.sub(r"!+", "!", text)
    return " ".join(text.split())


def _clause_after_comma(text: str, within: int) -> bool:
    """After the first comma, a verb among the next words (skipping the first, the subject's):
    the statement has its own clause and needs no subject from us."""
    if "," not in text:
        return False
    after = text.split(",", 1)[1].lower().split()
    return any(re.sub(r"[^a-z']", "", w) in _AUX | _VERBS_S for w in after[1:within])


def fact_sentence(fact: PlanFact, subject: str = "It", *, first: bool = False, kind: str = "") -> str:
    """The fact as one sentence, lightly edited; ``subject`` opens it when the fact has none
    ("The skillet" the first time, "It" after that). ``kind`` is the product's type ("Number
    Puzzle"): a noun phrase about that kind of thing *is* it ("It is a classic number puzzle"),
    anything else it *has*."""
    kind_words = {w.lower() for w in kind.split() if len(w) > 2}
    text = _tidy(fact.text)
    label = fact.label.lower()
    subj = _subject(subject, first)
    if re.match(r"^(?:for )?(?:ages?|grades?)\s+(?:\d|k\b|pre)", text, re.IGNORECASE) and len(text.split()) <= 8:
        return _end(f"{subj} is for {_lower_first(re.sub(r'^for ', '', text, flags=re.I)).rstrip('. ')}")  # not "It measures Ages 0 to 36 Months"
    if label in _SPEC_TEMPLATES and (fact.kind in ("spec", "audience") or len(text.split()) <= 8):
        template = _SPEC_TEMPLATES[label]
        if "measures" in template and _WEIGHT_RE.match(text):
            template = _SPEC_TEMPLATES["weight"]  # a weight filed under "Product dimensions": "weighs 0.32 ounces"
        return _cap(template.format(subj=subj, v=text.rstrip(". ")))
    lead = re.sub(r"[^a-z'-]", "", text.split()[0].lower()) if text.split() else ""
    verb_first = lead in _VERBS_S | _BASE_VERBS or (lead.endswith("s") and not lead.endswith("ss") and len(text.split()) > 1)
    if _SKILLS_RE.search(text.rstrip(". ")) and len(text.split()) <= 5 and not verb_first and not any(c.isdigit() for c in text):
        # a toy's listed benefit ("Gross Motor Skills", "Socialization"): "It helps with gross motor skills."
        np = " ".join(w if w.isupper() and len(w) > 1 else w.lower() for w in text.rstrip(". ").split())
        return _end(f"{subj} helps with {np}")
    if fact.kind == "spec" and label:
        return _end(f"The {label.lower()} is {text.rstrip('. ')}")
    words = text.split()
    if not words:
        return ""
    own = _own_subject(text, subj, kind.split()[-1] if kind.split() else "")
    if own:
        return own
    w0 = re.sub(r"[^a-z'-]", "", words[0].lower())
    w1 = re.sub(r"[^a-z'-]", "", words[1].lower()) if len(words) > 1 else ""
    lowered = [re.sub(r"[^a-z'-]", "", w.lower()) for w in words]
    has_verb_after_subject = any(w in _AUX or w in _VERBS_S for w in lowered[1:14]) or any(
        w.endswith("s") and len(w) > 3 and not w.endswith(("ss", "us", "is")) and nxt in _OBJECT_STARTERS
        for w, nxt in zip(lowered[1:14], lowered[2:15])
    )  # "... around the edge catches the juice": a third-person verb before its object
    head, comma, tail = text.partition(", ")
    if comma and tail.split(" ", 1)[0].lower() in {"so", "which", "making", "and"} and len(head.split()) <= 6 \
            and not any(w in _AUX or w in _VERBS_S for w in head.lower().split()):
        first_part = fact_sentence(PlanFact(text=head, label=fact.label, kind=fact.kind), subject, first=first)
        return _end(f"{first_part.rstrip('.!?')}, {tail.rstrip('. ')}")  # "Dishwasher safe, so ..." -> "It is dishwasher safe, so ..."
    m_for = re.match(r"^for (.+?),\s+(a|an|the)\s+(.+)$", text, re.IGNORECASE)
    if m_for:  # "For the animal lover, a complete kit" -> "It is a complete kit for the animal lover."
        return _end(f"{subj} is {m_for.group(2).lower()} {m_for.group(3)} for {m_for.group(1)}")
    if re.match(r"^no \w+(?:, no \w+)+\.?$", text, re.IGNORECASE):
        return _end(_cap(text))  # "No mistakes, no mess."
    if re.match(r"^no matter\b", text, re.IGNORECASE) and "," in text:
        return _end(_cap(text))  # "No matter how often it is washed, this sheet ..." has its own clause
    if re.match(r"^(?:no|not)\b", text, re.IGNORECASE):
        if re.search(r"\b(?:needed|required|necessary)$", text.rstrip(". "), re.IGNORECASE):
            return _end(_cap(re.sub(r"\s+(needed|required|necessary)$", r" is \1", text.rstrip(". "), flags=re.I)))
        return _end(f"{subj} is {_lower_first(text)}")
    if re.match(r"^[\d.,]+\s*(?:[a-z.]+\s*)?x\s*[\d.,]+", text, re.IGNORECASE):  # "72 x 24 inches"
        if fact.label and not fact.label.lower().startswith(("product", "item")):
            return _end(f"The {fact.label.lower()} is {text.rstrip('. ')}")
        return _end(f"{subj} measures {text.rstrip('. ')}")
    if fact.label and len(fact.label.split()) == 1 and re.search(r"(?:able|ible|proof|free|safe|ant|ive|ful|less|weight|ed)$", fact.label.lower()):
        return _end(f"{subj} is {fact.label.lower()}, with {_lower_first(text).rstrip('. ')}")  # "Reversible: one side ..."
    if fact.label and len(fact.label.split()) <= 3 and len(words) <= 6 and not has_verb_after_subject:
        first_label = fact.label.split()[0].lower()
        if first_label not in _IMPERATIVES | _VERBS_S | {"easy", "fully", "perfect", "great", "reduce", "no", "non", "super", "extra", "more", "very"}:
            return _end(f"The {fact.label.lower()} is {_lower_first(text).rstrip('. ')}")  # "The fabric content is ..."
    if w0 == "is" and len(words) >= 3:
        return _end(f"{subj} {_lower_first(text)}")  # "Is the 2017 toy of the year" -> "It is the 2017 ..."
    if w0 == "also" and w1 in _PARTICIPLES | {"fun", "good", "nice", "wonderful"}:
        return _end(f"{subj} is {_lower_first(text)}")  # "Also great for decorations" -> "It is also great ..."
    if w0 in _VERBS_S or (len(w0) > 5 and w0.endswith(("izes", "ises", "ates", "ifies")) and w1 in _OBJECT_STARTERS):
        return _end(f"{subj} {_lower_first(text)}")  # "Organizes your keys" -> "It organizes your keys."
    if (fact.label and len(fact.label.split()) <= 4 and len(w0) > 4 and w0.endswith("s") and not w0.endswith(("ss", "us", "is"))
            and w1 in {"or", "and", "the", "a", "an", "your", "up", "down", "out", "in", "on", "to", "with", "into", "over"}):
        # "BOA System: Tightens or loosens the boot" -> "The BOA System tightens or loosens the boot."
        label = fact.label if fact.label[:1].isupper() and not fact.label.isupper() else fact.label.lower()
        return _end(f"The {label} {_lower_first(text)}")
    if w0 in {"with", "in"}:
        if "," in text:
            return _end(_cap(text))  # "With 3 reels in the set, read ..."
        return _end(f"{subj} comes {_lower_first(text)}")
    if w0 in {"for", "to", "from", "at", "on"}:
        if _clause_after_comma(text, 8):
            return _end(_cap(text))  # "From day one, the set grows with ..." has its own clause
        return _end(f"{subj} is {_lower_first(text)}")
    if w0 in {"it's", "it", "they", "they're", "these", "those", "you", "you're", "you'll", "we", "we're", "there", "there's"}:
        return _end(_cap(text))  # already says who does what
    if w0 in {"sizes", "colors", "colours"} or (w0 == "size" and not has_verb_after_subject):
        return _end(f"{subj} comes in {_lower_first(text)}")
    if w0 == "available":
        return _end(f"{subj} is {_lower_first(text)}")
    if w0.endswith("ly") and len(words) <= 3 and (w1.endswith("ed") or _ADJ_END_RE.search(w1)) and w0 not in {"only", "family"}:
        return _end(f"{subj} is {_lower_first(text)}")  # "Highly detailed" -> "It is highly detailed."
    if w0.endswith("ly") and (w1 in _VERBS_S or (w1.endswith("s") and len(w1) > 3)):
        return _end(f"{subj} {_lower_first(text)}")  # "Easily wipes clean" -> "It easily wipes clean"
    if len(words) >= 3 and ((w1.endswith("s") and lowered[2] in _BASE_VERBS) or (w0.endswith("s") and w1 in _BASE_VERBS and w0 not in _VERBS_S)):
        return _end(_cap(text))  # "Taped seams keep water out", "Kids learn ..."
    if len(words) >= 3 and w1.endswith("s") and not w1.endswith("ss") and not w0.endswith("s") and w0 not in _IMPERATIVES \
            and not words[0][:1].isdigit() and w0 not in {"one", "two", "three", "four", "five", "six", "ten", "twelve", "many", "several"}:
        w2 = lowered[2]
        if w2 in _PREPOSITIONS or w2.endswith("ly") or w2 in {"flat", "clean", "up", "down", "out", "away", "together", "apart", "open", "closed", "tight", "well"}:
            return _end(_cap(text))  # "Tunnel collapses flat for easy storage"
    if w0 in _SUBORDINATORS and len(words) >= 4:
        return _end(_cap(text))  # "As kids follow along ..., they develop ..."
    if w0 in _DETERMINERS and len(words) >= 5 and has_verb_after_subject:
        return _end(_cap(text))  # "The tales included in this pack come alive ..."
    if w0 in _IMPERATIVES and not (w0 == "hand" and w1 not in {"wash", "washed"}) and not (w0 == "machine" and w1 not in {"wash", "washable"}):
        if w0 == "machine" and w1 == "washable":
            return _end(f"{subj} is {_lower_first(text)}")
        return _end(_cap(text))
    if len(words) >= 8 and _clause_after_comma(text, 10) and w0 not in _PARTICIPLES:
        return _end(_cap(text))  # "Adored by children, award-winning Moonlite and the reels create ..."
    main_clause = lowered[1:10]
    if "," in text:
        main_clause = [w for w in re.sub(r"[^a-z' ]", "", text.split(",", 1)[0].lower()).split()][1:10]
    if w0 in _PARTICIPLES and any(w in {"is", "are", "was", "were"} and (i == 0 or main_clause[i - 1] not in {"that", "which", "who"})
                                  for i, w in enumerate(main_clause)):
        return _end(_cap(text))  # "Recommended weight limit is 80 pounds"
    participle = w0 in _PARTICIPLES or (w0.endswith("ed") and len(w0) > 4 and w0 not in {"bed", "red", "speed", "seed", "need"}) or w0.startswith("pre-")
    if participle and (len(words) == 1 or w1 in _PREPOSITIONS or w0 in {"made", "built", "designed", "crafted", "recommended", "intended", "suitable", "ideal", "perfect", "great", "safe", "compatible", "available", "ready", "easy", "suited", "inspired", "licensed", "certified"} and w1 in _PREPOSITIONS):
        return _end(f"{subj} is {_lower_first(text)}")
    if len(words) >= 4 and has_verb_after_subject and not participle:
        return _end(_cap(text))  # already a sentence with its own subject and verb
    tail = next((i for i, w in enumerate(lowered) if i >= 1 and w in _PARTICIPLE_TAIL), None)
    if tail is not None and not has_verb_after_subject:
        np = _lower_first(" ".join(words[:tail]).rstrip(", "))
        plural = _plural(np) or " and " in np.lower() or " & " in np
        verb = "are" if plural else "is"
        art = "" if plural else _article(np)
        rest = [w.lower() if w[:1].isupper() and w[1:].islower() else w for w in words[tail:tail + 1]] + words[tail + 1:]
        return _end(_cap(f"{art}{np} {verb} {' '.join(rest)}".strip()))
    if _ADJ_END_RE.search(text.rstrip(". ")) and len(words) <= 4:
        return _end(f"{subj} is {_lower_first(text)}")
    if len(words) <= 5 and w1 == "to" and w0 not in _IMPERATIVES and not w0.endswith("s"):
        return _end(f"{subj} is {_lower_first(text)}")  # "Light to carry" -> "It is light to carry."
    if w0 in {"free", "safe", "easy", "great", "ideal", "perfect", "suitable", "fun"} and w1 in _PREPOSITIONS:
        return _end(f"{subj} is {_lower_first(text)}")
    if _MATERIAL_NP_RE.match(text):
        return _end(f"{subj} is made of {_lower_first(text)}")
    if (len(words) >= 4 and w1 in {"the", "your", "this", "these", "its", "their", "any"} and w0.isalpha()
            and w0 not in _DETERMINERS and not w0.endswith(("s", "ly", "ed", "ing")) and w0 not in {"all", "both", "each", "one", "only", "just", "even"}):
        return _end(_cap(text))  # an imperative: "Convert the evil Decepticon figure ..."
    qualities = _adjective_list(text)
    if qualities:
        return _end(f"{subj} is {qualities}")
    np = _lower_first(text.rstrip(". "))
    head = _head(np)
    if w0 in _MODALS:
        return _end(f"{subj} {np}")  # "Can be used on its own" -> "It can be used on its own."
    if w0 in _PEOPLE_PLURAL and len(words) >= 3:
        return _end(_cap(text))  # "Children puzzle and play with numbers": they are the subject
    names_kind = bool(kind_words) and (head in kind_words or head.rstrip("s") in kind_words)
    verb = "is" if head in _ROLE_NOUNS or names_kind or re.search(r"\band (?:very |so )?\w+ to \w+", np) else "has"
    article = _article(np)
    if not article and " and " in np.lower():
        first_np = re.split(r"\s+and\s+", np, maxsplit=1, flags=re.IGNORECASE)[0]
        article = _article(first_np) if " " in first_np else ""  # "a durable frame and strong netting"
    if verb == "has" and len(words) > 6:
        # A long statement that reached here is more often a clause this lexicon does not know
        # ("Butyl bladder guarantees true shape and air retention") than a noun phrase:
        # "It has a butyl bladder guarantees ..." is broken; the seller's own words as a
        # fragment are not.
        return _end(_cap(text))
    if verb == "has" and len(np.split()) == 1 and (np.lower() in _COLOURS or re.search(r"(?:ful|ous|ive|ish|less)$", np.lower())):
        return _end(f"{subj} is {np.lower()}")  # "Colorful" -> "It is colorful.", not "It has a colorful."
    return _end(f"{subj} {verb} {article}{np}")


def anchor(sentence: str, noun: str, title: str) -> str:
    """Tie a seller sentence that never names the product to it: "Taped seams keep water out." ->
    "The jacket's taped seams keep water out." Only when the sentence starts with a common noun
    phrase that is not a person ("Children won't ...") and carries none of the title's words, so
    a shopper (and an embedding) reads it as about this product."""
    from copyloop.tools.vocab import stem, tokens

    words = sentence.split()
    if len(words) < 3 or not noun.isalpha():
        return sentence
    title_stems = {stem(w) for w in tokens(title) if len(w) > 2}
    if {stem(w) for w in tokens(sentence)} & title_stems:
        return sentence
    w0 = re.sub(r"[^a-z'-]", "", words[0].lower())
    if (not words[0][:1].isupper() or words[0].isupper() or w0.endswith("ly") or w0 in _PEOPLE or w0 in _DETERMINERS or w0 in _IMPERATIVES
            or w0 in _SUBORDINATORS or w0 in _VERBS_S or w0 in {"it", "its", "this", "these", "no", "not", "with", "for", "all",
                                                                   "each", "every", "one", "both", "as", "from", "in", "on"}
            or words[0][1:2].isupper() or any(c.isdigit() for c in words[0])):
        return sentence
    lowered = [re.sub(r"[^a-z'-]", "", w.lower()) for w in words]
    if not any(w in _AUX or w in _VERBS_S or w in _BASE_VERBS for w in lowered[1:6]):
        return sentence
    owner = noun.lower()
    if w0.rstrip("s") == owner.rstrip("s"):
        return sentence
    return f"The {owner}'s {words[0][:1].lower() + words[0][1:]} {' '.join(words[1:])}"


def shorten_sentence(sentence: str, max_words: int) -> str:
    """Cut a long sentence at a clause boundary so it has at most ``max_words`` words ("" when no
    boundary leaves a sentence of at least four words)."""
    if word_count(sentence) <= max_words:
        return sentence
    body = sentence.rstrip(".!? ")
    cuts = [m.start() for m in re.finditer(r",\s|;\s|\s(?:and|while|so|which|that)\s", body)]
    for cut in reversed(cuts):
        head = body[:cut].rstrip(" ,;")
        if 4 <= word_count(head) <= max_words:
            return head + "."
    return ""


# --- bullets --------------------------------------------------------------------------------------

_LABEL_SKIP = {"or", "no", "not", "nor", "it", "its", "this", "these", "the", "a", "an", "your", "you", "with", "and", "for", "of", "to", "in", "on",
               "that", "is", "are", "has", "have", "can", "will", "be", "so", "all", "each", "every", "just", "also", "one",
               "more", "most", "very", "comes", "includes", "features", "contains", "offers", "provides", "makes", "helps",
               "lets", "keeps", "works", "fits", "holds", "made", "from", "by", "at", "as", "set", "perfect", "great",
               "everything", "need", "needs", "want", "you'll", "it's", "they", "their", "them"}


# A label names a thing, never tells the shopper to do something: "BRING DINOSAURS" reads as a
# call to action (which Amazon bullets forbid), "DINOSAURS" does not. Leading words of these kinds
# are dropped from a label.
_LABEL_LEAD_SKIP = _IMPERATIVES | _VERBS_S | _BASE_VERBS | {"out", "up", "into", "where", "how", "what"}


_LABEL_TOKEN_RE = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9'’.-]|(?<=\d)[,/](?=\d))*[A-Za-z0-9](?:%|(?<=\d)[\"”″'’])?|[A-Za-z0-9](?:%|(?<=\d)[\"”″'’])?|,"
)


def label_for(fact: PlanFact, max_words: int = 3) -> str:
    """A short label that says what the bullet is about: the seller's own label, else the fact's
    first run of content words ("SPECIALIST VETERINARIAN TOOLS")."""
    if fact.label and len(fact.label.split()) <= 5 and not filler_phrases(fact.label):
        return fact.label.upper()
    runs: list[list[str]] = []
    current: list[str] = []
    # a number keeps its "%", inch or foot mark, thousands comma and fraction slash: a label "100 TOY"
    # from "100% Toy" (or "600 PIECE" from "3,600 piece") would state a number the facts do not
    for raw in _LABEL_TOKEN_RE.findall(_tidy(fact.text)):
        low = raw.lower()
        if raw == "," or low in _LABEL_SKIP or (low in GENERIC_NAME_WORDS and not current):
            if current:
                runs.append(current)
                current = []
            continue
        current.append(raw)
    if current:
        runs.append(current)
    runs = [r[next((i for i, w in enumerate(r) if w.lower() not in _LABEL_LEAD_SKIP), len(r)):] for r in runs]
    runs = [r for r in runs if any(len(w) > 2 for w in r)]
    if not runs:
        return ""
    words = runs[0]
    if len(words) > max_words:
        words = words[-2:]  # the head of a long noun phrase: "10.25 inch cooking surface" -> "COOKING SURFACE"
    if len(words) == 1 and len(words[0]) < 5 and len(runs) > 1:
        words = words + runs[1][: max_words - 1]
    return " ".join(words).upper()


def bullet(fact: PlanFact, sentence: str, max_chars: int | None = 250, taken: Collection[str] = ()) -> str:
    """"LABEL: sentence" within ``max_chars`` (the sentence is shortened at a clause when needed).
    A label in ``taken`` (another bullet of the list has it: a seller's bullet split into several
    facts shares its label) gives way to one from the fact's own words, so no two bullets read
    "SIZES THAT FIT: ..."; "" when no other label is found."""
    label = label_for(fact)
    if label in taken and fact.label:
        label = label_for(replace(fact, label=""))
    if label in taken:
        return ""
    body = sentence.strip()
    if not label:
        return ""
    text = f"{label}: {body}"
    if max_chars and visible_len(text) > max_chars:
        budget = max(8, (max_chars - len(label) - 2) // 6)
        short = shorten_sentence(body, budget)
        text = f"{label}: {short}" if label and short else short
        if max_chars and visible_len(text) > max_chars:
            return ""
    return text


# --- headlines ----------------------------------------------------------------------------------

_HEADLINE_MODIFIER_RE = re.compile(
    r"\b(?:pre-\w+|non-\w+|\w+proof|\w+-free|packable|adjustable|portable|foldable|rechargeable|wireless|cordless|"
    r"reusable|washable|lightweight|handmade|organic|interactive|educational|waterproof|insulated|magnetic|"
    r"personalized|customizable|\d+(?:\.\d+)?-(?:inch|piece|pack|pc|count|foot|ft|in|mm|cm|story|player|speed))\b",
    re.IGNORECASE,
)


def _fits(text: str, spec: ChannelSpec) -> bool:
    return bool(text) and (spec.max_chars is None or visible_len(text) <= spec.max_chars)


def _glue_ampersands(words: list[str]) -> list[str]:
    """"Melissa & Doug" stays one unit when headlines drop words ("Melissa Butterfly Net" names
    no brand)."""
    out: list[str] = []
    i = 0
    while i < len(words):
        if words[i] in {"&", "+"} and out and i + 1 < len(words):
            out[-1] = f"{out[-1]} {words[i]} {words[i + 1]}"
            i += 2
            continue
        out.append(words[i])
        i += 1
    return out


def headline_candidates(product: ProductBrief, facts: Sequence[PlanFact], spec: ChannelSpec, extra_terms: Sequence[str] = ()) -> list[str]:
    """Rule-based headlines that name the product, fitted to ``spec``: the name; brand + type;
    a key modifier from the title or facts + type; type + "for" + audience; type + a requested
    term. Best-formed first, duplicates and misfits dropped."""
    name = product_name(product, spec.max_chars)
    kind = product_type(product)
    brand = brand_of(product)
    out: list[str] = []

    def add(text: str) -> None:
        t = _smart_title(" ".join(text.split()).strip(" ,.-"))
        first = t.split()[0].lower() if t.split() else ""
        if first in {"and", "or", "&", "with", "for", "of", "the", "a", "an", "to", "in", "on"} or re.fullmatch(r"[ivx]+|\d+", first):
            return  # "III Astrid & Hiccup": a sequel's number is no start for a headline
        numbered = re.findall(r"\b\d+[\w.]*-\w+", t)
        if len(numbered) > 1:
            return  # "4-Pack 4-Piece Bundle"
        if _fits(t, spec) and t.lower() not in (o.lower() for o in out) and not filler_phrases(t):
            out.append(t)

    for term in extra_terms:
        term = term.strip()
        if term:
            add(f"{term} {kind}")
            add(f"{term}-Ready {kind.split()[-1]}")
            add(f"{kind} for {term}")
            add(f"{kind.split()[-1]} for {term}")
    add(name)
    if brand and brand.lower() not in name.lower():
        add(f"{brand} {kind}")
        add(f"{brand} {name}")
    mods = []
    for source in [product.title, *(f.text for f in facts)]:
        for m in _HEADLINE_MODIFIER_RE.finditer(source):
            mod = m.group()
            if mod.lower() not in kind.lower() and mod.lower() not in (x.lower() for x in mods):
                mods.append(mod)
    for mod in mods[:4]:
        add(f"{mod} {kind}")
        if brand:
            add(f"{brand} {mod} {kind}")
    m_for = re.search(r"\bfor ((?:kids|boys|girls|toddlers|babies|adults|women|men|teens|children|dogs|cats|ages? [\w+ -]{1,12}))\b", product.title, re.I)
    if m_for:
        add(f"{kind} for {m_for.group(1)}")
    words = _glue_ampersands([w for w in name.split() if not _is_code(w)])
    kind_n = len(kind.split())
    connectors = {"and", "or", "&", "with", "for", "of", "to", "the", "a", "an", "in", "on", "by", "from"}
    maker = _maker(product.title).split()
    # a maker's name is cut whole or not at all: "Rhode Face Playground Ball" is nobody's product
    keep = len(maker) if maker and [w.lower() for w in words[:len(maker)]] == [w.lower() for w in maker] else 1
    for cut in range(1, max(1, len(words) - kind_n)):  # drop middle words: "Harbor Lights Jigsaw Puzzle"
        for start in range(keep, len(words) - kind_n - cut + 1):
            rest = words[start + cut:]
            if rest and (rest[0].lower() in connectors or words[start - 1].lower() in connectors):
                continue  # "Baby Doll and Curtain Set" is not a product
            add(" ".join(words[:start] + rest))
    for n in range(len(words) - 1, 1, -1):  # drop leading words until it fits ("... Jigsaw Puzzle")
        add(" ".join(words[-n:]))
    if not out:
        add(kind)
        add(kind.split()[-1])
    return out


# --- assembling whole copy ----------------------------------------------------------------------

OPENERS = (
    "Meet the {name}{brand_part}.",
    "This is the {name}{brand_part}.",
    "Say hello to the {name}{brand_part}.",
)
# A tone changes the wording around the facts (never the facts): openers and calls to action.
_TONE_OPENERS = {
    "playful": ("Say hello to the {name}{brand_part}!", "Get ready for the {name}{brand_part}!"),
    "practical": ("Here is the {name}{brand_part}.", "The {name}{brand_part}, at a glance."),
    "warm": ("Meet the {name}{brand_part}.", "Say hello to the {name}{brand_part}."),
}
_TONE_CTAS = {
    "playful": ("Grab yours today!", "Get yours today!"),
    "practical": ("Order today.", "Buy online today."),
    "warm": ("Bring one home today.", "Order yours today."),
}
_TONE_FAMILY = {
    "playful": "playful", "fun": "playful", "upbeat": "playful", "energetic": "playful", "bold": "playful",
    "casual": "playful", "practical": "practical", "formal": "practical", "professional": "practical",
    "technical": "practical", "plain": "practical", "simple": "practical", "serious": "practical",
    "warm": "warm", "friendly": "warm", "calm": "warm", "cozy": "warm", "elegant": "warm", "luxurious": "warm",
}


def tone_family(tone: str) -> str:
    return _TONE_FAMILY.get((tone or "").lower(), "")


def opener(product: ProductBrief, variant: int = 0, tone: str = "") -> str:
    name = product_name(product)
    brand = brand_of(product)
    brand_part = f" from {brand}" if brand and brand.lower() not in name.lower() else ""
    family = tone_family(tone)
    templates = _TONE_OPENERS.get(family, OPENERS)
    return templates[variant % len(templates)].format(name=name[4:] if name.lower().startswith("the ") else name, brand_part=brand_part)


def cta_for(spec: ChannelSpec, variant: int = 0, tone: str = "") -> str:
    """The channel's call to action for this variant ("" when the channel forbids or skips one)."""
    if spec.cta in ("forbidden",) or not spec.cta_examples:
        return ""
    if spec.cta in ("optional", "allowed") and variant % 2 == 1:
        return ""
    family = tone_family(tone)
    if family and spec.cta == "expected" and spec.multiline:
        options = _TONE_CTAS[family]
        cta = options[variant % len(options)]
    else:
        cta = spec.cta_examples[variant % len(spec.cta_examples)].strip()
    if spec.max_exclamations == 0:
        cta = cta.replace("!", ".")
    return cta if cta[-1:] in ".!?:" else cta + "."


_AGG_RE = re.compile(r"^(It|The \w+|This \w+|Your \w+) (has|is) (.+?)\.$")


def aggregate(sentences: Sequence[str], max_items: int = 3, max_words: int = 22, subjects: Sequence[str] = (),
              share: bool = True) -> list[str]:
    """Join runs of short sentences with the same subject pattern and verb ("It has a 5-inch display.
    It has night vision." -> "It has a 5-inch display and night vision."): the aggregation step
    of classic data-to-text generation; it keeps every fact and reads less like a list.
    ``subjects`` are longer subjects the copy uses (the product's name or type): a joined sentence
    takes the most specific subject of its run, so a name said once carries several facts ("The
    Aquarius DC Wonder Woman Retro Playing Cards set has 52 different images per deck and a linen
    type finish.") instead of being repeated, or lost to "It"; with ``share``, two sentences in a row
    that open with the same long name say it once."""
    agg_re = _AGG_RE
    extra = sorted({s for s in subjects if s and s != "It"}, key=len, reverse=True)
    if extra:
        agg_re = re.compile(rf"^(It|The \w+|This \w+|Your \w+|{'|'.join(re.escape(s) for s in extra)}) (has|is) (.+?)\.$")
    # bring sentences with the same verb together (first occurrence keeps its place)
    keyed: list[tuple[int, int, str]] = []
    first_pos: dict[str, int] = {}
    for i, s in enumerate(sentences):
        m = agg_re.match(s.strip())
        verb = m.group(2) if m and word_count(m.group(3)) <= 8 and " and " not in m.group(3) else f"#{i}"
        first_pos.setdefault(verb, i)
        keyed.append((first_pos[verb], i, s))
    sentences = [s for _, _, s in sorted(keyed)]
    out: list[str] = []
    run: list[tuple[str, str, str]] = []

    def flush() -> None:
        if not run:
            return
        if len(run) == 1:
            out.append(f"{run[0][0]} {run[0][1]} {run[0][2]}.")
        else:
            items = [r[2] for r in run]
            joined = ", ".join(items[:-1]) + (", and " if any("," in i for i in items) else " and ") + items[-1]
            subject = max((r[0] for r in run), key=len)
            out.append(f"{subject} {run[0][1]} {joined}.")
        run.clear()

    for s in sentences:
        m = agg_re.match(s.strip())
        if m and word_count(m.group(3)) <= 8 and " and " not in m.group(3):
            verb = m.group(2)
            if run and (run[0][1] != verb or len(run) >= max_items
                        or word_count(" ".join(r[2] for r in run) + " " + m.group(3)) > max_words):
                flush()
            run.append((m.group(1), verb, m.group(3)))
            continue
        flush()
        out.append(s)
    flush()
    return _share_long_subjects(out, [x for x in extra if len(x.split()) >= 3], max_words) if share else out


def _share_long_subjects(sentences: list[str], subjects: Sequence[str], max_words: int) -> list[str]:
    """Two sentences in a row that open with the same long name say it once: "The Harbor Lights
    1000-Piece Jigsaw Puzzle has 1000 pieces. The Harbor Lights 1000-Piece Jigsaw Puzzle is made
    from recycled paperboard." -> "... has 1000 pieces and is made from recycled paperboard."
    """
    out: list[str] = []
    for s in sentences:
        prev = out[-1] if out else ""
        subj = next((x for x in subjects if s.startswith(x + " ") and prev.startswith(x + " ")), "")
        if subj:
            first, second = prev[len(subj) + 1:].rstrip(".!? "), s[len(subj) + 1:].rstrip(".!? ")
            if (second[:1].islower() and " and " not in first and "," not in second
                    and word_count(first) + word_count(second) <= max_words + 4):
                out[-1] = f"{subj} {first} and {second}."
                continue
        out.append(s)
    return out


def fit_sentences(sentences: Sequence[str], spec: ChannelSpec, *, head: str = "", tail: str = "") -> str:
    """The longest prefix of ``sentences`` that, between ``head`` and ``tail``, keeps ``spec``'s
    maximum length in characters and words (sentences are kept whole)."""
    chosen: list[str] = []
    for s in sentences:
        trial = " ".join(p for p in (head, *chosen, s, tail) if p)
        if spec.max_chars and visible_len(trial) > spec.max_chars:
            continue
        if spec.max_words and word_count(trial) > spec.max_words:
            continue
        chosen.append(s)
    return " ".join(p for p in (head, *chosen, tail) if p)


__all__ = [
    "OPENERS",
    "anchor",
    "aggregate",
    "tone_family",
    "bullet",
    "cta_for",
    "fact_sentence",
    "fit_sentences",
    "headline_candidates",
    "label_for",
    "opener",
    "shorten_sentence",
]
