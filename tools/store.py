"""Retrieval store: past marketing copy with its outcomes, in ChromaDB.

The drafter imitates what it is shown, so retrieval must return copy that (a) is for the same
channel, (b) preferably sells the same kind of product and (c) actually performed. Records carry a
``performance`` in [0, 1]: the given ``score`` or, for CTRs, the record's percentile among the
CTRs of its channel (raw CTRs of different channels are not comparable; a 3% email open rate and
a 3% ad CTR mean different things). Search filters by channel, tries the product's top-level
category first and falls back to the whole channel, and ranks by a blend of similarity and
performance.

Embeddings come from our own MiniLM (``copyloop.tools.embeddings``), wrapped as a ChromaDB
embedding function so the model is loaded once per process and shared with the critics; Chroma's
default embedding function downloads a model and is never used. Telemetry is off.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence
from urllib.parse import urlparse

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from copyloop.errors import CopyloopError, InputError
from copyloop.tools.embeddings import Embedder, load_embedder

log = logging.getLogger(__name__)

#: weight of performance against similarity when ranking exemplars (similarity gets the rest)
PERFORMANCE_WEIGHT = 0.35
#: two results whose embeddings are closer than this count as the same copy
DUPLICATE_COSINE = 0.97
#: performance of a record with neither CTR nor score (unknown, so neutral)
UNKNOWN_PERFORMANCE = 0.5
MAX_COPY_CHARS = 5000
_ADD_BATCH = 256


class StoreError(CopyloopError):
    """The retrieval store could not be opened or queried (bad path, server unreachable)."""


def top_category(category: str) -> str:
    """The top-level category of a path like ``"Toys & Games | Puzzles"``, case-folded for matching."""
    for sep in ("|", ">", "/"):
        if sep in category:
            category = category.split(sep, 1)[0]
            break
    return " ".join(category.split()).casefold()


def copy_id(channel: str, text: str) -> str:
    """Deterministic id of a record: the same copy for the same channel is indexed once."""
    norm = " ".join(text.split()).casefold()
    return "pc-" + hashlib.sha256(f"{channel}\n{norm}".encode("utf-8")).hexdigest()[:24]


class PastCopy(BaseModel):
    """One piece of copy that ran somewhere, with its outcome (CTR and/or a 0–1 score)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    text: str = Field(..., min_length=1, max_length=MAX_COPY_CHARS, description="the copy as it ran")
    channel: str = Field(..., min_length=1, description="channel name, e.g. google_ads_headline")
    category: str = Field("", description="product category or path 'A | B | C'")
    ctr: float | None = Field(None, ge=0.0, le=1.0, description="click-through rate as a fraction (0.032, or '3.2%')")
    score: float | None = Field(None, ge=0.0, le=1.0, description="any 0–1 performance score; wins over ctr")
    id: str | None = Field(None, description="stable id; default: hash of channel and text")
    source: str = Field("api", description="where the record came from (file name, 'bundled', ...)")

    @field_validator("ctr", "score", mode="before")
    @classmethod
    def _number(cls, v: Any) -> Any:
        """Accept '', None, numbers and percentages ('3.2%'); reject NaN."""
        if v is None or (isinstance(v, str) and not v.strip()):
            return None
        if isinstance(v, str):
            s = v.strip()
            if s.endswith("%"):
                return float(s[:-1]) / 100.0
            return float(s)
        if isinstance(v, float) and math.isnan(v):
            return None
        return v

    @field_validator("text")
    @classmethod
    def _text(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("text must not be empty")
        return v

    @field_validator("channel")
    @classmethod
    def _channel(cls, v: str) -> str:
        return v.strip().lower()

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, v: Any) -> Any:
        if v is None or not str(v).strip():
            return None
        return str(v).strip()

    @model_validator(mode="after")
    def _default_id(self) -> "PastCopy":
        if self.id is None:
            self.id = copy_id(self.channel, self.text)
        return self


