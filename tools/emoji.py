"""Emoji detection without a third-party table.

One *cluster* is what a reader sees as one emoji: a base pictograph with its skin-tone /
variation modifiers, ZWJ sequences (family, profession), flag pairs and keycaps ("1️⃣").
Decorative dingbats (★ ✓ ♥ ✨) count too: channels that ban emoji ban them as well.
"""

from __future__ import annotations

import re

_BASE = (
    "\U0001F000-\U0001F1E5\U0001F200-\U0001FAFF"  # pictographs, emoticons, transport, supplemental
    "\u2600-\u27BF"  # misc symbols and dingbats (☀ ★ ✓ ✨ ❤)
    "\u2B00-\u2BFF"  # ⭐ ⬛ ⬆ ...
    "\u231A\u231B\u2328\u23CF\u23E9-\u23F3\u23F8-\u23FA"  # ⌚ ⏰ ⏳ ...
    "\u203C\u2049\u24C2\u3030\u303D\u3297\u3299"  # ‼ ⁉ Ⓜ 〰 〽 ㊗ ㊙
)
_MOD = "\U0001F3FB-\U0001F3FF\uFE0E\uFE0F\u20E3\U000E0020-\U000E007F"

EMOJI_CLUSTER_RE = re.compile(
    "(?:"
    "[0-9#*]\uFE0F?\u20E3"  # keycap
    "|[\U0001F1E6-\U0001F1FF]{2}"  # flag (two regional indicators)
    f"|[{_BASE}][{_MOD}]*(?:\u200D[{_BASE}][{_MOD}]*)*"
    ")"
)
# Leftovers that are invisible on their own once the pictograph is gone.
_STRAY_RE = re.compile(f"[\u200D{_MOD}\U0001F1E6-\U0001F1FF]")


def find_emoji(text: str) -> list[str]:
    """Every emoji cluster in ``text``, in order."""
    return EMOJI_CLUSTER_RE.findall(text or "")


def count_emoji(text: str) -> int:
    """Number of emoji clusters (a family ZWJ sequence or a flag counts once)."""
    return len(find_emoji(text))


def has_emoji(text: str) -> bool:
    return EMOJI_CLUSTER_RE.search(text or "") is not None


def strip_emoji(text: str, keep: int = 0) -> str:
    """Remove emoji clusters after the first ``keep`` ones (``keep=0`` removes all) and tidy the
    spaces they leave behind."""
    seen = 0

    def _sub(m: re.Match[str]) -> str:
        nonlocal seen
        seen += 1
        return m.group() if seen <= keep else ""

    out = EMOJI_CLUSTER_RE.sub(_sub, text or "")
    if keep == 0:
        out = _STRAY_RE.sub("", out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    out = re.sub(r"[ \t]+([.,!?;:])", r"\1", out)
    return "\n".join(line.strip() for line in out.split("\n"))


__all__ = ["EMOJI_CLUSTER_RE", "count_emoji", "find_emoji", "has_emoji", "strip_emoji"]
