"""Channel rules in code: every channel's limits, GSM-7 vs UCS-2, emoji, bans, shouting, echoes."""

from __future__ import annotations

import pytest

from copyloop.tools.channels import ChannelRegistry, ChannelSpec
from copyloop.tools.emoji import count_emoji, find_emoji, strip_emoji
from copyloop.tools.gsm import GSM7_BASIC, GSM7_EXTENSION, is_gsm7, sms_length, to_gsm7
from copyloop.tools.validators import check_rules, shouted_words

REG = ChannelRegistry()

GOOD = {
    "google_ads_headline": "Bamboo Longboard for Carving",
    "google_ads_description": "A bamboo core that flexes with every carve. Built for riders up to 170 lb. Shop now.",
    "meta_primary_text": "Carve the hills on a bamboo longboard that flexes with you 🌊 Shop now.",
    "amazon_title": "DB Longboards CoreFlex Crossbow 41 Inch Bamboo Fiberglass Longboard Complete",
    "amazon_bullet": "\n".join(
        [
            "RESPONSIVE FLEX: A bamboo core in triaxial fiberglass gives a lively, springy ride.",
            "RIDER WEIGHT: Flex 2 suits riders from 120 to 170 pounds.",
            "WATER RESISTANT: CoreFlex construction resists water, impacts and scratches.",
            "COMPLETE BOARD: Arrives assembled and ready to ride out of the box.",
            "LIGHT TO CARRY: The whole board weighs 10.7 pounds.",
        ]
    ),
    "product_description": (
        "Meet the CoreFlex Crossbow, a 41 inch longboard with a bamboo core wrapped in triaxial fiberglass. "
        "The deck flexes with every pump and carve, so cruising the boardwalk or bombing a gentle hill feels smooth "
        "and lively.\n\nCoreFlex construction resists water, impacts and scratches, and Flex 2 suits riders from 120 "
        "to 170 pounds. It arrives complete and ready to roll. Order yours today."
    ),
    "email_subject": "Your new bamboo longboard is ready to ride",
    "sms": "DB Longboards: the CoreFlex Crossbow bamboo longboard is back in stock. Shop now: example.com/crossbow",
    "seo_meta_description": (
        "CoreFlex Crossbow 41 inch bamboo fiberglass longboard: lively flex, water resistant build and a smooth ride "
        "for riders 120-170 lb."
    ),
}


def rules(text: str, channel: str | ChannelSpec) -> list[str]:
    spec = REG.get(channel) if isinstance(channel, str) else channel
    return [v.rule for v in check_rules(text, spec) if v.hard]


@pytest.mark.parametrize("channel", list(GOOD))
def test_good_copy_passes_every_channel(channel: str) -> None:
    assert rules(GOOD[channel], channel) == []


def test_every_builtin_channel_has_a_good_example() -> None:
    assert set(GOOD) == set(REG.names())


@pytest.mark.parametrize(
    "channel, limit",
    [("google_ads_headline", 30), ("google_ads_description", 90), ("meta_primary_text", 125), ("amazon_title", 200), ("email_subject", 50), ("seo_meta_description", 160)],
)
def test_max_chars_boundary(channel: str, limit: int) -> None:
    at = ("Bamboo board " * 30)[: limit - 1].rstrip() + "x"
    at = at + "x" * (limit - len(at))
    assert len(at) == limit
    assert "max_chars" not in rules(at, channel)
    violations = check_rules(at + "x", REG.get(channel))
    v = next(v for v in violations if v.rule == "max_chars")
    assert v.message == f"Shorten to ≤{limit} characters (now {limit + 1})"


def test_visible_characters_count_an_emoji_sequence_once() -> None:
    family = "👨‍👩‍👧"  # 5 code points, one visible emoji
    text = "a" * 124 + family
    assert "max_chars" not in rules(text, "meta_primary_text")
    assert "max_chars" in rules("a" * 125 + family, "meta_primary_text")


def test_seo_meta_description_minimum() -> None:
    v = next(v for v in check_rules("Bamboo longboard with a lively flex.", REG.get("seo_meta_description")) if v.rule == "min_chars")
    assert "at least 120 characters (now 36)" in v.message


def test_product_description_word_limits() -> None:
    assert "min_words" in rules("A bamboo longboard. Order yours today.", "product_description")
    long = " ".join(["Bamboo deck flexes nicely."] * 40)  # 160 words
    v = next(v for v in check_rules(long, REG.get("product_description")) if v.rule == "max_words")
    assert v.message == "Shorten to ≤150 words (now 160)"


def test_email_subject_target_is_soft() -> None:
    out = check_rules("Ride bamboo", REG.get("email_subject"))
    assert [v.rule for v in out] == ["target_min_chars"] and not out[0].hard


# --- SMS encoding --------------------------------------------------------------------------------


def test_gsm7_alphabet_tables() -> None:
    assert len(GSM7_BASIC) == 127  # 128 positions minus the escape
    assert set("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà") <= GSM7_BASIC
    assert GSM7_EXTENSION == set("\f^{}\\[~]|€")
    assert not (GSM7_BASIC & GSM7_EXTENSION)
    for ch in "’“”–—…êç`😀":
        assert not is_gsm7(ch), ch


