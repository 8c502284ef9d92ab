"""``copyloop finetune``: multi-objective fine-tuning of the drafter, end to end.

split catalog (fixed seed) → sample candidates with the serving drafter (cached) → add repaired
and seller-written candidates → score every candidate with the reward R_λ (scorer + critics,
hard filters) → reward-weighted SFT + DPO of a LoRA on the de-quantised base → export to a
llama.cpp GGUF adapter → check that llama-cpp serving it reproduces the trained logits.

Everything the run decided is written next to the adapter: ``<adapter>.json`` (config, data
counts, timings, rewards, logits agreement, split fingerprint) and ``<adapter>.heldout.txt``
(the held-out product ids that ``copyloop evaluate --ids`` should use).
"""

from __future__ import annotations

import json
import logging
import statistics
import tempfile
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Sequence

from pydantic import BaseModel, Field

from copyloop.errors import InputError
from copyloop.tools.schemas import ProductBrief
from copyloop.training.finetune_data import (
    DEFAULT_HELDOUT_FRACTION,
    DEFAULT_SPLIT_SEED,
    FINETUNE_CHANNELS,
    CatalogProduct,
    load_catalog,
    split_catalog,
    split_ids,
    training_order,
    write_ids,
)
from copyloop.training.lora_train import LoraTrainConfig, PreferencePair, SFTExample
from copyloop.training.reward import RewardWeights, combine, reward_from_critiques

log = logging.getLogger(__name__)

SELLER_ANGLE = "feature-led"  # seller bullets lead with features; their prompt uses that angle
RUN_TEXTS_WINDOW = 20  # how many other products' chosen copy the diversity critic compares with


class FinetuneConfig(BaseModel):
    """Everything ``copyloop finetune`` can change (defaults: the committed adapter's run)."""

    catalog: Path = Field(..., description="Amazon-style catalog CSV (uniq_id, product_name, about_product, ...)")
    out: Path | None = Field(None, description="adapter GGUF to write; default: the bundled drafter adapter path")
    cache_dir: Path = Field(Path(".cache/finetune"), description="sampled candidates and training scratch (gitignored)")
    channels: list[str] = Field(default_factory=lambda: list(FINETUNE_CHANNELS))
    train_products: int = Field(60, ge=1, description="train products to sample for (a seeded random prefix)")
    candidates: int = Field(4, ge=2, le=8, description="base-model samples per product and channel (one per angle)")
    seed: int = 0
    split_seed: int = DEFAULT_SPLIT_SEED
    heldout_fraction: float = Field(DEFAULT_HELDOUT_FRACTION, gt=0.0, lt=1.0)
    weights: RewardWeights = Field(default_factory=RewardWeights)
    seller_copy: bool = Field(True, description="add the seller's own bullets as candidates where the channel fits")
    repair: bool = Field(True, description="add candidates with unsupported claims removed (as the loop does)")
    min_margin: float = Field(0.1, ge=0.0, description="least reward gap between chosen and rejected for a DPO pair")
    sample_threads: int = Field(1, ge=1, description="llama.cpp threads while sampling")
    sample_minutes: float | None = Field(
        None, gt=0.0, description="stop drawing new candidates after this many minutes (cached ones still count); None: draw all"
    )
    lora: LoraTrainConfig = Field(default_factory=LoraTrainConfig)
    export_dtype: str = Field("f16", pattern="^(f16|f32)$")
    check_prompts: int = Field(3, ge=0, description="held-out prompts for the served-vs-trained logits check")
    sweep: list[float] = Field(default_factory=lambda: [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0])
    plot: Path | None = Field(None, description="PNG of the λ trade-off; default: <cache_dir>/lambda_tradeoff.png")
    dry_run: bool = Field(False, description="sample and score, print the data and the sweep, train nothing")
    task: Literal["draft", "realize"] = Field(
        "draft",
        description="draft: the free-form drafter's whole-copy prompts (the bundled adapter); realize: the plan-then-realise "
        "drafter's per-fact prompts (training/finetune_realize.py, written to realizer_lora.gguf by default)",
    )

    def adapter_path(self) -> Path:
        if self.out is not None:
            return Path(self.out)
        from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH

        return DEFAULT_ADAPTER_PATH


