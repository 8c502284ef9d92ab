"""Is a sentence about *this* product? Its MiniLM similarity to the product's data, against the
closest of a few hundred other products' data (issue #11).

A seller's statement is about its product by construction, yet some read like anything
("It includes instructions and game variations.", "Fade-resistant materials stand up to outdoor
play."): closer in meaning to another product's data than to this one's. The drafter plans the
facts whose sentences are *topical* first and uses the others only when it needs them. The
reference products are the catalog's training products (``copyloop.training.reference_products``
builds ``agents/artifacts/reference_products.npz``); without that file, or without an embedder,
topicality is simply not used.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from copyloop.tools.schemas import ProductBrief

log = logging.getLogger(__name__)

REFERENCE_PATH = Path(__file__).resolve().parent / "artifacts" / "reference_products.npz"
SAME_PRODUCT = 0.97
"""A reference this similar to the product's own data is the product itself: skipped."""
_LOCK = threading.Lock()


def product_data_text(product: ProductBrief) -> str:
    """The text a product is embedded as (title, category, brand, price, facts, description)."""
    return product.fact_text()[:2000]


@lru_cache(maxsize=4)
def _reference(path: str) -> np.ndarray | None:
    p = Path(path)
    if not p.is_file():
        return None
    with np.load(p) as data:
        return np.asarray(data["vectors"], dtype=np.float32)


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        log.warning(message)


def reference_vectors(path: Path | None = None) -> np.ndarray | None:
    """The other products' data embeddings (None when the artifact is missing)."""
    with _LOCK:
        return _reference(str(path or REFERENCE_PATH))


def margins(product: ProductBrief, sentences: Sequence[str], embedder: Any, reference: np.ndarray | None = None) -> list[float]:
    """For each sentence: similarity to this product's data minus the highest similarity to any
    other product's data (> 0: about this product). Empty when there is nothing to compare with."""
    ref = reference_vectors() if reference is None else reference
    if ref is None or embedder is None or not sentences:
        return []
    from copyloop.agents.critics import embed

    vecs = embed(embedder, [product_data_text(product), *sentences])
    own_doc, sent = vecs[0], vecs[1:]
    if own_doc.shape[0] != ref.shape[1]:
        # The reference was embedded by another model (a test double, or a user's own
        # embedder): its space is not comparable, so topicality has nothing to say.
        _warn_once(f"topicality off: the embedder gives {own_doc.shape[0]}-d vectors, the reference is {ref.shape[1]}-d")
        return []
    keep = (ref @ own_doc) < SAME_PRODUCT
    others = ref[keep] if keep.any() else ref
    own = sent @ own_doc
    other = (sent @ others.T).max(axis=1)
    return [float(x) for x in own - other]


__all__ = ["REFERENCE_PATH", "margins", "product_data_text", "reference_vectors"]
