"""Channel specs: the ARCHITECTURE.md table, user overrides and inheritance from config."""

from __future__ import annotations

import pytest

from copyloop.errors import InputError, UnknownChannelError
from copyloop.settings import Settings
from copyloop.tools.channels import BUILTIN_CHANNELS, DEFAULT_CHANNEL, ChannelRegistry, ChannelSpec

TABLE = {
    # name: (max_chars, min_chars, min_words, max_words, cta)
    "google_ads_headline": (30, None, None, None, "allowed"),
    "google_ads_description": (90, None, None, None, "expected"),
    "meta_primary_text": (125, None, None, None, "expected"),
    "amazon_title": (200, None, None, None, "forbidden"),
    "amazon_bullet": (None, None, None, None, "forbidden"),
    "product_description": (None, None, 50, 150, "expected"),
    "email_subject": (50, None, None, None, "optional"),
    "sms": (160, None, None, None, "expected"),
    "seo_meta_description": (160, 120, None, None, "optional"),
}


def test_builtin_channels_are_the_architecture_table() -> None:
    reg = ChannelRegistry()
    assert reg.names() == list(TABLE)
    assert DEFAULT_CHANNEL in reg
    for name, (max_chars, min_chars, min_words, max_words, cta) in TABLE.items():
        spec = reg.get(name)
        assert (spec.max_chars, spec.min_chars, spec.min_words, spec.max_words, spec.cta) == (
            max_chars, min_chars, min_words, max_words, cta,
        ), name
        assert spec.guidance and spec.description, name


def test_channel_specific_rules() -> None:
    reg = ChannelRegistry()
    bullets = reg.get("amazon_bullet")
    assert bullets.items == 5 and bullets.item_max_chars == 250 and bullets.is_bullets
    assert bullets.forbid_superlatives and not bullets.allow_emoji and bullets.forbid_promo
    assert reg.get("amazon_title").forbid_promo
    sms = reg.get("sms")
    assert sms.gsm7 and sms.max_chars == 160 and sms.ucs2_max_chars == 70
    email = reg.get("email_subject")
    assert (email.target_min_chars, email.target_max_chars) == (30, 50)
    assert not reg.get("google_ads_headline").allow_emoji
    assert reg.get("product_description").multiline
    assert not reg.get("google_ads_headline").is_bullets


def test_rules_summary_states_the_limits() -> None:
    reg = ChannelRegistry()
    assert "at most 30 characters" in reg.get("google_ads_headline").rules_summary().lower()
    assert "50-150 words" in reg.get("product_description").rules_summary()
    assert "no call to action" in reg.get("amazon_bullet").rules_summary()
    assert "160" in reg.get("sms").rules_summary() and "70" in reg.get("sms").rules_summary()
    guidance = reg.get("amazon_bullet").prompt_guidance()
    assert guidance.startswith(BUILTIN_CHANNELS["amazon_bullet"].guidance)


def test_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(UnknownChannelError) as exc:
        ChannelRegistry().get("tiktok")
    assert "google_ads_headline" in str(exc.value) and exc.value.channel == "tiktok"


def test_override_keeps_unset_fields() -> None:
    reg = ChannelRegistry({"google_ads_headline": {"max_chars": 25}})
    spec = reg.get("google_ads_headline")
    assert spec.max_chars == 25
    assert spec.cta == "allowed" and not spec.allow_emoji
    # the built-in table is not mutated
    assert ChannelRegistry().get("google_ads_headline").max_chars == 30


def test_new_channel_inherits_from_base() -> None:
    reg = ChannelRegistry(
        {
            "tiktok_caption": {"base": "meta_primary_text", "max_chars": 100, "banned_phrases": ["link in bio"]},
            "tiktok_short": {"base": "tiktok_caption", "max_chars": 40},
        }
    )
    cap = reg.get("tiktok_caption")
    assert cap.name == "tiktok_caption" and cap.max_chars == 100 and cap.cta == "expected" and cap.allow_emoji
    assert cap.banned_phrases == ["link in bio"]
    short = reg.get("tiktok_short")
    assert short.max_chars == 40 and short.banned_phrases == ["link in bio"]
    assert reg.names()[-2:] == ["tiktok_caption", "tiktok_short"]


def test_new_channel_without_base_uses_defaults() -> None:
    spec = ChannelRegistry({"push": {"max_chars": 60, "cta": "expected"}}).get("push")
    assert spec.max_chars == 60 and spec.cta == "expected" and spec.items == 1


@pytest.mark.parametrize(
    "extra, field",
    [
        ({"x": {"base": "nope"}}, "channels.x.base"),
        ({"x": {"max_chars": "lots"}}, "channels.x"),
        ({"x": {"min_chars": 50, "max_chars": 10}}, "channels.x"),
        ({"x": {"cta": "sometimes"}}, "channels.x"),
        ({"x": {"colour": "red"}}, "channels.x"),
        ({"a": {"base": "b"}, "b": {"base": "a"}}, None),
    ],
)
def test_invalid_channel_config_is_an_input_error(extra: dict, field: str | None) -> None:
    with pytest.raises(InputError) as exc:
        ChannelRegistry(extra)
    if field:
        assert exc.value.field == field


def test_registry_from_settings() -> None:
    settings = Settings(channels={"google_ads_headline": {"max_chars": 20}, "push": {"base": "sms", "max_chars": 100}})
    reg = ChannelRegistry.from_settings(settings)
    assert reg.get("google_ads_headline").max_chars == 20
    assert reg.get("push").gsm7 and reg.get("push").max_chars == 100


def test_spec_is_immutable_and_serialisable() -> None:
    spec = ChannelRegistry().get("sms")
    with pytest.raises(Exception):
        spec.max_chars = 10  # type: ignore[misc]
    assert ChannelSpec.model_validate(spec.model_dump()) == spec
