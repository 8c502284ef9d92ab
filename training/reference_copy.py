"""Real product copy that defines the "typical competitor" for product channels.

A score is a win probability against typical competing variants. For a product description
the competitor is another product description, not a news headline: the bundled model learned
*what wins* from Upworthy headline tests, but it compares product copy with real sellers' copy
from the Amazon catalog sample in ../shared/data (only the text is used; no outcome exists there).
So a product description that scores 0.5 looks as good as a typical seller's description by
the model's measure, and the explanation names what differs from typical seller copy.

The short channels (ad headlines, email subjects, SMS, meta/SEO text) have no real examples in
the catalog; their reference is seller wording cut at a word boundary to the channel's length
(product names for the shortest, first bullets for the others). That is a proxy, chosen because
length is what the headline-trained model reacts to most: it keeps a 30-character ad headline
from being compared with 15-word headlines.
"""

from __future__ import annotations

import csv
from pathlib import Path

_BOILERPLATE = ("make sure this fits",)
# The first texts of each kind (file order) are the reference; benchmarks use the ones after them.
REFERENCE_PER_CHANNEL = 250


def _bullets(about: str) -> list[str]:
    parts = [" ".join(p.split()) for p in (about or "").split(" | ")]
    return [p for p in parts if p and not p.lower().startswith(_BOILERPLATE)]


# channel -> (source, max characters) for channels without real examples in the catalog
SHORT_CHANNELS: dict[str, tuple[str, int]] = {
    "google_ads_headline": ("title", 30),
    "email_subject": ("title", 50),
    "google_ads_description": ("bullet", 90),
    "meta_primary_text": ("bullet", 125),
    "sms": ("bullet", 160),
    "seo_meta_description": ("bullet", 160),
}


def _cut(text: str, limit: int) -> str:
    """The longest word-boundary prefix within ``limit`` characters, without trailing punctuation."""
    out = ""
    for word in text.split():
        nxt = f"{out} {word}" if out else word
        if len(nxt) > limit:
            break
        out = nxt
    return out.rstrip(",;:-–—(/&")


def amazon_reference_texts(path: str | Path, per_channel: int | None = REFERENCE_PER_CHANNEL) -> dict[str, list[str]]:
    """Texts per channel, in file order (deterministic): descriptions, 5-bullet blocks, titles, short cuts.

    * product_description: consecutive seller bullets joined into 50–150 words of prose
    * amazon_bullet: up to five bullets, one per line (the amazon_bullet channel's format)
    * amazon_title: the product name
    """
    out: dict[str, list[str]] = {"product_description": [], "amazon_bullet": [], "amazon_title": []}
    with Path(path).open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            bullets = [b for b in _bullets(rec.get("about_product") or "") if len(b) <= 400]
            desc: list[str] = []
            for b in bullets:
                if len(" ".join(desc + [b]).split()) > 150:
                    break
                desc.append(b)
            if len(" ".join(desc).split()) >= 50:
                out["product_description"].append(" ".join(desc))
            if len(bullets) >= 3:
                out["amazon_bullet"].append("\n".join(bullets[:5]))
            title = " ".join((rec.get("product_name") or "").split())
            if 3 <= len(title.split()) <= 40:
                out["amazon_title"].append(title)
            for channel, (kind, limit) in SHORT_CHANNELS.items():
                src = title if kind == "title" else (bullets[0] if bullets else "")
                cut = _cut(src, limit)
                if len(cut.split()) >= 2:
                    out.setdefault(channel, []).append(cut)
    return {k: v[:per_channel] for k, v in out.items()} if per_channel else out


__all__ = ["REFERENCE_PER_CHANNEL", "SHORT_CHANNELS", "amazon_reference_texts"]
