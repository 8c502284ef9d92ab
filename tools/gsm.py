"""SMS encoding per GSM 03.38 (3GPP TS 23.038).

A single SMS carries 160 septets when every character is in the GSM-7 default alphabet; the
characters of the extension table (``^ { } \\ [ ~ ] | €`` and form feed) need an escape and
cost two septets. One character outside both tables switches the whole message to UCS-2, where
the limit is 70 UTF-16 code units (an emoji outside the BMP costs two).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

# The 128 positions of the default alphabet, in table order; 0x1B (ESC) is the escape to the
# extension table and is not a printable character, so it is left out.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ"  # 0x00-0x1A
    "ÆæßÉ"  # 0x1C-0x1F
    " !\"#¤%&'()*+,-./0123456789:;<=>?"  # 0x20-0x3F
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"  # 0x40-0x5F
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"  # 0x60-0x7F
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SMS_GSM7_LIMIT = 160
SMS_UCS2_LIMIT = 70

# Common typographic characters a model emits that have a GSM-7 equivalent; post-processing
# replaces them so one curly quote does not cut the message budget from 160 to 70.
GSM7_TRANSLITERATION = {
    "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
    "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"', "«": '"', "»": '"',
    "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "−": "-",
    "…": "...", "•": "-", "·": "-",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
    "™": "", "®": "", "©": "",
    "á": "a", "â": "a", "ã": "a", "ç": "Ç", "ê": "e", "ë": "e", "í": "i", "î": "i", "ï": "i",
    "ó": "o", "ô": "o", "õ": "o", "ú": "u", "û": "u", "Á": "A", "À": "A", "Â": "A", "Ã": "A",
    "È": "E", "Ê": "E", "Ë": "E", "Í": "I", "Ì": "I", "Î": "I", "Ó": "O", "Ò": "O", "Ô": "O",
    "Õ": "O", "Ú": "U", "Ù": "U", "Û": "U",
}


class SmsLength(NamedTuple):
    """Cost of a text as one SMS."""

    encoding: Literal["GSM-7", "UCS-2"]
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2
    limit: int  # the single-message limit for that encoding
    non_gsm: tuple[str, ...]  # the characters that forced UCS-2 (distinct, in order)

    @property
    def fits(self) -> bool:
        return self.units <= self.limit


def is_gsm7(text: str) -> bool:
    """True when every character is in the GSM-7 default alphabet or its extension table."""
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def non_gsm_chars(text: str) -> tuple[str, ...]:
    """Distinct characters of ``text`` that GSM-7 cannot encode, in order of appearance."""
    seen: dict[str, None] = {}
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            seen.setdefault(ch, None)
    return tuple(seen)


def gsm7_septets(text: str) -> int:
    """Septets needed in GSM-7 (extension characters cost 2). Only meaningful if ``is_gsm7``."""
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def ucs2_units(text: str) -> int:
    """UTF-16 code units (characters outside the BMP, such as most emoji, cost 2)."""
    return len(text.encode("utf-16-le")) // 2


def sms_length(text: str, gsm7_limit: int = SMS_GSM7_LIMIT, ucs2_limit: int = SMS_UCS2_LIMIT) -> SmsLength:
    """Encoding, cost and limit of ``text`` as a single SMS."""
    bad = non_gsm_chars(text)
    if not bad:
        return SmsLength("GSM-7", gsm7_septets(text), gsm7_limit, ())
    return SmsLength("UCS-2", ucs2_units(text), ucs2_limit, bad)


def to_gsm7(text: str) -> str:
    """Replace typographic characters that have a GSM-7 equivalent (curly quotes, dashes, …)."""
    return "".join(GSM7_TRANSLITERATION.get(ch, ch) for ch in text)


__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "SMS_GSM7_LIMIT",
    "SMS_UCS2_LIMIT",
    "SmsLength",
    "gsm7_septets",
    "is_gsm7",
    "non_gsm_chars",
    "sms_length",
    "to_gsm7",
    "ucs2_units",
]
