"""Issue #12: LangChain conventions — the copy store as a retriever and a tool, any chat model as
the drafter's LLM, chat turns as messages (tests/unit/test_session.py)."""

from __future__ import annotations

import json
from importlib import resources

import pytest
from _refine_fakes import FakeScorer, FakeStore
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage
from langchain_core.retrievers import BaseRetriever

from copyloop.agents.chat_model_backend import ChatModelBackend, to_langchain
from copyloop.engine import Engine
from copyloop.settings import LLMSettings, Settings
from copyloop.tools.retriever import CopyStoreRetriever, copy_retriever_tool
from copyloop.tools.schemas import ProductBrief

SKILLET = ProductBrief(**json.loads(resources.files("copyloop").joinpath("data/sample_products.json").read_text())[1])


class SearchOnly:
    """A store with CopyStore's search signature (the retriever needs nothing else)."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def search(self, query, channel=None, category=None, k=4):  # noqa: ANN001, ANN201
        from types import SimpleNamespace

        self.calls.append((query, channel, category, k))
        return [SimpleNamespace(text=f"copy {i} for {query}", channel=channel or "", category="Home", performance=0.7,
                                similarity=0.5, id=f"id{i}", same_category=True) for i in range(k)]


def test_the_store_is_a_langchain_retriever_and_tool() -> None:
    store = SearchOnly()
    retriever = CopyStoreRetriever(store=store, channel="sms", category="Home & Kitchen", k=2)
    assert isinstance(retriever, BaseRetriever)
    docs = retriever.invoke("cast iron skillet")
    assert [d.page_content for d in docs] == ["copy 0 for cast iron skillet", "copy 1 for cast iron skillet"]
    assert docs[0].metadata["channel"] == "sms" and docs[0].metadata["performance"] == 0.7 and docs[0].id == "id0"
    assert store.calls == [("cast iron skillet", "sms", "Home & Kitchen", 2)]
    tool = copy_retriever_tool(store, channel="sms", k=1)
    assert tool.name == "past_high_converting_copy"
    assert "copy 0 for skillet" in tool.invoke({"query": "skillet"})


def test_the_graph_retrieves_through_the_retriever() -> None:
    class RetrieverStore(SearchOnly):
        def as_retriever(self, channel=None, category=None, k=4):  # noqa: ANN001, ANN201
            self.asked = (channel, category, k)
            return CopyStoreRetriever(store=self, channel=channel, category=category, k=k)

    store = RetrieverStore()
    engine = Engine(Settings(llm={"fact_samples": 0}), llm=None, scorer=FakeScorer(0.9), store=store)
    engine.refine(SKILLET, "google_ads_headline", max_iterations=1)
    assert store.asked == ("google_ads_headline", SKILLET.category, 4)


def test_any_langchain_chat_model_can_draft() -> None:
    model = GenericFakeChatModel(messages=iter([AIMessage(content=t) for t in ["one", "two", "three"]]))
    backend = ChatModelBackend(model)
    assert backend.generate([{"role": "user", "content": "hi"}], n=2, seed=1) == ["one", "two"]
    assert backend.tokens_generated == 2
    msgs = to_langchain([{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}])
    assert [m.type for m in msgs] == ["system", "human", "ai"]


def test_a_chat_model_drafts_revision_rounds_and_copy_stays_grounded() -> None:
    # the chat model wrongly invents in every sample: the plan drafter's checks keep it out of the copy
    model = GenericFakeChatModel(messages=iter([AIMessage(content="It is the best skillet ever, loved by chefs.")] * 200))
    engine = Engine(Settings(), llm=ChatModelBackend(model), scorer=FakeScorer(0.4), store=FakeStore())
    result = engine.refine(SKILLET, "product_description", threshold=0.9, max_iterations=2, candidates=2)
    assert result.iterations == 2 and "best" not in result.text and "chefs" not in result.text
    assert engine.llm.tokens_generated > 0  # revision rounds asked the chat model


def test_openai_provider_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="base_url"):
        LLMSettings(provider="openai")
    ok = LLMSettings(provider="openai", base_url="http://127.0.0.1:9/v1", api_key="sk-test")
    assert "sk-test" not in repr(ok) and ok.send_grammar


def test_openai_provider_builds_a_chat_openai_backend() -> None:
    ChatOpenAI = pytest.importorskip("langchain_openai", reason="the [openai] extra is not installed").ChatOpenAI

    settings = Settings(llm={"provider": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "smol"})
    backend = Engine(settings).llm
    assert isinstance(backend, ChatModelBackend) and isinstance(backend.model, ChatOpenAI)
    assert backend.grammar_field == "grammar" and backend.model.model_name == "smol"