class Exemplar(BaseModel):
    """A retrieved piece of past copy, ready to be shown to the drafter and the critics."""

    text: str
    channel: str
    category: str = ""
    performance: float = Field(..., ge=0.0, le=1.0, description="0–1, higher performed better")
    similarity: float = Field(..., description="cosine similarity to the query")
    id: str = ""
    rank_score: float = Field(0.0, description="the blend used to rank")
    same_category: bool = False


@dataclass
class IndexReport:
    """What an ``add`` did: new records embedded, existing ones only re-labelled."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged


@register_embedding_function
class CopyloopEmbeddingFunction(EmbeddingFunction[Documents]):
    """ChromaDB embedding function over our process-wide MiniLM (no downloads, loaded lazily)."""

    def __init__(self, embedder: Embedder | None = None, model_path: str | None = None) -> None:
        self._embedder = embedder
        self._model_path = str(embedder.model_path) if embedder is not None else model_path

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = load_embedder(self._model_path)
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self.embedder.encode(list(input)))

    @staticmethod
    def name() -> str:
        return "copyloop-minilm"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def supported_spaces(self) -> list[str]:  # type: ignore[override]
        return ["cosine"]

    def get_config(self) -> dict[str, Any]:
        return {"model_path": self._model_path}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> "CopyloopEmbeddingFunction":
        return CopyloopEmbeddingFunction(model_path=config.get("model_path"))


def _client(path: Path | None, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url if "://" in url else f"http://{url}")
        if not parsed.hostname:
            raise StoreError(f"ChromaDB URL has no host: {url!r}")
        ssl = parsed.scheme == "https"
        port = parsed.port or (443 if ssl else 8000)
        try:
            return chromadb.HttpClient(host=parsed.hostname, port=port, ssl=ssl, settings=settings)
        except ValueError as exc:  # chromadb raises ValueError when the server is unreachable
            raise StoreError(f"cannot reach ChromaDB server at {url}: {exc}") from exc
    if path is None:
        raise StoreError("CopyStore needs a path or a url")
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise StoreError(f"ChromaDB path is a file, not a folder: {path}")
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def _percentiles(values: Sequence[float]) -> list[float]:
    """Mid-rank percentile of each value in (0, 1); ties share a value, one value gives 0.5."""
    arr = np.asarray(values, dtype=float)
    n = len(arr)
    if n == 0:
        return []
    order = np.argsort(arr, kind="mergesort")
    ranks = np.empty(n, dtype=float)
    i = 0
    while i < n:
        j = i
        while j + 1 < n and arr[order[j + 1]] == arr[order[i]]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2.0 + 0.5
        i = j + 1
    return [round(float(r / n), 6) for r in ranks]


class CopyStore:
    """Past copy with outcomes in a ChromaDB collection (embedded by default, a server if ``url``).

    Records are keyed by ``PastCopy.id`` (a hash of channel and text unless given), so indexing
    the same file twice changes nothing. Adding records re-ranks the CTR percentiles of the
    channels touched.
    """

    def __init__(
        self,
        path: Path | str | None = None,
        url: str | None = None,
        collection: str = "past_copy",
        embedder: Embedder | None = None,
        *,
        embedding_model_path: Path | str | None = None,
    ) -> None:
        if path is None and not url:
            raise StoreError("CopyStore needs a path or a url (CopyStore.from_settings uses <home>/chroma)")
        self.path = Path(path) if path is not None and not url else None
        self.url = url or None
        self.collection_name = collection
        self.embedding_function = CopyloopEmbeddingFunction(
            embedder, str(embedding_model_path) if embedding_model_path else None
        )
        with _dir_lock(self.path):  # embedded Chroma races when two processes create one store
            self._client = _client(self.path, self.url)
            self._collection = self._open()

    @classmethod
    def from_settings(cls, settings: Any, embedder: Embedder | None = None) -> "CopyStore":
        """Build from ``copyloop.settings.Settings`` (typed loosely: tools may not import the front door)."""
        return cls(
            path=settings.chroma_path(),
            url=settings.store.chroma_url,
            collection=settings.store.collection,
            embedder=embedder,
            embedding_model_path=settings.embeddings.model_path,
        )

    def _open(self) -> Any:
        try:
            return self._client.get_or_create_collection(
                self.collection_name,
                embedding_function=self.embedding_function,
                configuration={"hnsw": {"space": "cosine"}},
                metadata={"copyloop": "past copy with outcomes"},
            )
        except ValueError as exc:  # bad name, or a collection made with another embedding function
            raise StoreError(f"cannot open collection {self.collection_name!r}: {exc}") from exc

    @property
    def embedder(self) -> Embedder:
        """The embedder used for the store (shared with the critics)."""
        return self.embedding_function.embedder

    def __repr__(self) -> str:
        where = self.url or str(self.path)
        return f"CopyStore({where!r}, collection={self.collection_name!r})"

    # ------------------------------------------------------------------------------------ write
    def count(self, channel: str | None = None) -> int:
        """Number of records (in one channel if given)."""
        if channel is None:
            return int(self._collection.count())
        got = self._collection.get(where={"channel": channel.lower()}, include=[])
        return len(got["ids"])

    def add(self, records: Iterable[PastCopy | dict[str, Any]]) -> int:
        """Upsert records; returns how many were given (see ``add_report`` for the breakdown)."""
        return self.add_report(records).total

    def add_report(self, records: Iterable[PastCopy | dict[str, Any]]) -> IndexReport:
        """Upsert records, embedding only new or changed text; re-rank CTR percentiles."""
        report = IndexReport()
        batch: dict[str, PastCopy] = {}
        channels: set[str] = set()
        for rec in records:
            item = rec if isinstance(rec, PastCopy) else PastCopy.model_validate(rec)
            assert item.id is not None
            batch[item.id] = item  # later duplicates in the same call win
            channels.add(item.channel)
            if len(batch) >= _ADD_BATCH:
                channels |= self._write(list(batch.values()), report)
                batch = {}
        if batch:
            channels |= self._write(list(batch.values()), report)
        for channel in sorted(channels):
            self._rerank_channel(channel)
        return report

    def _write(self, items: list[PastCopy], report: IndexReport) -> set[str]:
        """Store one batch; returns channels that records moved away from."""
        ids = [str(i.id) for i in items]
        moved: set[str] = set()
        existing = self._collection.get(ids=ids, include=["documents", "metadatas"])
        known = {i: (d, m) for i, d, m in zip(existing["ids"], existing["documents"], existing["metadatas"])}
        new, relabel = [], []
        for item in items:
            meta = self._metadata(item)
            old = known.get(str(item.id))
            old_meta = dict(old[1] or {}) if old is not None else {}
            if old_meta.get("channel") and old_meta["channel"] != item.channel:
                moved.add(str(old_meta["channel"]))  # its old channel's percentiles change too
            if old is None or old[0] != item.text:
                # Chroma merges metadata on upsert/update; None deletes a key the new record lacks
                new.append((item, {**{k: None for k in old_meta if k not in meta}, **meta}))
                continue
            if meta["perf_source"] == "ctr":
                # keep the percentile already computed; _rerank_channel refreshes it
                meta["performance"] = old_meta.get("performance", meta["performance"])
            if old_meta == meta:
                report.unchanged += 1
                continue
            relabel.append((item, {**{k: None for k in old_meta if k not in meta}, **meta}))
        if new:
            self._collection.upsert(
                ids=[str(i.id) for i, _ in new], documents=[i.text for i, _ in new], metadatas=[m for _, m in new]
            )
            report.added += len(new)
        if relabel:
            self._collection.update(ids=[str(i.id) for i, _ in relabel], metadatas=[m for _, m in relabel])
            report.updated += len(relabel)
        return moved

    @staticmethod
    def _metadata(item: PastCopy) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "channel": item.channel,
            "category": item.category,
            "category_top": top_category(item.category),
            "source": item.source,
        }
        if item.score is not None:
            meta["performance"] = float(item.score)
            meta["perf_source"] = "score"
        elif item.ctr is not None:
            meta["performance"] = UNKNOWN_PERFORMANCE  # replaced by the channel percentile
            meta["perf_source"] = "ctr"
        else:
            meta["performance"] = UNKNOWN_PERFORMANCE
            meta["perf_source"] = "none"
        if item.ctr is not None:
            meta["ctr"] = float(item.ctr)
        if item.score is not None:
            meta["score"] = float(item.score)
        return meta

    def _rerank_channel(self, channel: str) -> None:
        """Set each CTR record's performance to its CTR percentile within the channel."""
        got = self._collection.get(
            where={"$and": [{"channel": channel}, {"perf_source": "ctr"}]}, include=["metadatas"]
        )
        if not got["ids"]:
            return
        metas = got["metadatas"]
        pct = _percentiles([float(m["ctr"]) for m in metas])
        ids, new_metas = [], []
        for rid, meta, p in zip(got["ids"], metas, pct):
            if meta.get("performance") != p:
                ids.append(rid)
                new_metas.append({**meta, "performance": p})
        for start in range(0, len(ids), _ADD_BATCH):
            self._collection.update(ids=ids[start : start + _ADD_BATCH], metadatas=new_metas[start : start + _ADD_BATCH])

    def delete(self, channel: str | None = None) -> int:
        """Remove every record (of one channel if given); returns how many were removed."""
        before = self.count()
        if channel is None:
            self._client.delete_collection(self.collection_name)
            self._collection = self._open()
        else:
            self._collection.delete(where={"channel": channel.lower()})
        return before - self.count()

    # ------------------------------------------------------------------------------------- read
    def as_retriever(self, channel: str | None = None, category: str | None = None, k: int = 4) -> Any:
        """This store as a LangChain ``BaseRetriever`` (``copyloop.tools.retriever``)."""
        from copyloop.tools.retriever import CopyStoreRetriever

        return CopyStoreRetriever(store=self, channel=channel, category=category, k=k)

    def as_tool(self, channel: str | None = None, k: int = 4) -> Any:
        """This store as a LangChain tool (a retriever tool an agent can call)."""
        from copyloop.tools.retriever import copy_retriever_tool

        return copy_retriever_tool(self, channel=channel, k=k)

    def search(
        self, query: str, channel: str | None = None, category: str | None = None, k: int = 4
    ) -> list[Exemplar]:
        """Up to ``k`` distinct exemplars for ``query``, best first.

        Filters by ``channel``; when ``category`` is given, same-top-level-category copy comes
        first and the rest of the channel only fills the remaining places. Within each group,
        results are ranked by ``(1 - w) * similarity + w * performance``.
        """
        if k <= 0 or not query.strip():
            return []
        qvec = self.embedder.encode([query])[0]
        base: dict[str, Any] | None = {"channel": channel.lower()} if channel else None
        chosen: list[tuple[Exemplar, np.ndarray]] = []
        top = top_category(category) if category else ""
        if top:
            cat_filter = {"category_top": top}
            where = {"$and": [base, cat_filter]} if base else cat_filter
            self._collect(qvec, where, k, chosen, same_category=True)
        if len(chosen) < k:
            self._collect(qvec, base, k, chosen, same_category=False)
        return [e for e, _ in chosen[:k]]

    def _collect(
        self,
        qvec: np.ndarray,
        where: dict[str, Any] | None,
        k: int,
        chosen: list[tuple[Exemplar, np.ndarray]],
        *,
        same_category: bool,
    ) -> None:
        total = self._collection.count()
        if total == 0:
            return
        # over-fetch: performance can lift a less similar record, and duplicates are dropped
        n = min(total, max(4 * k, 24))
        res = self._query(qvec, n, where)
        ids, docs, metas = res["ids"][0], res["documents"][0], res["metadatas"][0]
        dists, embs = res["distances"][0], res["embeddings"][0]
        scored: list[tuple[Exemplar, np.ndarray]] = []
        for rid, doc, meta, dist, emb in zip(ids, docs, metas, dists, embs):
            sim = 1.0 - float(dist)
            perf = float(meta.get("performance", UNKNOWN_PERFORMANCE))
            ex = Exemplar(
                text=doc,
                channel=str(meta.get("channel", "")),
                category=str(meta.get("category", "")),
                performance=min(1.0, max(0.0, perf)),
                similarity=round(sim, 6),
                id=rid,
                rank_score=round((1 - PERFORMANCE_WEIGHT) * sim + PERFORMANCE_WEIGHT * perf, 6),
                same_category=same_category,
            )
            scored.append((ex, np.asarray(emb, dtype=np.float32)))
        scored.sort(key=lambda t: (-t[0].rank_score, t[0].id))
        for ex, emb in scored:
            if len(chosen) >= k:
                return
            if any(ex.id == c.id or float(np.dot(emb, cemb)) >= DUPLICATE_COSINE for c, cemb in chosen):
                continue
            chosen.append((ex, emb))

    def _query(self, qvec: np.ndarray, n: int, where: dict[str, Any] | None) -> Any:
        """Query, reopening the store once if another process changed it under our cached index."""
        from chromadb.errors import InternalError

        kwargs = {
            "query_embeddings": [qvec.tolist()],
            "n_results": n,
            "where": where,
            "include": ["documents", "metadatas", "distances", "embeddings"],
        }
        try:
            return self._collection.query(**kwargs)
        except InternalError as exc:
            log.warning("ChromaDB query failed (%s); reopening %s and retrying once", exc, self)
            self._reopen()
            try:
                return self._collection.query(**kwargs)
            except InternalError as exc2:
                raise StoreError(f"ChromaDB query failed on {self}: {exc2}") from exc2

    def _reopen(self) -> None:
        """Drop this process's cached Chroma system for the store and open it again.

        An embedded Chroma keeps its vector index in memory per process; when another process
        (``copyloop index`` during a batch) writes, the cached index can go stale.
        """
        if self.path is not None:
            from chromadb.api.shared_system_client import SharedSystemClient

            ident = getattr(self._client, "_identifier", None)
            systems = getattr(SharedSystemClient, "_identifier_to_system", None)
            if ident is None or not isinstance(systems, dict):
                raise StoreError(f"cannot reopen {self}: unsupported chromadb client internals")
            system = systems.pop(ident, None)
            getattr(SharedSystemClient, "_identifier_to_refcount", {}).pop(ident, None)
            if system is not None:
                system.stop()
        with _dir_lock(self.path):
            self._client = _client(self.path, self.url)
            self._collection = self._open()

    # ------------------------------------------------------------------------------- seeding
    def ensure_seeded(self) -> int:
        """Load the bundled exemplars when the collection is empty; returns how many were added.

        Batch workers open the same store at once: an exclusive file lock in an embedded store's
        folder makes exactly one of them seed while the others wait and then find it full.
        """
        if self.count() > 0:
            return 0
        with _dir_lock(self.path):
            if self.count() > 0:
                return 0
            return self.add(load_bundled_exemplars())


