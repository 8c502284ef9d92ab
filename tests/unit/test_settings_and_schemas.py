"""Settings sources and the edge models validate untrusted input."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from copyloop.settings import Settings
from copyloop.tools.schemas import MAX_FACT_CHARS, MAX_TITLE_CHARS, ProductBrief


def test_env_overrides_nested_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_LLM__N_CTX", "4096")
    monkeypatch.setenv("COPYLOOP_REFINE__THRESHOLD", "0.7")
    s = Settings()
    assert s.llm.n_ctx == 4096
    assert s.refine.threshold == 0.7


def test_slack_conventional_env_names_and_secret_masking(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    s = Settings()
    assert s.slack.bot_token is not None and s.slack.bot_token.get_secret_value() == "xoxb-very-secret"
    assert "xoxb-very-secret" not in repr(s) and "xoxb-very-secret" not in s.model_dump_json()
    assert s.slack.api_url == "http://127.0.0.1:9/api/"


def test_toml_file_is_read_and_env_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "copyloop.toml"
    cfg.write_text('[refine]\nthreshold = 0.42\nmax_iterations = 5\n[channels.tiny]\nbase = "sms"\nmax_chars = 40\n')
    monkeypatch.setenv("COPYLOOP_CONFIG", str(cfg))
    monkeypatch.setenv("COPYLOOP_REFINE__MAX_ITERATIONS", "2")
    s = Settings()
    assert s.refine.threshold == 0.42
    assert s.refine.max_iterations == 2
    assert s.channels["tiny"]["max_chars"] == 40


def test_invalid_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_REFINE__THRESHOLD", "1.5")
    with pytest.raises(ValidationError, match="threshold"):
        Settings()


def test_home_defaults_to_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_HOME", str(tmp_path))
    s = Settings()
    assert s.chroma_path() == tmp_path / "chroma"
    assert s.checkpoint_path() == tmp_path / "sessions.sqlite"


@pytest.mark.parametrize("title", [None, "", "   "])
def test_product_requires_title(title: str | None) -> None:
    with pytest.raises(ValidationError, match="title is required"):
        ProductBrief.model_validate({"title": title, "facts": ["x"]})


def test_product_oversized_fields_are_truncated_with_warning() -> None:
    huge = "word " * 200_000  # ~1 MB
    p = ProductBrief(title=huge, facts=[huge, "  ", "Made of bamboo"], description=huge)
    assert len(p.title) <= MAX_TITLE_CHARS
    assert len(p.facts) == 2 and len(p.facts[0]) <= MAX_FACT_CHARS
    assert not p.title.endswith("wor")  # never cut inside a word
    assert any("title truncated" in w for w in p.warnings)
    assert any("description truncated" in w for w in p.warnings)


def test_product_facts_accept_mapping_and_string() -> None:
    assert ProductBrief(title="T", facts={"Material": "bamboo"}).facts == ["Material: bamboo"]
    assert ProductBrief(title="T", facts="Ages 3+").facts == ["Ages 3+"]


def test_fact_text_contains_every_source() -> None:
    p = ProductBrief(title="Longboard", category="Sports", facts=["41 inch deck"], price="$99", description="Bamboo core")
    text = p.fact_text()
    for part in ("Longboard", "Sports", "41 inch deck", "$99", "Bamboo core"):
        assert part in text
