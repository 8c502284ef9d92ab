"""Any LangChain chat model as copyloop's LLM backend (issue #12).

A user with a bigger local model behind an OpenAI-compatible server (llama.cpp's server, Ollama,
vLLM, llama-cpp-python's ``llama_cpp.server``) drafts with it by setting::

    COPYLOOP_LLM__PROVIDER=openai
    COPYLOOP_LLM__BASE_URL=http://127.0.0.1:8080/v1
    COPYLOOP_LLM__MODEL=my-model            # the name the server knows it by
    COPYLOOP_LLM__API_KEY=...               # if the server wants one (never logged)

and the bundled llama-cpp drafter stays the default. ``ChatModelBackend`` wraps *any*
``BaseChatModel`` (``langchain_openai.ChatOpenAI`` for those servers, a LangChain fake chat model in
tests) behind the ``LLMBackend`` protocol the drafter uses.

Grammars: llama.cpp-family servers accept a GBNF ``grammar`` field in the request body, so the
grammar is sent there when ``grammar_field`` is set (``COPYLOOP_LLM__SEND_GRAMMAR``, on by
default); servers that do not know the field (vLLM, OpenAI) get none, and the drafter's validation,
repair and retries do that work, as for any unconstrained model.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from copyloop.agents.llm import Message
from copyloop.errors import DependencyError


def to_langchain(messages: Sequence[Message]) -> list[Any]:
    """copyloop's chat messages ({"role", "content"} dicts) as LangChain message objects."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds.get(m["role"], HumanMessage)(content=m["content"]) for m in messages]


class ChatModelBackend:
    """``LLMBackend`` over a LangChain chat model; ``n`` completions use seeds ``seed + i``."""

    def __init__(self, model: Any, *, grammar_field: str | None = None, seed_field: bool = True) -> None:
        self.model = model
        self.grammar_field = grammar_field
        self.seed_field = seed_field
        self.tokens_generated = 0
        self.seconds_generating = 0.0
        self.calls = 0

    def generate(
        self,
        messages: Sequence[Message],
        n: int = 1,
        max_tokens: int = 200,
        temperature: float = 0.7,
        seed: int = 0,
        grammar: str | None = None,
        stop: Sequence[str] | None = None,
    ) -> list[str]:
        lc = to_langchain(messages)
        out: list[str] = []
        for i in range(n):
            kwargs: dict[str, Any] = {"max_tokens": int(max_tokens), "temperature": float(temperature)}
            if self.seed_field:
                kwargs["seed"] = int(seed + i) & 0x7FFFFFFF
            if grammar and self.grammar_field:
                kwargs["extra_body"] = {self.grammar_field: grammar}
            started = time.perf_counter()
            reply = self.model.invoke(lc, stop=list(stop) if stop else None, **kwargs)
            self.seconds_generating += time.perf_counter() - started
            usage = getattr(reply, "usage_metadata", None) or {}
            text = reply.content if isinstance(reply.content, str) else "".join(
                part.get("text", "") if isinstance(part, dict) else str(part) for part in reply.content
            )
            self.tokens_generated += int(usage.get("output_tokens", 0)) or len(text.split())
            out.append(text)
        self.calls += 1
        return out

    def tokens_per_second(self) -> float:
        return self.tokens_generated / self.seconds_generating if self.seconds_generating else 0.0

    def __repr__(self) -> str:
        return f"ChatModelBackend({type(self.model).__name__})"


def openai_backend(llm: Any) -> ChatModelBackend:
    """The backend ``LLMSettings`` describe for ``provider = "openai"`` (an OpenAI-compatible server)."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as exc:
        raise DependencyError(
            "langchain-openai",
            "llm.provider is 'openai', which needs the optional dependency: pip install 'copyloop[openai]'",
        ) from exc
    api_key = llm.api_key.get_secret_value() if llm.api_key is not None else "not-needed"
    model = ChatOpenAI(
        base_url=llm.base_url,
        api_key=api_key,
        model=llm.model,
        timeout=llm.request_timeout,
        max_retries=2,
    )
    return ChatModelBackend(model, grammar_field="grammar" if llm.send_grammar else None)


__all__ = ["ChatModelBackend", "openai_backend", "to_langchain"]
