"""Post-processing: strip chatter/labels/markdown/quotes/emoji, enforce limits without cutting
words, format Amazon bullets, and never add words."""

from __future__ import annotations

import re

import pytest

from copyloop.tools.channels import ChannelRegistry
from copyloop.tools.gsm import is_gsm7
from copyloop.tools.postprocess import clean, fit
from copyloop.tools.text import bullet_items, visible_len, word_count, words
from copyloop.tools.validators import check_rules

REG = ChannelRegistry()

RAW = [
    ("google_ads_headline", 'Sure! Here is a catchy headline for your longboard:\n"Headline: Ride the Bamboo Flow All Summer Long!"'),
    ("google_ads_headline", "1. Bamboo Longboard Fun\n2. Ride Smooth Every Day\n3. Carve It"),
    ("google_ads_description", "**Description:** Carve hills on a springy bamboo deck 🛹🔥 with fiberglass strength and a smooth ride. Shop now!!! #skate #longboard #fun"),
    ("meta_primary_text", "Ride the flow 🌊🏄‍♂️🔥 with our bamboo board, built for long sunny days at the beach and the park with friends. Shop now! #longboard #skate #bamboo"),
    ("amazon_title", "Title: **DB Longboards CoreFlex Crossbow 41\" Bamboo Fiberglass Longboard** 🛹"),
    ("amazon_bullet", "Here are the bullet points:\n- RESPONSIVE FLEX: bamboo core.\n- WATER RESISTANT: CoreFlex construction resists water.\n* Extra point\n4) Four\n5. Five\n- Six"),
    ("product_description", "Product Description:\n\nMeet the CoreFlex Crossbow 🎉🎉, a 41\" bamboo longboard!!! It flexes.\n\nI hope this helps! Let me know if you want changes."),
    ("email_subject", 'Subject line: "Your new favorite ride is here" (31 characters)'),
    ("sms", "Get your board today – it’s fun 🎉 " + "and it rolls smoothly over every road you ride " * 3),
    ("seo_meta_description", "Meta description: " + "Bamboo fiberglass longboard with lively flex and a smooth, stable ride for cruising and carving. " * 3),
]


def _words_in_order(out: str, raw: str) -> bool:
    """Every word of ``out`` occurs in ``raw`` (case-insensitive): nothing was invented."""
    pool = {w.lower() for w in words(raw.replace("’", "'"))}
    return all(w.lower() in pool for w in words(out))


@pytest.mark.parametrize("channel, raw", RAW)
def test_clean_never_invents_words_and_respects_max_limits(channel: str, raw: str) -> None:
    spec = REG.get(channel)
    out = clean(raw, spec)
    assert out, channel
    assert _words_in_order(out, raw)
    hard = {v.rule for v in check_rules(out, spec) if v.hard}
    assert not hard & {"max_chars", "max_words", "sms_length", "item_max_chars", "emoji", "emoji_count",
                       "markdown", "hashtags", "exclamations", "repeated_punctuation", "single_line"}, (out, hard)
    assert clean(out, spec) == out  # idempotent


def test_chatter_labels_and_quotes_removed() -> None:
    spec = REG.get("google_ads_headline")
    assert clean(RAW[0][1], spec) == "Ride the Bamboo Flow"
    assert clean("Certainly! \u201cBamboo Board, Built to Flex\u201d", spec) == "Bamboo Board, Built to Flex"
    assert clean("Headline 1: Bamboo Board Fun", spec) == "Bamboo Board Fun"
    assert clean(RAW[7][1], REG.get("email_subject")) == "Your new favorite ride is here"


def test_alternatives_keep_the_first() -> None:
    assert clean(RAW[1][1], REG.get("google_ads_headline")) == "Bamboo Longboard Fun"


def test_markdown_emoji_hashtags() -> None:
    out = clean(RAW[2][1], REG.get("google_ads_description"))
    assert "**" not in out and "#" not in out and "🛹" not in out and "!!!" not in out
    assert out.startswith("Carve hills on a springy bamboo deck")
    meta = clean(RAW[3][1], REG.get("meta_primary_text"))
    assert len(re.findall(r"#\w", meta)) <= 2 and "🔥" not in meta and "🌊" in meta


def test_trailing_chatter_dropped_and_paragraphs_kept() -> None:
    out = clean(RAW[6][1], REG.get("product_description"))
    assert out == 'Meet the CoreFlex Crossbow, a 41" bamboo longboard! It flexes.'
    two = clean("First paragraph here.\n\n\n\nSecond one\ncontinues here.", REG.get("product_description"))
    assert two == "First paragraph here.\n\nSecond one continues here."


