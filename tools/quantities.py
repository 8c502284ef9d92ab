"""Numbers with units, parsed the same way from copy and from product facts.

"two-year" and "2 year", "10.7 pounds" and "10.7 lb", "41\\"" and "41 inches" all parse to the
same (value, unit); ranges and dimensions ("120 to 170 pounds", "14.7 x 11.1 x 10.2 inches")
give every member the trailing unit; context gives units to bare numbers ("ages 3" -> years,
"set of 5" -> count). Because claims and facts go through the same parser, identical wording
always matches even where the parse is imperfect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

# unit alias -> canonical unit
_UNIT_ALIASES: dict[str, str] = {}
# canonical unit -> (dimension, factor to the dimension's base unit)
UNIT_DIMENSION: dict[str, tuple[str, float]] = {}


def _units(dimension: str | None, canonical: str, factor: float, *aliases: str) -> None:
    for a in (canonical, *aliases):
        _UNIT_ALIASES[a] = canonical
    if dimension:
        UNIT_DIMENSION[canonical] = (dimension, factor)


_units("length", "mm", 1, "millimeter", "millimeters", "millimetre", "millimetres")
_units("length", "cm", 10, "centimeter", "centimeters", "centimetre", "centimetres")
_units("length", "m", 1000, "meter", "meters", "metre", "metres")
_units("length", "km", 1e6, "kilometer", "kilometers", "kilometre", "kilometres")
_units("length", "in", 25.4, "inch", "inches", '"', "”", "''", "″")
_units("length", "ft", 304.8, "foot", "feet", "'", "′")
_units("length", "yd", 914.4, "yard", "yards")
_units("length", "mi", 1609344, "mile", "miles")
_units("mass", "mg", 0.001, "milligram", "milligrams")
_units("mass", "g", 1, "gram", "grams", "gr")
_units("mass", "kg", 1000, "kgs", "kilo", "kilos", "kilogram", "kilograms")
_units("mass", "oz", 28.3495, "ounce", "ounces")
_units("mass", "lb", 453.592, "lbs", "pound", "pounds")
_units("volume", "ml", 1, "milliliter", "milliliters", "millilitre", "millilitres")
_units("volume", "l", 1000, "liter", "liters", "litre", "litres")
_units("volume", "floz", 29.5735, "fl oz", "fl. oz", "fluid ounce", "fluid ounces")
_units("volume", "cup", 236.588, "cups")
_units("volume", "qt", 946.353, "quart", "quarts")
_units("volume", "gal", 3785.41, "gallon", "gallons")
_units("time", "second", 1 / 60, "seconds", "sec", "secs")
_units("time", "minute", 1, "minutes", "min", "mins")
_units("time", "hour", 60, "hours", "hr", "hrs", "h")
_units("time", "day", 1440, "days")
_units("time", "week", 10080, "weeks", "wk", "wks")
_units("time", "month", 43800, "months", "mo", "mos")
_units("time", "year", 525600, "years", "yr", "yrs", "year-old", "years-old")
_units("area", "sqft", 1, "sq ft", "sq. ft", "square feet", "square foot")
_units("temperature", "degf", 1, "°f", "° f", "degrees f", "fahrenheit")
_units("temperature", "degc", 1, "°c", "° c", "degrees c", "celsius")
for _u in ("percent", "usd", "eur", "gbp", "w", "kw", "v", "mah", "wh", "hz", "khz", "mhz", "ghz", "kb", "mb", "gb",
           "tb", "mp", "mph", "kph", "db", "fps", "rpm", "psi", "btu", "lm", "deg", "count", "ply", "gauge", "awg", "gsm",
           "tpi", "inch-pound", "nm"):
    _units(None, _u, 1)
_units(None, "percent", 1, "%", "pct", "per cent")
_units(None, "usd", 1, "dollar", "dollars", "$")
_units(None, "eur", 1, "euro", "euros", "€")
_units(None, "gbp", 1, "£")
_units(None, "w", 1, "watt", "watts")
_units(None, "v", 1, "volt", "volts")
_units(None, "mp", 1, "megapixel", "megapixels")
_units(None, "lm", 1, "lumen", "lumens")
_units(None, "deg", 1, "degree", "degrees", "°")
_units(None, "count", 1, "ct", "pc", "pcs", "piece", "pieces", "pack", "packs", "pk")

# Nouns after which a spelled-out number is a claim ("five pieces", "two-player").
COUNT_NOUNS = {
    "piece", "pack", "set", "pair", "player", "person", "people", "seat", "drawer", "shelf", "shelve", "tier",
    "layer", "speed", "setting", "mode", "color", "colour", "size", "way", "port", "slot", "blade", "bulb",
    "light", "ball", "book", "card", "game", "puzzle", "kit", "toy", "figure", "compartment", "pocket", "wheel",
    "station", "level", "battery", "batterie", "accessory", "accessorie", "attachment", "tool", "pen", "brush",
    "bottle", "cup", "plate", "bowl", "box", "bag", "page", "sheet", "roll", "tile", "block", "brick", "doll",
    "car", "animal", "design", "pattern", "style", "flavor", "flavour", "scent", "variety", "option", "head",
    "function", "step", "stage", "inch", "foot", "feet", "kid", "child", "children", "day", "night", "hour",
    "minute", "month", "week", "year", "generation",
}

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40,
    "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "dozen": 12,
    "single": 1, "double": 2, "triple": 3,
}
_TENS = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"}
_SOFT_NUMBER_WORDS = {"single", "double", "triple"}  # only with a unit ("double-wall" is not a count)

_STOP_AFTER = {
    "a", "an", "the", "and", "or", "to", "of", "in", "on", "at", "for", "with", "is", "are", "was", "be", "it",
    "its", "this", "that", "by", "from", "as", "so", "if", "you", "your", "our", "we", "x", "more", "times",
    "out", "than", "up", "off", "per",
}

_DIGITS = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+"
_NUM_RE = re.compile(
    r"(?:(?P<cur>[$€£])\s?|(?<![\w.,/$€£]))"
    rf"(?P<num>{_DIGITS})"
    r"(?:\s?/\s?(?P<den>\d+)(?![\w/]))?"
    r"(?P<suffix>\s?%|\+)?"
)
_UNIT_AFTER_RE = re.compile(
    r"^(?P<sep>\s?-\s?|\s)?"
    r"(?P<unit>fl\.?\s?oz|sq\.?\s?ft|°\s?[fFcC]\b|°|\"|”|''|″|′|'(?!\w)|degrees\s[fc]\b|fluid ounces?|square f(?:ee|oo)t|per cent"
    r"|years?[- ]old|[A-Za-z]+)"
)
_WORDNUM_RE = re.compile(
    r"(?<![\w-])(?P<w1>" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
    r"(?:-(?P<w2>one|two|three|four|five|six|seven|eight|nine))?"
    r"(?=[\s-]+(?P<next>[A-Za-z]+))",
    re.IGNORECASE,
)
_IN_ONE_RE = re.compile(
    r"(?<![\w-])(?P<a>\d+|" + "|".join(NUMBER_WORDS) + r")[\s-]in[\s-](?P<b>\d+|" + "|".join(NUMBER_WORDS) + r")(?![\w-])",
    re.IGNORECASE,
)
_CODE_RE = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*(?![\w-])")
_JOIN_RE = re.compile(r"^\s*(?:-|–|—|to|x|×|by|and|or|/|thru|through)\s*$", re.IGNORECASE)
_CONTEXT_UNITS = [
    (re.compile(r"\b(?:ages?|aged|for kids)\s*(?:of\s*)?$", re.IGNORECASE), "year"),
    (re.compile(r"\bgrades?\s*$", re.IGNORECASE), "grade"),
    (re.compile(r"\b(?:set|pack|box|case|bundle|kit|lot|bag|pair)s?\s+of\s*$", re.IGNORECASE), "count"),
    (re.compile(r"#\s*$"), "rank"),
    (re.compile(r"\b(?:sizes?|sz)\s*$", re.IGNORECASE), "size"),
    (re.compile(r"\b(?:model|item|part|style)\s*(?:no\.?|number|#)?\s*:?\s*$", re.IGNORECASE), "code"),
]
_INCH_AFTER_RE = re.compile(
    r"^(?:\.?\s*$|\.?\s*[,;:)\]]|\.\s|\s+(?:long|wide|tall|high|deep|diameter|dia|x|by|thick|length|width|height|screen|display)\b)",
    re.IGNORECASE,
)
_ORDINAL_RE = re.compile(r"^(?:st|nd|rd|th)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Quantity:
    """One number found in text."""

    value: float
    unit: str | None  # canonical unit, "rank", "grade", "size", "code", "ordinal" or None
    noun: str | None  # singular noun that follows when it is not a unit ("5 kits" -> "kit")
    plus: bool  # written "3+"
    start: int
    end: int
    text: str
    literal: str | None = None  # for codes like "4K", "PS5", "2-in-1": the normalised token

    @property
    def dimension(self) -> str | None:
        return UNIT_DIMENSION.get(self.unit or "", (None, 0.0))[0]


def _singular(word: str) -> str:
    w = word.lower()
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("es") and w[:-2].endswith(("sh", "ch", "x", "ss")):
        return w[:-2]
    if w.endswith("s") and not w.endswith("ss") and len(w) > 3:
        return w[:-1]
    return w


def canonical_unit(token: str) -> str | None:
    t = token.lower().strip().rstrip(".")
    t = re.sub(r"\s+", " ", t)
    return _UNIT_ALIASES.get(t)


def _to_float(num: str, den: str | None) -> float:
    value = float(num.replace(",", ""))
    if den:
        d = float(den)
        value = value / d if d else value
    return value


# A decimal a seller's page broke at its point ("10. 5 inch plates" for 10.5): copy that says
# "10.5 inch" states the seller's number, so both readings must agree (tools.plan joins them too).
BROKEN_DECIMAL_RE = re.compile(
    r"\b(\d+)\. (\d+)(?=\s?-?\s?(?:inch|in\b|\"|”|''|cm\b|mm\b|ft\b|feet|foot|oz\b|ounce|lb|pound|kg\b|ml\b|lit(?:er|re)))",
    re.IGNORECASE,
)


def join_broken_decimals(text: str) -> str:
    """"4. 25-Inch" -> "4.25-Inch"."""
    return BROKEN_DECIMAL_RE.sub(r"\1.\2", text)


def parse_quantities(text: str) -> list[Quantity]:
    """Every number in ``text`` with its unit (see the module docstring)."""
    original = text or ""
    # "7.5x16x18": make the x a separator (same length, so offsets still index the original)
    text = re.sub(r"(?<=\d)[xX](?=\s?\d)", "×", original)
    # "10. 5 inch" -> "10.50 inch": the same value and the same length again
    text = BROKEN_DECIMAL_RE.sub(lambda m: f"{m.group(1)}.{m.group(2)}0", text)
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []

    def overlaps(a: int, b: int) -> bool:
        return any(x < b and a < y for x, y in taken)

    # "2-in-1", "3 in 1"
    for m in _IN_ONE_RE.finditer(text):
        a = m.group("a").lower()
        b = m.group("b").lower()
        a = str(NUMBER_WORDS.get(a, a))
        b = str(NUMBER_WORDS.get(b, b))
        found.append(Quantity(float(a), "code", None, False, m.start(), m.end(), m.group(), f"{a}-in-{b}"))
        taken.append((m.start(), m.end()))

    for m in _NUM_RE.finditer(text):
        if overlaps(m.start(), m.end()):
            continue
        value = _to_float(m.group("num"), m.group("den"))
        unit: str | None = None
        noun: str | None = None
        literal: str | None = None
        end = m.end()
        suffix = (m.group("suffix") or "").strip()
        if m.group("cur"):
            unit = _UNIT_ALIASES[m.group("cur")]
        if suffix == "%":
            unit = "percent"
        after = text[end : end + 30]
        before = text[max(0, m.start() - 20) : m.start()]
        if unit is None and re.search(r"#\s*$", before):
            unit = "rank"
        if unit is None and suffix != "+":
            attached = re.match(r"[A-Za-z]+", after)
            if attached and not _ORDINAL_RE.match(after):
                # letters glued to the digits: a unit ("10lb", "5mm") or a code ("4K", "3D")
                tok = attached.group()
                cu = canonical_unit(tok)
                full = re.match(r"[A-Za-z0-9.\-]*", text[m.start() :]).group().rstrip(".-")  # type: ignore[union-attr]
                if cu and (len(tok) > 1 or tok.islower() or tok in ("V", "W")):
                    unit, end = cu, end + len(tok)
                else:
                    literal, end = full.lower(), m.start() + len(full)
                    unit = "code"
            elif _ORDINAL_RE.match(after):
                unit, end = "ordinal", end + 2
            else:
                um = _UNIT_AFTER_RE.match(after)
                if um:
                    tok = um.group("unit")
                    cu = canonical_unit(tok)
                    if cu == "in" and tok.lower() == "in" and not _INCH_AFTER_RE.match(after[um.end() :]):
                        cu, tok = None, ""  # "5 in the box" is not five inches
                    if cu:
                        unit, end = cu, end + um.end()
                    elif tok.isalpha() and tok.lower() not in _STOP_AFTER and len(tok) > 1:
                        noun = _singular(tok)
                        if noun in _UNIT_ALIASES:
                            unit, noun = _UNIT_ALIASES[noun], None
                        end = end + um.end()
        elif unit is None and suffix == "+":
            um = _UNIT_AFTER_RE.match(after)
            if um and canonical_unit(um.group("unit")):
                unit, end = canonical_unit(um.group("unit")), end + um.end()
        if unit is None and not m.group("cur"):
            for rx, ctx_unit in _CONTEXT_UNITS:
                if rx.search(before):
                    unit = ctx_unit
                    break
        q = Quantity(value, unit, noun, suffix == "+", m.start(), end, text[m.start() : end], literal)
        found.append(q)
        taken.append((m.start(), end))

    # spelled-out numbers, only before a unit or a countable noun ("two-year", "five pieces")
    for m in _WORDNUM_RE.finditer(text):
        if overlaps(m.start(), m.end()):
            continue
        w1 = m.group("w1").lower()
        value = float(NUMBER_WORDS[w1])
        if m.group("w2") and w1 in _TENS:
            value += NUMBER_WORDS[m.group("w2").lower()]
        nxt = m.group("next")
        cu = canonical_unit(nxt)
        sing = _singular(nxt)
        if cu is None and sing in _UNIT_ALIASES:
            cu = _UNIT_ALIASES[sing]
        if cu is None and (sing not in COUNT_NOUNS or w1 in _SOFT_NUMBER_WORDS):
            continue
        end = m.end() + len(text[m.end() :]) - len(text[m.end() :].lstrip(" -")) + len(nxt)
        found.append(
            Quantity(value, cu, None if cu else sing, False, m.start(), end, text[m.start() : end])
        )
        taken.append((m.start(), end))

    # codes with letters before digits ("PS5", "X200", "CR2032")
    for m in _CODE_RE.finditer(text):
        if overlaps(m.start(), m.end()) or m.group()[0].isdigit():
            continue
        digits = re.findall(r"\d+", m.group())
        found.append(
            Quantity(float(digits[0]), "code", None, False, m.start(), m.end(), m.group(), m.group().lower())
        )
        taken.append((m.start(), m.end()))

    found.sort(key=lambda q: q.start)
    found = [replace(q, text=original[q.start : q.end]) for q in found]
    return _propagate_units(text, found)


def _propagate_units(text: str, qs: list[Quantity]) -> list[Quantity]:
    """Ranges and dimensions share the trailing unit: "3-5 years", "14 x 11 x 10 inches"."""
    qs = list(qs)
    for i in range(len(qs) - 2, -1, -1):
        a, b = qs[i], qs[i + 1]
        if a.unit is None and a.noun is None and (b.unit or b.noun) and _JOIN_RE.match(text[a.end : b.start]):
            qs[i] = replace(a, unit=b.unit, noun=b.noun)
        elif a.unit in ("year", "grade", "usd", "eur", "gbp") and b.unit is None and b.noun is None and _JOIN_RE.match(text[a.end : b.start]):
            qs[i + 1] = replace(b, unit=a.unit)  # "ages 3 to 5", "$10 - 20"
    return qs


def same_amount(a: float, b: float, rel: float = 0.001) -> bool:
    return abs(a - b) <= 1e-9 + rel * max(abs(a), abs(b))


def convertible(claim: Quantity, fact: Quantity, rel: float = 0.015) -> bool:
    """True when both have units of one dimension and agree after conversion (2 years = 24
    months, 41 in ≈ 104 cm) within ``rel``."""
    ca, fa = UNIT_DIMENSION.get(claim.unit or ""), UNIT_DIMENSION.get(fact.unit or "")
    if not ca or not fa or ca[0] != fa[0]:
        return False
    return same_amount(claim.value * ca[1], fact.value * fa[1], rel)


__all__ = ["BROKEN_DECIMAL_RE", "COUNT_NOUNS", "NUMBER_WORDS", "Quantity", "UNIT_DIMENSION", "canonical_unit", "convertible",
           "join_broken_decimals", "parse_quantities", "same_amount"]
