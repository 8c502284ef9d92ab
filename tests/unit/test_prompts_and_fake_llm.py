"""The prompt loader fails loudly; the fake LLM scripts replies and records prompts."""

from __future__ import annotations

from pathlib import Path

import pytest

from copyloop import prompts
from copyloop.agents.llm import FakeLLM, LLMBackend
from copyloop.errors import TemplateError


def test_missing_template_names_the_path() -> None:
    with pytest.raises(TemplateError, match="not found"):
        prompts.render("no_such_template.j2")


def test_missing_variable_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "greet.j2").write_text("Hello {{ name }}")
    loader = prompts.PromptLoader(tmp_path)
    assert loader.render("greet.j2", name="Ada") == "Hello Ada"
    with pytest.raises(TemplateError, match="name"):
        loader.render("greet.j2")


def test_missing_asset_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=str(tmp_path)):
        prompts.PromptLoader(tmp_path).read("nope.gbnf")


def test_fake_llm_queue_then_default_and_history() -> None:
    llm = FakeLLM(default="fallback").enqueue("one", "two")
    assert isinstance(llm, LLMBackend)
    out = llm.generate([{"role": "user", "content": "write copy"}], n=3, seed=7)
    assert out == ["one", "two", "fallback"]
    assert llm.history[0].seed == 7 and llm.history[0].n == 3
    assert llm.last_prompt() == "write copy"


def test_fake_llm_callable_default_sees_the_prompt() -> None:
    llm = FakeLLM(default=lambda call, i: f"{call.messages[-1]['content']}#{i}")
    assert llm.generate([{"role": "user", "content": "hi"}], n=2) == ["hi#0", "hi#1"]
