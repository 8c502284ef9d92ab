"""Text utilities: words, sentences, distinct-n and stock-phrase counting."""

from __future__ import annotations

from copyloop.tools.text import distinct_n, repeated_phrases, sentences, shared_phrases, visible_len, word_count, words


def test_words_keep_hyphenated_decimal_and_apostrophe_tokens() -> None:
    assert words("A two-year, 10.7 lb board—don't wait!") == ["A", "two-year", "10.7", "lb", "board", "don't", "wait"]
    assert word_count("") == 0


def test_sentences_split_on_end_marks_and_lines_not_abbreviations() -> None:
    text = "Fits 41 in. boards. Made of bamboo! e.g. this one? Yes\nNew line 10.7 lb."
    assert sentences(text) == ["Fits 41 in. boards.", "Made of bamboo!", "e.g. this one?", "Yes", "New line 10.7 lb."]
    assert sentences('He said "go." Then left.') == ['He said "go."', "Then left."]


def test_visible_len_ignores_invisible_characters() -> None:
    assert visible_len("ab\u200bc\u00ad") == 3
    assert visible_len("e\u0301") == 1  # combining accent
    assert visible_len("🇺🇸👍🏽") == 2


def test_distinct_n() -> None:
    assert distinct_n("fun fun fun fun", 2) == 1 / 3
    assert distinct_n(["a b c", "d e f"], 2) == 1.0
    assert distinct_n(["same words here", "same words here"], 2) == 0.5
    assert distinct_n("one", 2) == 0.0


def test_repeated_phrases_counts_texts_and_hides_sub_phrases() -> None:
    texts = [
        "Perfect for any occasion and built to last.",
        "A mug that is perfect for any occasion, really.",
        "So perfect for any occasion. Built to last too.",
        "Nothing in common here.",
    ]
    top = repeated_phrases(texts, top=5)
    assert top[0] == ("perfect for any occasion", 3)
    assert ("built to last", 2) in top
    assert all(p not in {"perfect for", "any occasion"} for p, _ in top)  # dominated by the longer phrase
    assert all(not p.startswith(("and ", "for ")) for p, _ in top)


def test_shared_phrases() -> None:
    assert shared_phrases("Perfect for any occasion, this mug", ["A lamp perfect for any occasion."]) == ["perfect for any occasion"]
    assert shared_phrases("Short text", ["Other"]) == []


def test_bullet_markers_are_stripped_but_leading_measurements_kept() -> None:
    from copyloop.tools.text import bullet_items

    text = "15.2. FLEX: bamboo core\n8.x Domez figures\n1.Urui figure\n2) FUN: dice\n8.5 inches tall\n3.5mm jack included"
    assert bullet_items(text) == ["FLEX: bamboo core", "Domez figures", "Urui figure", "FUN: dice", "8.5 inches tall", "3.5mm jack included"]