@contextmanager
def _dir_lock(path: Path | None) -> Iterator[None]:
    """Exclusive lock on an embedded store's folder (creation, seeding); no-op for a server."""
    if path is None:  # a server serialises writes itself
        yield
        return
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise StoreError(f"ChromaDB path is a file, not a folder: {path}")
    path.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    with open(path / ".copyloop.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def load_bundled_exemplars() -> list[PastCopy]:
    """The exemplars shipped in ``copyloop/data/exemplars.jsonl``."""
    text = resources.files("copyloop").joinpath("data/exemplars.jsonl").read_text(encoding="utf-8")
    records = []
    for line in text.splitlines():
        if not line.strip():
            continue
        data = json.loads(line)
        data.setdefault("source", "bundled")
        records.append(PastCopy.model_validate(data))
    return records


# -------------------------------------------------------------------------- reading past copy
@dataclass
class PastCopyRow:
    """One input line of a past-copy file: a record, or why it was rejected."""

    line: int
    record: PastCopy | None = None
    error: str | None = None


def _describe(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "record"
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return "; ".join(parts)


def _row_to_record(data: dict[str, Any], default_channel: str | None, source: str) -> PastCopy:
    data = {str(k).strip().lower(): v for k, v in data.items() if k is not None}
    if not data.get("channel") and default_channel:
        data["channel"] = default_channel
    if data.get("ctr") in (None, "") and data.get("clicks") not in (None, "") and data.get("impressions") not in (None, ""):
        impressions = float(data["impressions"])
        if impressions <= 0:
            raise ValueError("impressions must be positive to compute ctr")
        data["ctr"] = float(data["clicks"]) / impressions
    data["source"] = source
    return PastCopy.model_validate(data)


def read_past_copy(path: Path | str, default_channel: str | None = None) -> Iterator[PastCopyRow]:
    """Read a CSV or JSONL file of past copy (text, channel, category, ctr or clicks+impressions, score).

    Bad rows come back with a reason instead of stopping the read. Raises ``InputError`` for a
    missing or empty file, or a CSV without a ``text`` column.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"past-copy file does not exist: {path}", field="path")
    raw = path.read_bytes()
    if not raw.strip():
        raise InputError(f"past-copy file is empty: {path}", field="path")
    text = raw.decode("utf-8-sig", errors="replace")
    if "\ufffd" in text and "\ufffd" not in raw.decode("utf-8", errors="ignore"):
        log.warning("%s is not valid UTF-8; undecodable bytes were replaced", path)
    source = path.name
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        yield from _read_past_jsonl(text, default_channel, source)
    else:
        yield from _read_past_csv(text, default_channel, source, path)


def _read_past_jsonl(text: str, default_channel: str | None, source: str) -> Iterator[PastCopyRow]:
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            yield PastCopyRow(line_no, error=f"invalid JSON: {exc.msg} at column {exc.colno}")
            continue
        if not isinstance(data, dict):
            yield PastCopyRow(line_no, error=f"expected a JSON object, got {type(data).__name__}")
            continue
        yield _validated(line_no, data, default_channel, source)


def _read_past_csv(text: str, default_channel: str | None, source: str, path: Path) -> Iterator[PastCopyRow]:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise InputError(f"past-copy file has no header row: {path}", field="path", line=1)
    names = [h.strip().lower() for h in header]
    if "text" not in names:
        raise InputError(
            f"past-copy CSV needs a 'text' column; found columns: {', '.join(names)}", field="text", line=1
        )
    if "channel" not in names and not default_channel:
        raise InputError(
            f"past-copy CSV has no 'channel' column and no default channel was given; found columns: {', '.join(names)}",
            field="channel",
            line=1,
        )
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield PastCopyRow(reader.line_num, error=f"malformed CSV: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(names):
            yield PastCopyRow(reader.line_num, error=f"expected {len(names)} fields, found {len(row)}")
            continue
        yield _validated(reader.line_num, dict(zip(names, row)), default_channel, source)


def _validated(line: int, data: dict[str, Any], default_channel: str | None, source: str) -> PastCopyRow:
    try:
        return PastCopyRow(line, record=_row_to_record(data, default_channel, source))
    except ValidationError as exc:
        return PastCopyRow(line, error=_describe(exc))
    except (TypeError, ValueError) as exc:
        return PastCopyRow(line, error=str(exc))


__all__ = [
    "CopyStore",
    "CopyloopEmbeddingFunction",
    "Exemplar",
    "IndexReport",
    "PastCopy",
    "PastCopyRow",
    "StoreError",
    "copy_id",
    "load_bundled_exemplars",
    "read_past_copy",
    "top_category",
]
