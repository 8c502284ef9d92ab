"""Chat requests that would break a hard rule are refused with the reason; the rest pass."""

from __future__ import annotations

import pytest

from copyloop.tools.channels import ChannelRegistry
from copyloop.tools.policy import check_request
from copyloop.tools.schemas import ProductBrief

REG = ChannelRegistry()
WITH_WARRANTY = ProductBrief(
    title="Bamboo Cutting Board", facts=["Made of organic bamboo", "2 year warranty", "Dishwasher safe", "18 x 12 inches"]
)
PLAIN = ProductBrief(title="Bamboo Cutting Board", facts=["Made of organic bamboo"])


@pytest.mark.parametrize(
    "request_text",
    [
        "shorter",
        "more playful",
        "Make it punchier, and warmer",
        "no CTA, this is for Amazon",
        "drop the warranty and make it shorter",
        "don't mention the price",
        "make the second sentence punchier and use 3 bullets",
        "make it the best copy you can",
        "shorten it by 20%",
        "less hype please",
    ],
)
@pytest.mark.parametrize("channel", ["amazon_bullet", "product_description", "google_ads_headline"])
def test_style_and_removal_requests_pass(request_text: str, channel: str) -> None:
    assert check_request(request_text, REG.get(channel), PLAIN) == []


def test_superlative_on_a_channel_that_forbids_it() -> None:
    reasons = check_request("say it's the best on Amazon", REG.get("amazon_bullet"), WITH_WARRANTY)
    assert len(reasons) == 1 and "amazon_bullet does not allow superlative claims such as 'best'" in reasons[0]
    # where the channel allows superlatives, an unverified one is still an unsupported claim (issue #11)
    [reason] = check_request("say it is the best skillet in the world", REG.get("google_ads_headline"), WITH_WARRANTY)
    assert "superlative claim the product's data does not make" in reason


def test_medical_claim_is_refused() -> None:
    reasons = check_request("add 'cures colds'", REG.get("product_description"), WITH_WARRANTY)
    assert reasons == ["Cannot claim 'cures colds': it is a health/medical claim the product facts do not support"]


def test_fact_requests_depend_on_the_product_facts() -> None:
    spec = REG.get("product_description")
    refused = check_request("mention the 2-year warranty", spec, PLAIN)
    assert refused == ["Cannot claim '2-year warranty': the facts mention no warranty. Add it to the product's facts first if it is true"]
    assert check_request("mention the 2-year warranty", spec, WITH_WARRANTY) == []
    assert check_request("mention it's dishwasher safe", spec, WITH_WARRANTY) == []
    assert check_request("mention it's dishwasher safe", spec, PLAIN) != []
    assert "stainless steel" in check_request("say it is made of stainless steel", spec, PLAIN)[0]
    assert "FDA approved" in check_request("Say it's FDA approved", spec, PLAIN)[0]
    assert check_request("call it the #1 board", REG.get("google_ads_headline"), PLAIN)[0].startswith("Cannot claim '#1'")


def test_cta_on_a_cta_forbidden_channel() -> None:
    for text in ["add a CTA", "add a call to action", "end with 'Buy now'", "tell customers to buy it today"]:
        reasons = check_request(text, REG.get("amazon_bullet"), PLAIN)
        assert reasons and "does not allow a call to action" in reasons[0], text
    assert check_request("add a CTA", REG.get("product_description"), PLAIN) == []


def test_channel_format_requests() -> None:
    assert check_request("add some emoji", REG.get("google_ads_headline"), PLAIN) == ["google_ads_headline does not allow emoji"]
    assert check_request("add some emoji", REG.get("meta_primary_text"), PLAIN) == []
    assert check_request("use ALL CAPS", REG.get("sms"), PLAIN) == ["sms does not allow ALL-CAPS shouting"]
    promo = check_request("add free shipping", REG.get("amazon_title"), PLAIN)
    assert promo[0] == "amazon_title does not allow promotional phrases such as 'free shipping'"


def test_length_requests_outside_the_channel_limits() -> None:
    head = REG.get("google_ads_headline")
    assert check_request("make it 50 characters", head, PLAIN) == [
        "google_ads_headline allows at most 30 characters, so '50 characters' is not possible"
    ]
    assert check_request("under 25 characters please", head, PLAIN) == []
    desc = REG.get("product_description")
    assert "needs at least 50 words" in check_request("keep it under 30 words", desc, PLAIN)[0]
    assert check_request("about 100 words", desc, PLAIN) == []
    assert "250 characters per bullet" in check_request("each bullet at least 300 characters", REG.get("amazon_bullet"), PLAIN)[0]


def test_several_reasons_are_all_reported_once() -> None:
    reasons = check_request(
        "say it's the #1 best seller, add a CTA and mention the lifetime warranty", REG.get("amazon_bullet"), PLAIN
    )
    joined = " | ".join(reasons)
    assert "superlative" in joined and "call to action" in joined and "lifetime" in joined
    assert len(reasons) == len(set(reasons))