# --- scored candidates -----------------------------------------------------------------------------


@dataclass
class Candidate:
    """One candidate text of a group with the weight-free parts of its reward."""

    text: str
    angle: str
    source: str  # llm | repair | seller
    conversion: float
    diversity: float
    sentiment: float
    cta: float
    hard_pass: bool
    failed_hard: list[str]
    unsupported: bool

    def reward(self, weights: RewardWeights, category: str) -> float:
        return combine(self.conversion, self.diversity, self.sentiment, self.cta, self.hard_pass, weights, category)


@dataclass
class Group:
    """All candidates for one product and channel (one prompt family)."""

    product: ProductBrief
    channel: str
    exemplars: list[str]
    candidates: list[Candidate] = field(default_factory=list)

    def ranked(self, weights: RewardWeights) -> list[tuple[float, Candidate]]:
        scored = [(c.reward(weights, self.product.category), c) for c in self.candidates]
        return sorted(scored, key=lambda rc: (-rc[0], rc[1].text))


def seller_text(bullets: Sequence[str], spec: Any) -> str:
    """The seller's bullets shaped for a channel ("" when the channel does not fit them)."""
    from copyloop.tools.postprocess import clean

    if not bullets:
        return ""
    if spec.is_bullets:
        return clean("\n".join(bullets[: spec.items]), spec)
    if spec.max_words and spec.max_words >= 50:
        return clean(" ".join(b if b.endswith((".", "!", "?")) else b + "." for b in bullets), spec)
    return ""  # headlines and other short channels: no human text of that shape


def build_groups(
    records: Sequence[Any],
    catalog: dict[str, CatalogProduct],
    *,
    registry: Any,
    reward_model: Any,
    weights: RewardWeights,
    seller_copy: bool,
    repair: bool,
    progress: Callable[[int], None] | None = None,
) -> list[Group]:
    """Score every candidate (plus repaired and seller ones) of every record."""
    from copyloop.tools.claims import remove_unsupported
    from copyloop.tools.postprocess import clean

    groups: list[Group] = []
    earlier_by_channel: dict[str, list[str]] = {}
    for rec in records:
        item = catalog.get(rec.product_id)
        if item is None or not rec.candidates:
            if progress:
                progress(1)
            continue
        spec = registry.get(rec.channel)
        product = item.product
        pool: list[tuple[str, str, str]] = []  # (text, angle, source)
        seen: set[str] = set()

        def add(text: str, angle: str, source: str) -> None:
            text = text.strip()
            if text and text not in seen:
                seen.add(text)
                pool.append((text, angle, source))

        for cand in rec.candidates:
            add(cand["text"], cand["angle"], "llm")
            if repair:
                add(clean(remove_unsupported(cand["text"], product), spec), cand["angle"], "repair")
        if seller_copy:
            add(seller_text(item.seller_bullets, spec), SELLER_ANGLE, "seller")

        # "copy already in the catalog": what the base drafter wrote first for the products
        # before this one (independent of λ, so the parts can be cached and the λ sweep is fair)
        run_texts = earlier_by_channel.setdefault(rec.channel, [])
        parts = reward_model.critique(product, spec, [p[0] for p in pool], exemplars=rec.exemplars, run_texts=run_texts[-RUN_TEXTS_WINDOW:])
        group = Group(product, rec.channel, list(rec.exemplars))
        for (text, angle, source), (conversion, critiques) in zip(pool, parts):
            r = reward_from_critiques(conversion, critiques, weights, product.category)
            group.candidates.append(
                Candidate(text, angle, source, r.conversion, r.diversity, r.sentiment, r.cta, r.hard_pass, r.failed_hard, r.unsupported)
            )
        run_texts.append(rec.candidates[0]["text"])
        groups.append(group)
        if progress:
            progress(1)
    return groups


# --- training data -----------------------------------------------------------------------------------


@dataclass
class TrainingData:
    sft: list[SFTExample]
    pairs: list[PreferencePair]
    stats: dict[str, Any]