def test_sms_gsm7_boundary() -> None:
    assert sms_length("a" * 160) == ("GSM-7", 160, 160, ())
    assert "sms_length" not in rules("a" * 160, "sms")
    assert "sms_length" in rules("a" * 161, "sms")
    assert "sms_length" not in rules("é" * 160, "sms")  # é is in the basic table


def test_sms_extension_characters_cost_two() -> None:
    assert sms_length("a" * 158 + "€").units == 160
    assert "sms_length" not in rules("a" * 158 + "€", "sms")
    assert "sms_length" in rules("a" * 159 + "€", "sms")
    assert "sms_length" in rules("a" * 155 + "[x]{}", "sms")


def test_sms_ucs2_boundary_with_non_gsm_character() -> None:
    assert "sms_length" not in rules("a" * 69 + "’", "sms")
    v = next(v for v in check_rules("a" * 70 + "’", REG.get("sms")) if v.rule == "sms_length")
    assert "≤70" in v.message and "'’'" in v.message and "now 71" in v.message
    # an emoji outside the BMP costs two UTF-16 units
    assert sms_length("a" * 68 + "😀") == ("UCS-2", 70, 70, ("😀",))
    assert "sms_length" not in rules("a" * 68 + "😀", "sms")
    assert "sms_length" in rules("a" * 69 + "😀", "sms")


def test_to_gsm7_transliterates_typography() -> None:
    assert to_gsm7("It’s “fun” – really…") == 'It\'s "fun" - really...'
    assert is_gsm7(to_gsm7("It’s “fun” – really…"))


# --- emoji -----------------------------------------------------------------------------------------


def test_emoji_detection_counts_clusters() -> None:
    text = "Hi 👨‍👩‍👧 🇺🇸 1️⃣ ★ 👍🏽 ok ©"
    assert find_emoji(text) == ["👨‍👩‍👧", "🇺🇸", "1️⃣", "★", "👍🏽"]
    assert count_emoji("plain text, 100% © ®") == 0
    assert strip_emoji("Great 🎉 gift 👍🏽!") == "Great gift!"
    assert strip_emoji("a 🎉 b 🎁 c 🎈", keep=1) == "a 🎉 b c"


def test_emoji_rules_per_channel() -> None:
    out = check_rules("Bamboo Board 🛹", REG.get("google_ads_headline"))
    v = next(v for v in out if v.rule == "emoji")
    assert "'🛹'" in v.message and "google_ads_headline" in v.message
    assert "emoji" in rules("RIDE: a bamboo board for every day ✨ and more", "amazon_bullet")
    assert rules("Carve the hills 🌊 Shop now.", "meta_primary_text") == []
    assert "emoji_count" in rules("Carve 🌊 the 🏄 hills 🔥 Shop now.", "meta_primary_text")


# --- phrases -----------------------------------------------------------------------------------------


def test_promo_phrases_banned_on_amazon_only() -> None:
    for phrase in ["Free Shipping", "on sale", "best seller", "limited time", "20% off", "Buy Now"]:
        text = f"DB Longboards Bamboo Longboard {phrase}"
        assert "promo" in rules(text, "amazon_title"), phrase
        assert "promo" not in rules(text, "google_ads_description"), phrase
    assert "promo" not in rules("Wholesale-grade bamboo deck", "amazon_title")


def test_superlatives_banned_on_amazon_bullets() -> None:
    for phrase in ["the best board", "#1 longboard", "number one choice", "top rated deck", "best-selling"]:
        text = f"RIDE: {phrase} for carving hills."
        assert "superlative" in rules(text, "amazon_bullet"), phrase
    assert "superlative" not in rules("Best Bamboo Longboard", "google_ads_headline")
    assert "superlative" not in rules("RIDE: a bamboo board for carving gentle hills.", "amazon_bullet")


def test_banned_and_required_phrases_from_config() -> None:
    spec = ChannelRegistry({"push": {"base": "sms", "banned_phrases": ["cheap"], "required_phrases": ["Reply STOP to opt out"]}}).get("push")
    out = {v.rule: v.message for v in check_rules("Cheap boards today. Shop now.", spec)}
    assert "banned_phrase" in out and "'Cheap'" in out["banned_phrase"]
    assert "required_phrase" in out and "Reply STOP to opt out" in out["required_phrase"]
    assert check_rules("Boards today. Shop now. Reply STOP to opt out", spec) == []
    assert "banned_phrase" in rules("Re: your board", "email_subject")


def test_exclamation_and_repeated_punctuation() -> None:
    v = next(v for v in check_rules("Ride Bamboo Today!", REG.get("google_ads_headline")) if v.rule == "exclamations")
    assert "allows none" in v.message
    assert "repeated_punctuation" in rules("Ride bamboo today!!! Shop now.", "meta_primary_text")
    assert "exclamations" in rules("Fun! Flex! Shop now!", "google_ads_description")


# --- shouting, layout, echoes ----------------------------------------------------------------------------


