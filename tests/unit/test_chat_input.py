"""What people type becomes the right product, channel and command (Slack /copy, chat lines)."""

from __future__ import annotations

import json

import pytest

from copyloop.errors import InputError
from copyloop.chat.product_input import ProductCatalog, parse_product, product_from_text, slack_plain_text, split_channel
from copyloop.chat.turns import TurnCommand, parse_turn

CHANNELS = ["product_description", "amazon_title", "sms", "google_ads_headline"]


def test_free_text_with_semicolons_is_title_then_facts() -> None:
    brief = product_from_text("Bamboo cutting board; 3 sizes; dishwasher safe")
    assert brief.title == "Bamboo cutting board"
    assert brief.facts == ["3 sizes", "dishwasher safe"]


def test_free_text_with_commas_only_splits_on_commas() -> None:
    brief = product_from_text("Bamboo cutting board, 3 sizes, dishwasher safe")
    assert (brief.title, brief.facts) == ("Bamboo cutting board", ["3 sizes", "dishwasher safe"])


def test_trailing_channel_is_split_off_case_insensitively() -> None:
    assert split_channel("Bamboo board; dishwasher safe SMS", CHANNELS) == ("Bamboo board; dishwasher safe", "sms")
    assert split_channel("Bamboo board", CHANNELS) == ("Bamboo board", None)
    # a channel name alone is a product called "sms", not an empty product
    assert split_channel("sms", CHANNELS) == ("sms", None)


def test_json_product_and_its_errors() -> None:
    brief = parse_product(json.dumps({"title": "Kite", "facts": ["ripstop nylon"]}))
    assert brief.title == "Kite" and brief.facts == ["ripstop nylon"]
    with pytest.raises(InputError, match="not valid JSON"):
        parse_product('{"title": ')
    with pytest.raises(InputError, match="title"):
        parse_product('{"facts": ["x"]}')
    with pytest.raises(InputError, match="title"):
        parse_product('{"title": "  "}')


def test_empty_and_oversized_requests_are_input_errors() -> None:
    with pytest.raises(InputError, match="Usage"):
        parse_product("   ")
    with pytest.raises(InputError, match="too long"):
        parse_product("x" * 9000)


def test_slack_formatting_is_undone() -> None:
    text = "<@U123> Mug &amp; saucer; see <https://shop.example/mug|our shop> &lt;3"
    assert slack_plain_text(text) == "Mug & saucer; see our shop <3"


def test_catalog_id_lookup(tmp_path) -> None:
    path = tmp_path / "products.jsonl"
    path.write_text(
        "\n".join(json.dumps(p) for p in [{"id": "sku-0001", "title": "Puzzle 500 pieces"}, {"id": "sku-0002", "title": "Kite"}]),
        encoding="utf-8",
    )
    catalog = ProductCatalog(path)
    assert parse_product("sku-0002", catalog).title == "Kite"
    with pytest.raises(InputError, match="No product with id 'sku-9999'"):
        parse_product("sku-9999", catalog)
    # a single ordinary word is a product name, not a missing id
    assert parse_product("Frisbee", catalog).title == "Frisbee"


def test_missing_catalog_file_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InputError, match="Catalog file does not exist"):
        ProductCatalog(tmp_path / "nope.csv").get("x")


@pytest.mark.parametrize(
    ("line", "bare", "expected"),
    [
        ("/variants 3", False, TurnCommand("variants", "3")),
        ("/accept", False, TurnCommand("accept")),
        ("/channel sms", False, TurnCommand("channel", "sms")),
        ("/q", False, TurnCommand("quit")),
        ("shorter please", False, TurnCommand("say", "shorter please")),
        ("undo", False, TurnCommand("say", "undo")),  # chat: commands need the slash
        ("undo", True, TurnCommand("undo")),  # Slack thread: bare command words
        ("variants 2", True, TurnCommand("variants", "2")),
        ("channel sms", True, TurnCommand("channel", "sms")),
        ("channel the summer mood", True, TurnCommand("say", "channel the summer mood")),
        ("accept the wording but shorter", True, TurnCommand("say", "accept the wording but shorter")),
    ],
)
def test_parse_turn(line: str, bare: bool, expected: TurnCommand) -> None:
    assert parse_turn(line, bare_commands=bare) == expected


def test_unknown_slash_command_lists_commands() -> None:
    with pytest.raises(InputError, match="/accept"):
        parse_turn("/frobnicate")


def test_count_argument_must_be_a_number() -> None:
    assert TurnCommand("variants").count() == 3
    with pytest.raises(InputError, match="number"):
        TurnCommand("variants", "many").count()