def select_training_data(
    groups: Sequence[Group],
    weights: RewardWeights,
    render: Callable[[Group, str], str],
    *,
    min_margin: float,
) -> TrainingData:
    """Best passing candidate per group → weighted SFT; best vs worst (margin) → DPO pair.

    ``render(group, angle)`` returns the exact prompt text serving would send for that angle.
    SFT weights are rewards divided by their mean, so the average example weighs 1.
    """
    picks: list[tuple[Group, float, Candidate]] = []
    pairs: list[PreferencePair] = []
    sources: dict[str, int] = {}
    for g in groups:
        ranked = g.ranked(weights)
        best_r, best = ranked[0]
        if not best.hard_pass or best_r <= 0:
            continue
        picks.append((g, best_r, best))
        sources[best.source] = sources.get(best.source, 0) + 1
        worst_r, worst = ranked[-1]
        if worst.text != best.text and best_r - worst_r >= min_margin:
            pairs.append(PreferencePair(render(g, best.angle), best.text, worst.text, round(best_r - worst_r, 5)))
    mean_r = statistics.fmean(r for _, r, _ in picks) if picks else 1.0
    sft = [SFTExample(render(g, c.angle), c.text, r / mean_r) for g, r, c in picks]
    n_cands = sum(len(g.candidates) for g in groups)
    stats = {
        "groups": len(groups),
        "candidates": n_cands,
        "hard_pass_rate": round(sum(c.hard_pass for g in groups for c in g.candidates) / max(n_cands, 1), 4),
        "unsupported_rate": round(sum(c.unsupported for g in groups for c in g.candidates) / max(n_cands, 1), 4),
        "sft_examples": len(sft),
        "sft_sources": sources,
        "dpo_pairs": len(pairs),
        "mean_chosen_reward": round(mean_r, 4) if picks else None,
        "mean_chosen_conversion": round(statistics.fmean(c.conversion for _, _, c in picks), 4) if picks else None,
        "mean_llm_conversion": round(statistics.fmean(c.conversion for g in groups for c in g.candidates if c.source == "llm"), 4)
        if n_cands
        else None,
    }
    return TrainingData(sft, pairs, stats)


# --- the run -------------------------------------------------------------------------------------------


@dataclass
class FinetuneReport:
    adapter: Path | None
    heldout_ids: Path
    report_path: Path | None
    data: dict[str, Any]
    stages: list[dict[str, Any]]
    seconds: dict[str, float]
    logits: dict[str, Any] | None
    sweep: list[dict[str, float]]
    elbow: float | None
    plot: Path | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "adapter": str(self.adapter) if self.adapter else None,
            "heldout_ids": str(self.heldout_ids),
            "report": str(self.report_path) if self.report_path else None,
            "data": self.data,
            "stages": self.stages,
            "seconds": {k: round(v, 1) for k, v in self.seconds.items()},
            "logits": self.logits,
            "sweep": self.sweep,
            "elbow_lambda": self.elbow,
            "plot": str(self.plot) if self.plot else None,
        }


