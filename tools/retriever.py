"""The store of past high-converting copy as a LangChain retriever and tool (issue #12).

Any LangChain app can use copyloop's ChromaDB store the way LangChain apps use retrievers:

>>> retriever = CopyStore.from_settings(Settings()).as_retriever(channel="product_description", k=3)
>>> retriever.invoke("cast iron skillet")        # list[Document], best first
>>> tool = CopyStore.from_settings(Settings()).as_tool()   # for an agent

and the refinement graph's own ``retrieve`` node calls it exactly like that. Each ``Document``
carries the copy as ``page_content`` and its channel, category, observed performance and
similarity as metadata. Ranking, the same-category-first rule and de-duplication stay in
``CopyStore.search``; this class only adapts it to ``BaseRetriever``.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field


class CopyStoreRetriever(BaseRetriever):
    """``BaseRetriever`` over ``copyloop.tools.store.CopyStore``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: Any = Field(..., description="a CopyStore (or anything with its search method)")
    channel: str | None = Field(None, description="only copy written for this channel")
    category: str | None = Field(None, description="same top-level category first")
    k: int = Field(4, ge=1, le=50, description="how many documents")

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        hits = self.store.search(query, channel=self.channel, category=self.category, k=self.k)
        return [
            Document(
                page_content=h.text,
                id=getattr(h, "id", None) or None,
                metadata={
                    "channel": getattr(h, "channel", self.channel or ""),
                    "category": getattr(h, "category", ""),
                    "performance": float(getattr(h, "performance", 0.0)),
                    "similarity": float(getattr(h, "similarity", 0.0)),
                    "same_category": bool(getattr(h, "same_category", False)),
                },
            )
            for h in hits
        ]


def copy_retriever_tool(store: Any, *, channel: str | None = None, k: int = 4) -> Any:
    """The store as a LangChain tool an agent can call with a query."""
    from langchain_core.tools import create_retriever_tool

    return create_retriever_tool(
        CopyStoreRetriever(store=store, channel=channel, k=k),
        name="past_high_converting_copy",
        description=(
            "Search past marketing copy that performed well in A/B tests (CTR/CVR), for style and structure. "
            "Input: a product title and category. The copy is about other products: never copy its facts."
        ),
    )


__all__ = ["CopyStoreRetriever", "copy_retriever_tool"]