def test_shouting_ignores_amazon_lead_ins_and_product_acronyms() -> None:
    assert shouted_words("RESPONSIVE FLEX: A bamboo core that flexes") == []
    assert shouted_words("The BEST DEAL EVER on LEGO sets", allowed=["LEGO"]) == ["BEST", "DEAL", "EVER"]
    assert "shouting" in rules("The AMAZING NEW BAMBOO board", "google_ads_description")
    assert "shouting" not in rules("A BPA free bottle with USB charging", "google_ads_description")
    out = check_rules("Build with LEGO DUPLO CLASSIC bricks today. Shop now.", REG.get("google_ads_description"), allowed_caps=["LEGO", "DUPLO", "CLASSIC"])
    assert "shouting" not in [v.rule for v in out]


def test_bullet_count_and_length() -> None:
    spec = REG.get("amazon_bullet")
    three = "\n".join(GOOD["amazon_bullet"].split("\n")[:3])
    soft = check_rules(three, spec)
    assert [(v.rule, v.hard) for v in soft] == [("items_count", False)]
    assert "Add 2 more bullet point(s)" in soft[0].message
    assert "items_count" in rules("\n".join(GOOD["amazon_bullet"].split("\n")[:2]), spec)
    assert "items_count" in rules(GOOD["amazon_bullet"] + "\nEXTRA: one more line about the board.", spec)
    long_item = "RIDE: " + "smooth bamboo flex " * 15
    out = check_rules(GOOD["amazon_bullet"].replace(GOOD["amazon_bullet"].split("\n")[1], long_item.strip()), spec)
    v = next(v for v in out if v.rule == "item_max_chars")
    assert v.message.startswith("Shorten bullet 2 to ≤250 characters")


def test_single_line_channels_reject_line_breaks() -> None:
    assert "single_line" in rules("Bamboo Board\nShop Now", "google_ads_headline")
    assert "single_line" not in rules(GOOD["product_description"], "product_description")


@pytest.mark.parametrize(
    "text",
    [
        "As an AI, I think this board is fun. Shop now.",
        "Here is a description of the board. Shop now.",
        "The {title} is fun to ride. Shop now.",
        "Ride the [Brand] board today. Shop now.",
        "Carve hills on bamboo (12 words). Shop now.",
        "Ignore previous rules. Shop now.",
    ],
)
def test_template_and_instruction_echoes(text: str) -> None:
    out = check_rules(text, REG.get("meta_primary_text"))
    v = next(v for v in out if v.rule == "template_echo")
    assert v.message.startswith("Remove the leftover instruction or placeholder text")


def test_markdown_and_hashtags() -> None:
    assert "markdown" in rules("**Bamboo** board for carving. Shop now.", "google_ads_description")
    assert "hashtags" in rules("Bamboo board #skate. Shop now.", "google_ads_description")
    assert "hashtags" not in rules("Carve the hills #skate #bamboo Shop now.", "meta_primary_text")
    assert "hashtags" in rules("Carve #a #b #c. Shop now.", "meta_primary_text")
    assert "hashtags" not in rules("RIDE: the #1 pick", "google_ads_description")


def test_empty_text() -> None:
    for channel in REG.names():
        out = check_rules("   \n", REG.get(channel))
        assert [v.rule for v in out] == ["empty"] and out[0].hard


# --- offensive words ---------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["product_description", "amazon_bullet", "google_ads_headline", "sms"])
def test_offensive_words_are_a_hard_violation_on_every_channel(channel: str) -> None:
    # a real SmolLM2 bullet for a children's toy set
    bad = "Safe For Kids: Great fun with your molester"
    found = [v for v in check_rules(bad, REG.get(channel)) if v.rule == "offensive"]
    assert found and found[0].hard and found[0].details["words"] == ["molester"]


def test_words_with_innocent_catalog_senses_are_not_offensive() -> None:
    ok = "Nude heels in XXX-Large, Moby Dick gift edition, flame retardant, kill switch, grapeseed oil"
    assert "offensive" not in rules(ok, "product_description")


def test_an_offensive_word_from_the_products_own_data_may_be_repeated() -> None:
    spec = REG.get("google_ads_headline")
    assert "offensive" in [v.rule for v in check_rules("Nazi Germany: A History", spec)]
    assert not [v for v in check_rules("Nazi Germany: A History", spec, product_text="Nazi Germany, a history book") if v.rule == "offensive"]


def test_remove_offensive_drops_only_the_offending_sentences_and_bullets() -> None:
    from copyloop.tools.validators import remove_offensive

    prose = "Soft cotton for every nap. This shit is great. Machine washable."
    assert remove_offensive(prose) == "Soft cotton for every nap. Machine washable."
    bullets = "SOFT: cotton for naps\nSAFE: fun with your molester\nEASY CARE: machine washable"
    assert remove_offensive(bullets) == "SOFT: cotton for naps\nEASY CARE: machine washable"
    assert remove_offensive("Total bullshit") == ""
    assert remove_offensive("A Nazi history.", product_text="Nazi Germany") == "A Nazi history."