def run_finetune(cfg: FinetuneConfig, settings: Any, *, progress_factory: Callable[[str, int], Any] | None = None) -> FinetuneReport:
    """The whole pipeline (see the module docstring). ``progress_factory(label, total)`` returns a
    context manager whose value is an ``advance(n)`` callable (the CLI passes rich progress bars)."""
    if cfg.task == "realize":
        from copyloop.training.finetune_realize import run_realize_finetune

        return run_realize_finetune(cfg, settings)
    from copyloop.agents.draft_prompt import build_messages
    from copyloop.agents.drafter import Drafter
    from copyloop.agents.llama_backend import LlamaCppBackend
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.embeddings import load_embedder
    from copyloop.tools.store import CopyStore
    from copyloop.training.base_model import resolve_gguf
    from copyloop.training.candidates import CandidateCache, cache_key, sample_candidates
    from copyloop.training.reward import RewardModel
    from copyloop.training.tradeoff import elbow, plot_tradeoff, sweep_lambda

    from copyloop.training.lora_train import limit_threads

    bar = progress_factory or _no_progress
    limit_threads(cfg.lora.threads)  # before any model loads: the embedder and scorer use torch too
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    registry = ChannelRegistry(settings.channels or None)
    for ch in cfg.channels:
        registry.get(ch)  # UnknownChannelError early
    gguf = resolve_gguf(settings.llm.model_path)
    adapter_path = cfg.adapter_path()

    # 1. split -----------------------------------------------------------------------------
    catalog = load_catalog(cfg.catalog)
    if not catalog:
        raise InputError(f"no readable products in {cfg.catalog}", field="catalog")
    split = split_ids([p.id for p in catalog], seed=cfg.split_seed, heldout_fraction=cfg.heldout_fraction)
    train, heldout = split_catalog(catalog, split)
    heldout_path = adapter_path.with_suffix(".heldout.txt")
    if not cfg.dry_run:
        write_ids(
            heldout_path,
            split.heldout,
            header=f"held-out products of {Path(cfg.catalog).name} (split seed {split.seed}, "
            f"fraction {split.heldout_fraction}, fingerprint {split.fingerprint()}); never trained on",
        )
    chosen = training_order(train, cfg.seed)[: cfg.train_products]

    # 2. sample ------------------------------------------------------------------------------
    t = time.perf_counter()
    embedder = load_embedder(settings.embeddings.model_path)
    llm = LlamaCppBackend(
        model_path=gguf,
        lora_path=None,
        n_ctx=settings.llm.n_ctx,
        n_threads=cfg.sample_threads,
        extra_buffer_types=settings.llm.extra_buffer_types,
    )
    cache = CandidateCache(Path(cfg.cache_dir) / f"candidates-{cache_key(model_path=gguf, n=cfg.candidates, seed=cfg.seed)}.jsonl")
    with tempfile.TemporaryDirectory(prefix="copyloop-ft-store-") as tmp:
        store = CopyStore(path=Path(tmp), embedder=embedder)  # what a fresh install retrieves from
        store.ensure_seeded()
        with bar("sampling candidates", len(chosen) * len(cfg.channels)) as advance:
            records = sample_candidates(
                # one attempt per candidate: a garbage draft is dropped (serving would retry it, but it
                # is no training target either way, and retries tripled the sampling time)
                [c.product for c in chosen], cfg.channels, drafter=Drafter(llm, attempts=1), registry=registry, store=store,
                cache=cache, n=cfg.candidates, seed=cfg.seed, progress=advance,
                deadline=time.time() + cfg.sample_minutes * 60 if cfg.sample_minutes else None,
            )
        heldout_records = _heldout_prompts(heldout, cfg, registry, store)
    seconds["sampling"] = time.perf_counter() - t

    # 3. score -------------------------------------------------------------------------------
    t = time.perf_counter()
    reward_model = RewardModel.from_settings(settings, embedder=embedder, cache_dir=Path(cfg.cache_dir))
    by_id = {c.id: c for c in catalog}
    with bar("scoring candidates", len(records)) as advance:
        groups = build_groups(
            records, by_id, registry=registry, reward_model=reward_model, weights=cfg.weights,
            seller_copy=cfg.seller_copy, repair=cfg.repair, progress=advance,
        )
    seconds["scoring"] = time.perf_counter() - t

    def render(group: Group, angle: str) -> str:
        return llm.format_prompt(build_messages(group.product, registry.get(group.channel), group.exemplars, angle=angle))

    data = select_training_data(groups, cfg.weights, render, min_margin=cfg.min_margin)
    points = sweep_lambda(groups, cfg.weights, cfg.sweep)
    knee = elbow(points)
    plot_path = Path(cfg.plot) if cfg.plot else Path(cfg.cache_dir) / "lambda_tradeoff.png"
    plot_tradeoff(points, knee, plot_path, chosen_lambda=cfg.weights.lam)
    sampled_products = len({rec.product_id for rec in records})
    data_stats = {**data.stats, "split_fingerprint": split.fingerprint(), "train_products": sampled_products, "heldout_products": len(heldout)}
    if cfg.dry_run:
        seconds["total"] = time.perf_counter() - started
        return FinetuneReport(None, heldout_path, None, data_stats, [], seconds, None, points, knee, plot_path)
    if not data.sft and not data.pairs:
        raise InputError("no candidate passed the hard filters: nothing to train on (sample more products?)", field="train_products")

    # 4. train -------------------------------------------------------------------------------
    from copyloop.training.base_model import load_base_model
    from copyloop.training.gguf_export import export_peft_model
    from copyloop.training.lora_train import attach_lora, train_dpo, train_sft

    t = time.perf_counter()
    base = load_base_model(gguf, threads=cfg.lora.threads)
    model = attach_lora(base.model, cfg.lora)
    sft_deadline, dpo_deadline = _deadlines(cfg.lora, len(data.sft), len(data.pairs))
    work = Path(cfg.cache_dir) / "trainer"
    model.train()
    sft_report = train_sft(model, base.tokenizer, data.sft, cfg.lora, work, sft_deadline)
    dpo_report = train_dpo(model, base.tokenizer, data.pairs, cfg.lora, work, dpo_deadline)
    model.eval()
    seconds["training"] = time.perf_counter() - t

    # 5. export + check ----------------------------------------------------------------------
    t = time.perf_counter()
    meta = {"lambda": str(cfg.weights.lam), "split": split.fingerprint(), "base": gguf.name}
    summary = export_peft_model(model, adapter_path, dtype=cfg.export_dtype, metadata=meta)
    seconds["export"] = time.perf_counter() - t
    logits = None
    if cfg.check_prompts:
        from copyloop.training.logits_check import compare_logits

        t = time.perf_counter()
        texts = [llm.format_prompt(m) for m in heldout_records[: cfg.check_prompts]]
        logits = compare_logits(model, base.tokenizer, gguf, adapter_path, texts, threads=cfg.lora.threads).as_dict()
        seconds["logits_check"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    report = FinetuneReport(
        adapter_path, heldout_path, adapter_path.with_suffix(".json"), {**data_stats, "adapter_bytes": summary.bytes},
        [sft_report.as_dict(), dpo_report.as_dict()], seconds, logits, points, knee, plot_path,
    )
    payload = {"config": json.loads(cfg.model_dump_json()), **report.as_dict()}
    payload["config"]["catalog"] = Path(cfg.catalog).name  # no machine-specific paths in the artifact
    payload["config"]["out"] = adapter_path.name
    payload["config"]["cache_dir"] = None
    payload["heldout_ids"] = heldout_path.name
    payload["adapter"] = adapter_path.name
    payload["report"] = adapter_path.with_suffix(".json").name
    payload["plot"] = plot_path.name
    adapter_path.with_suffix(".json").write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return report


# A DPO pair costs about this many SFT examples (two prompt passes, four completion passes).
DPO_PAIR_COST = 2.5


def _deadlines(lora: LoraTrainConfig, n_sft: int, n_pairs: int) -> tuple[float | None, float | None]:
    """Split ``max_minutes`` between SFT and DPO in proportion to their expected cost, so a
    budget that runs short trims both stages instead of starving DPO."""
    if not lora.max_minutes:
        return None, None
    now = time.time()
    budget = lora.max_minutes * 60
    sft_units = n_sft * lora.sft_epochs
    dpo_units = DPO_PAIR_COST * n_pairs * lora.dpo_epochs
    share = sft_units / (sft_units + dpo_units) if sft_units + dpo_units else 1.0
    return now + budget * share, now + budget


def _heldout_prompts(heldout: Sequence[CatalogProduct], cfg: FinetuneConfig, registry: Any, store: Any) -> list[list[dict[str, str]]]:
    """Chat messages for a few held-out products (first channel, first angle) for the logits check."""
    from copyloop.agents.draft_prompt import ANGLES, build_messages
    from copyloop.training.candidates import retrieve_exemplars

    out = []
    for item in heldout[: cfg.check_prompts]:
        channel = cfg.channels[len(out) % len(cfg.channels)]
        spec = registry.get(channel)
        out.append(build_messages(item.product, spec, retrieve_exemplars(store, item.product, channel), angle=ANGLES[0]))
    return out


def _no_progress(label: str, total: int) -> Any:
    return nullcontext(lambda n=1: None)


__all__ = [
    "Candidate",
    "FinetuneConfig",
    "FinetuneReport",
    "Group",
    "TrainingData",
    "build_groups",
    "run_finetune",
    "select_training_data",
    "seller_text",
]
