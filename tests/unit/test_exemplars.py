"""The bundled exemplars: the drafter imitates them, so each must obey its own channel's rules."""

from __future__ import annotations

import collections
import re

import pytest

from copyloop.tools.store import PastCopy, copy_id, load_bundled_exemplars

CHANNELS = {
    "google_ads_headline", "google_ads_description", "meta_primary_text", "amazon_title", "amazon_bullet",
    "product_description", "email_subject", "sms", "seo_meta_description",
}  # fmt: skip


@pytest.fixture(scope="module")
def exemplars() -> list[PastCopy]:
    return load_bundled_exemplars()


def test_exemplars_cover_every_channel_and_several_categories(exemplars: list[PastCopy]) -> None:
    by_channel = collections.Counter(e.channel for e in exemplars)
    assert set(by_channel) == CHANNELS
    assert min(by_channel.values()) >= 5
    assert len({e.category for e in exemplars}) >= 5
    assert all(e.ctr is not None and 0 < e.ctr < 0.5 for e in exemplars)
    assert len({e.id for e in exemplars}) == len(exemplars), "duplicate exemplars"
    # every channel has a spread of outcomes, so "prefer high performers" has something to prefer
    for channel in CHANNELS:
        ctrs = [e.ctr for e in exemplars if e.channel == channel and e.ctr is not None]
        assert max(ctrs) > 1.5 * min(ctrs), channel


def test_exemplars_invent_no_numbers(exemplars: list[PastCopy]) -> None:
    assert not [e.text for e in exemplars if re.search(r"\d", e.text)]


def test_every_exemplar_passes_its_channel_rules(exemplars: list[PastCopy]) -> None:
    channels = pytest.importorskip("copyloop.tools.channels", reason="channel specs (H2) not built yet")
    validators = pytest.importorskip("copyloop.tools.validators", reason="rule validators (H2) not built yet")
    registry = channels.ChannelRegistry()
    problems = []
    for e in exemplars:
        spec = registry.get(e.channel)
        violations = validators.check_rules(e.text, spec)
        if e.channel == "amazon_bullet":
            # exemplars are single bullets; the per-bullet rules still apply
            assert "\n" not in e.text
            violations = [v for v in violations if v.rule != "items_count"]
        problems += [f"{e.channel}: {v.rule}: {v.message} -- {e.text!r}" for v in violations if v.hard]
    assert not problems, "\n".join(problems)


def test_past_copy_validation() -> None:
    rec = PastCopy(text="  Soft layers  ", channel=" Google_Ads_Headline ", ctr="3.2%")
    assert rec.text == "Soft layers" and rec.channel == "google_ads_headline"
    assert rec.ctr == pytest.approx(0.032)
    assert rec.id == copy_id("google_ads_headline", "soft   LAYERS")  # whitespace/case-insensitive id
    assert PastCopy(text="x", channel="sms", id="mine").id == "mine"
    for bad in ({"channel": "sms"}, {"text": "hi"}, {"text": " ", "channel": "sms"}, {"text": "hi", "channel": "sms", "ctr": 1.5},
                {"text": "hi", "channel": "sms", "score": -0.1}, {"text": "hi", "channel": "sms", "ctr": "abc"}):  # fmt: skip
        with pytest.raises(ValueError):
            PastCopy.model_validate(bad)
