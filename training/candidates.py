"""Candidate targets sampled from the base model, with the serving drafter, cached on disk.

Sampling is the slow part of fine-tuning (a 135M model on shared CPU cores), so every
(product, channel) record is appended to a JSONL cache as soon as it is drawn: an interrupted run
resumes where it stopped, and a re-run with the same settings costs nothing. The cache key covers
what changes the draws (model file, seed, count per prompt).

Candidates come from ``copyloop.agents.drafter.Drafter`` itself (grammar, angles, temperatures,
post-processing), and the exemplars from the same retrieval a fresh install does (a store seeded
with the bundled exemplars), so what we train on is what serving would have produced.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from copyloop.errors import LLMOutputError
from copyloop.tools.schemas import ProductBrief

log = logging.getLogger(__name__)

EXEMPLARS_K = 4  # what the graph's retrieve node asks for (RunContext.exemplars_k)


@dataclass
class CandidateRecord:
    """The candidates for one product and channel, and the exemplars their prompt showed."""

    product_id: str
    channel: str
    exemplars: list[str]
    candidates: list[dict[str, Any]] = field(default_factory=list)  # {text, angle, temperature, candidate}
    seconds: float = 0.0
    error: str | None = None
    templates: str = ""

    def to_json(self) -> str:
        return json.dumps(self.__dict__, ensure_ascii=False)

    @classmethod
    def from_json(cls, line: str) -> "CandidateRecord":
        return cls(**json.loads(line))


def retrieve_exemplars(store: Any, product: ProductBrief, channel: str, k: int = EXEMPLARS_K) -> list[str]:
    """Exemplar texts for the prompt, exactly as the refinement graph retrieves them.

    We call the graph's own ``retrieve`` node (it only reads the product, the channel, the store
    and ``exemplars_k``) instead of re-implementing its query, so training prompts follow any
    change to how serving retrieves.
    """
    from types import SimpleNamespace

    from copyloop.graph.nodes import retrieve

    state = SimpleNamespace(product=product, channel=channel)
    runtime = SimpleNamespace(context=SimpleNamespace(store=store, exemplars_k=k))
    return list(retrieve(state, runtime)["exemplars"])  # type: ignore[arg-type]


def templates_fingerprint() -> str:
    """Hash of what shapes the drafter's prompt (templates, grammars and the worked examples).

    Recorded with each cached record so a reader can tell which prompt version drew it; it is
    not part of the cache key (see ``cache_key``)."""
    from copyloop.prompts import PROMPTS_DIR

    digest = hashlib.sha256()
    paths = sorted(PROMPTS_DIR.glob("draft_*.j2")) + sorted(PROMPTS_DIR.glob("draft_*.yaml")) + sorted(PROMPTS_DIR.glob("grammar_*.j2"))
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def cache_key(*, model_path: Path, n: int, seed: int) -> str:
    """What changes the sampler's draws for a given (product, channel), hashed.

    Records are keyed by (product id, channel) inside the file, so other channels or more
    products extend the same cache. The prompt templates are not part of the key on purpose:
    training prompts are always rendered afresh with ``build_messages``, so a cached text stays a
    valid target after a wording change (each record notes the template hash it was drawn with).
    """
    stat = Path(model_path).stat()
    raw = json.dumps({"model": [Path(model_path).name, stat.st_size], "n": n, "seed": seed}, sort_keys=True)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def product_seed(seed: int, product_id: str) -> int:
    """A per-product seed that does not depend on the product's position in any list."""
    return seed + int(hashlib.sha256(product_id.encode()).hexdigest()[:6], 16)


class CandidateCache:
    """Append-only JSONL of ``CandidateRecord`` keyed by (product id, channel)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.records: dict[tuple[str, str], CandidateRecord] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                try:
                    rec = CandidateRecord.from_json(line)
                except (json.JSONDecodeError, TypeError):
                    log.warning("skipping a corrupt line in %s (a run was probably killed mid-write)", self.path)
                    continue
                self.records[(rec.product_id, rec.channel)] = rec

    def get(self, product_id: str, channel: str) -> CandidateRecord | None:
        return self.records.get((product_id, channel))

    def add(self, record: CandidateRecord) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(record.to_json() + "\n")
        self.records[(record.product_id, record.channel)] = record


def sample_candidates(
    products: Sequence[ProductBrief],
    channels: Sequence[str],
    *,
    drafter: Any,
    registry: Any,
    store: Any,
    cache: CandidateCache,
    n: int,
    seed: int,
    progress: Callable[[int], None] | None = None,
    deadline: float | None = None,
) -> list[CandidateRecord]:
    """Candidates for every (product, channel), from the cache when present, else drawn now.

    Each product's seed comes from its id (``product_seed``; candidate ``i`` then adds ``i``
    inside the drafter), so a record does not depend on which others were drawn before it.
    ``deadline`` (a ``time.time()`` value) stops drawing new records once passed; cached records
    are still returned, so a budgeted cold run trains on fewer products and a re-run continues
    sampling where it stopped.
    """
    out: list[CandidateRecord] = []
    templates = templates_fingerprint()
    for product in products:
        pid = str(product.id)
        for channel in channels:
            rec = cache.get(pid, channel)
            if rec is None and deadline is not None and time.time() >= deadline:
                if progress is not None:
                    progress(1)
                continue
            if rec is None:
                spec = registry.get(channel)
                exemplars = retrieve_exemplars(store, product, channel)
                started = time.perf_counter()
                rec = CandidateRecord(pid, channel, exemplars, templates=templates)
                try:
                    drafts = drafter.draft(product, spec, n=n, seed=product_seed(seed, pid), exemplars=exemplars)
                    rec.candidates = [
                        {"text": d.text, "angle": d.angle, "temperature": d.temperature, "candidate": d.candidate} for d in drafts
                    ]
                except LLMOutputError as exc:
                    rec.error = str(exc)[:300]
                rec.seconds = round(time.perf_counter() - started, 3)
                cache.add(rec)
            out.append(rec)
            if progress is not None:
                progress(1)
    return out


def iter_texts(records: Iterable[CandidateRecord]) -> Iterable[str]:
    for rec in records:
        for cand in rec.candidates:
            yield cand["text"]


__all__ = [
    "CandidateCache",
    "CandidateRecord",
    "EXEMPLARS_K",
    "cache_key",
    "iter_texts",
    "product_seed",
    "retrieve_exemplars",
    "sample_candidates",
    "templates_fingerprint",
]
