"""Channel specs: the hard rules of every place copy runs, checked by code, never by the LLM alone.

The nine built-in channels follow the table in ARCHITECTURE.md. Users add or override channels
in config (``Settings.channels``: name -> fields); an entry may say ``base = "<channel>"`` to
inherit every field it does not set, and an entry named like a built-in channel overrides only
the fields it sets::

    [channels.google_ads_headline]
    max_chars = 25

    [channels.tiktok_caption]
    base = "meta_primary_text"
    max_chars = 100
    banned_phrases = ["link in bio"]
"""

from __future__ import annotations

from typing import Any, Iterator, Literal, Mapping

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from copyloop.errors import InputError, UnknownChannelError

CtaPolicy = Literal["expected", "optional", "allowed", "forbidden"]
DEFAULT_CHANNEL = "product_description"


class ChannelSpec(BaseModel):
    """The rules of one channel. Limits left at ``None`` are not checked.

    Hard limits (``max_chars``, ``min_words``, ...) fail the channel-rules critic; ``target_*``
    limits are soft and only lower its score.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(..., description="registry key, e.g. 'google_ads_headline'")
    description: str = Field("", description="what this channel is, for people")
    guidance: str = Field("", description="short writing guidance the drafter puts in its prompt")
    max_chars: int | None = Field(None, ge=1, description="hard maximum of visible characters (GSM-7 septets for SMS)")
    min_chars: int | None = Field(None, ge=0, description="hard minimum of visible characters")
    target_min_chars: int | None = Field(None, ge=0, description="soft minimum: below it the copy is legal but weak")
    target_max_chars: int | None = Field(None, ge=1, description="soft maximum")
    max_words: int | None = Field(None, ge=1, description="hard maximum of words")
    min_words: int | None = Field(None, ge=0, description="hard minimum of words")
    items: int = Field(1, ge=1, le=20, description="number of items (bullets) wanted; >1 means one item per line")
    min_items: int | None = Field(None, ge=1, description="hard minimum of items; default: items")
    item_max_chars: int | None = Field(None, ge=1, description="hard maximum of visible characters per item")
    item_min_chars: int | None = Field(None, ge=0, description="hard minimum of visible characters per item")
    cta: CtaPolicy = Field("optional", description="call-to-action policy: expected | optional | allowed | forbidden")
    cta_examples: list[str] = Field(default_factory=list, description="calls to action that suit this channel")
    banned_phrases: list[str] = Field(default_factory=list, description="phrases that must not appear (case-insensitive)")
    required_phrases: list[str] = Field(default_factory=list, description="phrases that must appear, e.g. 'Reply STOP to opt out'")
    allow_emoji: bool = Field(True, description="whether emoji (and decorative dingbats) are allowed")
    max_emoji: int | None = Field(None, ge=0, description="most emoji allowed when allowed at all")
    gsm7: bool = Field(False, description="SMS encoding rule: max_chars counts GSM-7 septets, ucs2_max_chars applies otherwise")
    ucs2_max_chars: int | None = Field(None, ge=1, description="limit when a character outside GSM-7 forces UCS-2")
    forbid_superlatives: bool = Field(False, description="ban 'best', '#1', 'top rated' and similar claims")
    forbid_promo: bool = Field(False, description="ban promotional phrases ('free shipping', 'sale', '% off', ...)")
    max_exclamations: int | None = Field(None, ge=0, description="most '!' allowed")
    max_hashtags: int = Field(0, ge=0, description="most #hashtags allowed")
    allow_shouting: bool = Field(False, description="allow several ALL-CAPS words")
    multiline: bool = Field(False, description="paragraph breaks allowed (otherwise one line, or one line per item)")
    sentiment_band: tuple[float, float] | None = Field(
        None, description="VADER compound band for this channel; default: the refine settings' band"
    )
    max_new_tokens: int = Field(200, ge=8, description="generation budget hint for the drafter")

    @model_validator(mode="after")
    def _consistent(self) -> "ChannelSpec":
        pairs = [
            ("min_chars", "max_chars"), ("min_words", "max_words"), ("target_min_chars", "target_max_chars"),
            ("item_min_chars", "item_max_chars"), ("min_items", "items"),
        ]
        for lo, hi in pairs:
            a, b = getattr(self, lo), getattr(self, hi)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{lo} ({a}) is greater than {hi} ({b})")
        if self.gsm7 and self.max_chars is None:
            raise ValueError("gsm7 channels need max_chars (the GSM-7 limit)")
        if self.sentiment_band is not None and self.sentiment_band[0] > self.sentiment_band[1]:
            raise ValueError(f"sentiment_band {self.sentiment_band} is not (low, high)")
        return self

    # Derived ---------------------------------------------------------------------------------
    @property
    def is_bullets(self) -> bool:
        """True when the copy is a list of items, one per line."""
        return self.items > 1

    @property
    def required_items(self) -> int:
        """Hard minimum number of items."""
        return self.min_items if self.min_items is not None else self.items

    def rules_summary(self) -> str:
        """The hard rules in one line of plain English, for prompts and help text."""
        parts: list[str] = []
        if self.is_bullets:
            parts.append(f"{self.items} bullet points, one per line")
            if self.item_max_chars:
                parts.append(f"each at most {self.item_max_chars} characters")
        if self.min_words and self.max_words:
            parts.append(f"{self.min_words}-{self.max_words} words")
        elif self.max_words:
            parts.append(f"at most {self.max_words} words")
        elif self.min_words:
            parts.append(f"at least {self.min_words} words")
        if self.gsm7:
            parts.append(
                f"at most {self.max_chars} plain characters ({self.ucs2_max_chars or self.max_chars} if any emoji or special character)"
            )
        elif self.min_chars and self.max_chars:
            parts.append(f"{self.min_chars}-{self.max_chars} characters")
        elif self.max_chars:
            parts.append(f"at most {self.max_chars} characters")
        if self.target_min_chars and self.target_max_chars:
            parts.append(f"ideally {self.target_min_chars}-{self.target_max_chars} characters")
        if not self.allow_emoji:
            parts.append("no emoji")
        elif self.max_emoji is not None:
            parts.append(f"at most {self.max_emoji} emoji")
        if self.max_exclamations == 0:
            parts.append("no exclamation marks")
        if self.forbid_superlatives:
            parts.append("no 'best' or '#1' claims")
        if self.forbid_promo:
            parts.append("no promotional phrases (sale, free shipping, % off)")
        parts.append(
            {
                "expected": "end with a call to action",
                "optional": "a call to action is optional",
                "allowed": "a short call to action is allowed",
                "forbidden": "no call to action",
            }[self.cta]
        )
        if self.banned_phrases:
            parts.append("never say: " + ", ".join(repr(p) for p in self.banned_phrases))
        if self.required_phrases:
            parts.append("must include: " + ", ".join(repr(p) for p in self.required_phrases))
        text = "; ".join(parts)
        return text[0].upper() + text[1:] + "."

    def prompt_guidance(self) -> str:
        """Guidance plus the rules summary: what the drafter tells the model about this channel."""
        return f"{self.guidance} {self.rules_summary()}".strip()


_NOT_NEGATIVE = (0.0, 0.95)

BUILTIN_CHANNELS: dict[str, ChannelSpec] = {
    s.name: s
    for s in [
        ChannelSpec(
            name="google_ads_headline",
            description="Google Ads responsive search ad headline",
            guidance="One punchy headline of 3-5 words: the product and its main benefit.",
            max_chars=30,
            cta="allowed",
            cta_examples=["Shop Now", "Order Today", "Get Yours"],
            allow_emoji=False,
            max_exclamations=0,  # Google Ads editorial policy: no '!' in headlines
            sentiment_band=_NOT_NEGATIVE,
            max_new_tokens=24,
        ),
        ChannelSpec(
            name="google_ads_description",
            description="Google Ads responsive search ad description line",
            guidance="One or two short sentences: the main benefit, one concrete fact, then a call to action.",
            max_chars=90,
            cta="expected",
            cta_examples=["Shop now.", "Order yours today.", "Buy online today."],
            allow_emoji=False,
            max_exclamations=1,
            max_new_tokens=48,
        ),
        ChannelSpec(
            name="meta_primary_text",
            description="Facebook/Instagram ad primary text (the part visible before 'See more')",
            guidance="A friendly hook for a social feed: who it is for and why they will love it, then a call to action.",
            max_chars=125,
            cta="expected",
            cta_examples=["Shop now.", "Get yours today.", "Tap to order."],
            allow_emoji=True,
            max_emoji=2,
            max_exclamations=2,
            max_hashtags=2,
            max_new_tokens=64,
        ),
        ChannelSpec(
            name="amazon_title",
            description="Amazon product title",
            guidance="Brand, product type, key feature, size/count, colour: factual, no marketing talk.",
            max_chars=200,
            cta="forbidden",
            allow_emoji=False,
            forbid_promo=True,
            forbid_superlatives=True,  # Amazon bans subjective claims ("best", "#1") in titles too
            max_exclamations=0,
            sentiment_band=(-0.05, 0.95),
            max_new_tokens=80,
        ),
        ChannelSpec(
            name="amazon_bullet",
            description="Amazon 'About this item' bullet points",
            guidance=(
                "Five bullet points, one per line, each opening with a short feature in capitals and a colon, "
                "then the benefit and the facts that back it."
            ),
            items=5,
            min_items=3,  # Amazon accepts fewer than five; fewer than three reads as a thin listing
            item_max_chars=250,
            item_min_chars=20,
            cta="forbidden",
            allow_emoji=False,
            forbid_promo=True,
            forbid_superlatives=True,
            max_exclamations=0,
            allow_shouting=False,
            sentiment_band=_NOT_NEGATIVE,
            max_new_tokens=360,
        ),
        ChannelSpec(
            name="product_description",
            description="Product page description",
            guidance="Two short paragraphs: what it is and who it is for, then the key facts as benefits; close with a call to action.",
            min_words=50,
            max_words=150,
            cta="expected",
            cta_examples=["Order yours today.", "Add it to your cart today.", "Bring one home today."],
            allow_emoji=False,
            max_exclamations=2,
            multiline=True,
            max_new_tokens=260,
        ),
        ChannelSpec(
            name="email_subject",
            description="Marketing email subject line",
            guidance="A short, specific subject line that makes the reader curious; no clickbait.",
            max_chars=50,
            target_min_chars=30,
            target_max_chars=50,
            cta="optional",
            allow_emoji=True,
            max_emoji=1,
            max_exclamations=1,
            forbid_promo=False,
            banned_phrases=["re:", "fwd:", "act now", "100% free", "risk-free", "click here"],  # spam-filter triggers
            sentiment_band=_NOT_NEGATIVE,
            max_new_tokens=24,
        ),
        ChannelSpec(
            name="sms",
            description="Marketing text message (one SMS segment)",
            guidance="One or two plain sentences with the offer or benefit and a call to action; avoid special characters.",
            max_chars=160,
            gsm7=True,
            ucs2_max_chars=70,
            cta="expected",
            cta_examples=["Shop now:", "Order today.", "Reply YES to order."],
            allow_emoji=True,
            max_emoji=1,
            max_exclamations=1,
            max_new_tokens=70,
        ),
        ChannelSpec(
            name="seo_meta_description",
            description="HTML meta description shown in search results",
            guidance="One or two sentences that say exactly what the product is and why it is worth the click.",
            min_chars=120,
            max_chars=160,
            cta="optional",
            cta_examples=["Shop now.", "Order online today."],
            allow_emoji=False,
            max_exclamations=1,
            sentiment_band=_NOT_NEGATIVE,
            max_new_tokens=70,
        ),
    ]
}


class ChannelRegistry:
    """Built-in channels plus the user's additions/overrides from config."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self._specs: dict[str, ChannelSpec] = dict(BUILTIN_CHANNELS)
        pending = {str(k): dict(v) for k, v in (extra or {}).items()}
        resolving: set[str] = set()

        def resolve(name: str) -> ChannelSpec:
            if name not in pending:
                return self._specs[name]
            if name in resolving:
                raise InputError(f"Channel {name!r} inherits from itself (base cycle)", field=f"channels.{name}")
            resolving.add(name)
            fields = dict(pending[name])
            base = fields.pop("base", None)
            fields.pop("name", None)
            if base is not None:
                base = str(base)
                if base == name:
                    parent = BUILTIN_CHANNELS.get(name)
                elif base in pending:
                    parent = resolve(base)
                else:
                    parent = self._specs.get(base)  # built-in, or a user channel resolved already
                if parent is None:
                    raise InputError(
                        f"Channel {name!r} has unknown base {base!r}. Known channels: "
                        + ", ".join(sorted(set(BUILTIN_CHANNELS) | set(pending))),
                        field=f"channels.{name}.base",
                    )
            else:
                parent = BUILTIN_CHANNELS.get(name)
            merged = parent.model_dump() if parent is not None else {}
            merged.update(fields)
            merged["name"] = name
            if parent is not None and "description" not in fields and base is not None and base != name:
                merged["description"] = f"{parent.description} (custom: {name})"
            try:
                spec = ChannelSpec.model_validate(merged)
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'spec'}: {e['msg']}" for e in exc.errors()
                )
                raise InputError(f"Invalid channel spec {name!r}: {problems}", field=f"channels.{name}") from exc
            self._specs[name] = spec
            del pending[name]
            resolving.discard(name)
            return spec

        for name in list(pending):
            if name in pending:
                resolve(name)

    @classmethod
    def from_settings(cls, settings: Any) -> "ChannelRegistry":
        """Registry with ``settings.channels`` applied."""
        return cls(getattr(settings, "channels", None) or None)

    def get(self, name: str) -> ChannelSpec:
        """The spec of ``name``; :class:`UnknownChannelError` lists the known channels."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownChannelError(name, list(self._specs)) from None

    def names(self) -> list[str]:
        """Channel names, built-in ones first in table order, then the user's."""
        return list(self._specs)

    def specs(self) -> list[ChannelSpec]:
        return list(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[str]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def get_channel(name: str, extra: Mapping[str, Mapping[str, Any]] | None = None) -> ChannelSpec:
    """Shortcut for ``ChannelRegistry(extra).get(name)``."""
    return ChannelRegistry(extra).get(name)


__all__ = [
    "BUILTIN_CHANNELS",
    "DEFAULT_CHANNEL",
    "ChannelRegistry",
    "ChannelSpec",
    "CtaPolicy",
    "get_channel",
]