def test_truncation_prefers_sentence_then_word_boundary() -> None:
    spec = REG.get("google_ads_description")  # 90 chars
    text = "Carve hills on a springy bamboo deck. Fiberglass makes it strong and light. Shop the range today."
    assert clean(text, spec) == "Carve hills on a springy bamboo deck. Fiberglass makes it strong and light."
    one = "A springy bamboo deck with triaxial fiberglass layers that make carving and pumping feel smooth and lively"
    out = clean(one, spec)
    assert visible_len(out) <= 90 and one.startswith(out)
    assert out.split()[-1].lower() not in {"and", "with", "that", "the", "a"}
    assert not out.endswith((",", "-", ":"))


def test_fit_never_cuts_inside_a_word() -> None:
    text = "Supercalifragilistic bamboo extraordinarily flexible longboard deck"
    for limit in range(5, len(text)):
        out = fit(text, lambda t, n=limit: len(t) <= n)
        assert len(out) <= limit
        assert out == "" or text.startswith(out) and (len(out) == len(text) or text[len(out)] == " ")


def test_dangling_connectors_and_punctuation_are_trimmed() -> None:
    out = fit("Bamboo deck, fiberglass and the", lambda t: len(t) <= 30)
    assert out == "Bamboo deck, fiberglass"
    assert fit("Strong (and light) deck", lambda t: len(t) <= 12) == "Strong"


def test_product_description_word_limit() -> None:
    sentence = "The bamboo deck flexes with every carve and pump on the road. "
    out = clean(sentence * 20, REG.get("product_description"))  # 240 words
    assert word_count(out) <= 150 and out.endswith(".")


def test_amazon_bullets_from_lines() -> None:
    out = clean(RAW[5][1], REG.get("amazon_bullet"))
    items = out.split("\n")
    assert items == ["RESPONSIVE FLEX: bamboo core.", "WATER RESISTANT: CoreFlex construction resists water.", "Extra point", "Four", "Five"]


def test_amazon_bullets_from_one_paragraph() -> None:
    para = (
        "Bamboo core gives flex. Water resistant build. Fits riders 120 to 170 pounds. "
        "Made in the Northwest. Great for carving. Smooth wheels too. Seven here."
    )
    items = clean(para, REG.get("amazon_bullet")).split("\n")
    assert len(items) == 5
    assert " ".join(items) == para


def test_amazon_bullets_are_cut_to_250_chars_each() -> None:
    long_item = "DURABLE: " + "The bamboo and fiberglass deck survives daily rides and rough roads. " * 6
    out = clean("\n".join([long_item] * 6), REG.get("amazon_bullet"))
    items = bullet_items(out)
    assert len(items) == 5
    assert all(visible_len(i) <= 250 for i in items)
    assert all(i.endswith(".") for i in items)  # whole sentences kept


def test_sms_keeps_gsm7_budget() -> None:
    spec = REG.get("sms")
    out = clean("It’s here – the “Crossbow” board… Shop now at our store today and ride it all weekend long with friends and family, rain or shine, hills or flats.", spec)
    assert is_gsm7(out) and len(out) <= 160
    emoji_out = clean("Shop now 🎉 " + "a smooth ride for every road " * 4, spec)
    assert is_gsm7(emoji_out)  # the emoji would cut the budget to 70: dropped instead of words


def test_exclamations_limited_for_headlines() -> None:
    spec = REG.get("google_ads_headline")
    assert clean("Ride Bamboo Today!", spec) == "Ride Bamboo Today"
    assert clean("Ride! Carve! Flex", spec) == "Ride. Carve. Flex"


def test_shouting_calmed() -> None:
    out = clean("The AMAZING BAMBOO BOARD for riders. Shop now.", REG.get("google_ads_description"))
    assert out == "The Amazing Bamboo Board for riders. Shop now."
    lead = clean("RESPONSIVE FLEX: bamboo core gives a lively ride.", REG.get("amazon_bullet"))
    assert lead.startswith("RESPONSIVE FLEX:")


@pytest.mark.parametrize("raw", ["", "   ", "\n\n", "Sure!", "**Headline:**"])
def test_nothing_usable_gives_empty_string(raw: str) -> None:
    assert clean(raw, REG.get("google_ads_headline")) == ""
