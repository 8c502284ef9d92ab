"""``copyloop finetune --task realize``: an adapter trained on the realiser's per-fact prompts.

Why (issue #11): the bundled adapter was trained on the old free-form drafter's prompts (a whole
description per prompt). The plan-then-realise drafter asks the model something else — one
planned fact, one sentence (``realize_messages``) or one headline (``headline_messages``) — and
keeps a sample only when ``sample_problem`` (headlines: ``headline_problem``) finds nothing
wrong. So the training data here are those prompts and those checks:

1. the same fixed split as the drafter adapter (held-out ids are never sampled);
2. per train product, the facts a product description plans plus one headline fact; the base
   model's samples for each, drawn through ``FactRealizer`` under the serving grammar (cached
   under ``--cache-dir``, so a re-run or a longer ``--sample-minutes`` continues);
3. per prompt, the samples that pass (not verbatim echoes) are scored with the project's reward
   pieces that make sense for one sentence: the conversion scorer's appeal and diversity (how far
   the sample moves away from the fact's own wording), mixed by λ; when none passes, the
   rule-based sentence (``fact_sentence``; headlines: ``headline_candidates``) is the safe target;
4. reward-weighted SFT on the best per prompt, DPO best vs a sample the checks rejected;
5. GGUF export, the served-vs-trained logits check, and a JSON report beside the adapter.

The adapter goes to its own file (default ``agents/artifacts/realizer_lora.gguf``); it is not
loaded by default — ``bench/realizer.py`` measures it against the base model and the bundled one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from copyloop.errors import InputError
from copyloop.tools.schemas import ProductBrief
from copyloop.training.lora_train import PreferencePair, SFTExample

if TYPE_CHECKING:
    from copyloop.agents.llm import LLMBackend
    from copyloop.tools.plan import PlanFact
    from copyloop.training.finetune import FinetuneConfig, FinetuneReport

log = logging.getLogger(__name__)

REALIZER_ADAPTER = "realizer_lora.gguf"
FACTS_PER_PRODUCT = 5
"""A product description plans 4 facts (5 on every other candidate): train on what serving asks."""
HEADLINE_CHANNEL = "google_ads_headline"
FACT_CHANNEL = "product_description"
TEMPERATURE = 0.6  # FactRealizer's default: sample as serving does
_TEMPLATES = ("realize_system.j2", "realize_user.j2", "realize_examples.yaml", "headline_system.j2",
              "headline_user.j2", "grammar_words.gbnf.j2")


def default_realizer_adapter() -> Path:
    """Where the realiser adapter is written by default: next to (never over) the drafter's."""
    from copyloop.agents.llama_backend import DEFAULT_ADAPTER_PATH

    return DEFAULT_ADAPTER_PATH.with_name(REALIZER_ADAPTER)


# --- sampling (cached) -------------------------------------------------------------------------


@dataclass(frozen=True)
class RealizePrompt:
    """One per-fact (or headline) prompt of one product."""

    product_id: str
    kind: str  # "fact" | "headline"
    fact: "PlanFact"
    seed: int

    @property
    def key(self) -> str:
        return f"{self.product_id}\x00{self.kind}\x00{self.fact.key}\x00{self.fact.text}\x00{self.seed}"


def prompts_for(product: ProductBrief, seed: int, facts: int = FACTS_PER_PRODUCT) -> list[RealizePrompt]:
    """The planned facts of a product description and the headline's key fact, with fixed seeds."""
    from copyloop.tools.plan import plan_facts, product_facts
    from copyloop.training.candidates import product_seed

    all_facts = product_facts(product)
    base = product_seed(seed, str(product.id))
    out = [RealizePrompt(str(product.id), "fact", f, base + 31 * i) for i, f in enumerate(plan_facts(all_facts, facts))]
    top = plan_facts(all_facts, 1)
    if top:
        out.append(RealizePrompt(str(product.id), "headline", top[0], base + 500))
    return out


def templates_fingerprint() -> str:
    """Hash of the realiser's prompt templates and grammar: samples drawn under other prompts are
    no evidence about these, so they go to another cache file."""
    from copyloop.prompts import read

    return hashlib.sha256("\x00".join(read(t) for t in _TEMPLATES).encode()).hexdigest()[:12]


class SampleCache:
    """JSON lines of ``{"key", "samples"}``: raw samples per prompt (append-only)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.records: dict[str, list[str]] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    rec = json.loads(line)
                    self.records[rec["key"]] = rec["samples"]

    def get(self, key: str) -> list[str] | None:
        return self.records.get(key)

    def put(self, key: str, samples: list[str]) -> None:
        self.records[key] = samples
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps({"key": key, "samples": samples}, ensure_ascii=False) + "\n")


def draw_samples(llm: "LLMBackend", product: ProductBrief, prompt: RealizePrompt, n: int) -> list[str]:
    """``n`` raw samples for one prompt, drawn through ``FactRealizer`` (the serving request)."""
    from copyloop.agents.llm import RecordingLLM
    from copyloop.agents.realizer import FactRealizer
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.plan import product_name

    rec = RecordingLLM(llm)
    realizer = FactRealizer(rec, samples=n, temperature=TEMPERATURE)
    name = product_name(product)
    if prompt.kind == "headline":
        realizer.headlines(product, name, prompt.fact, ChannelRegistry().get(HEADLINE_CHANNEL), seed=prompt.seed)
    else:
        realizer.realize(product, name, prompt.fact, seed=prompt.seed)
    return list(rec.last)


# --- judging and scoring -----------------------------------------------------------------------


@dataclass
class PromptGroup:
    """One prompt with its judged samples and its training target."""

    product: ProductBrief
    prompt: RealizePrompt
    passed: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    target: str = ""
    source: str = ""  # "llm" | "rule"
    reward: float = 0.0


def judge(product: ProductBrief, prompt: RealizePrompt, raw: Sequence[str]) -> PromptGroup:
    """Split raw samples into usable ones (pass the serving checks, not an echo) and rejected ones."""
    from copyloop.agents.realizer import headline_problem, is_echo, sample_problem, tidy_sample
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.plan import product_name
    from copyloop.tools.vocab import content_words, stem

    group = PromptGroup(product, prompt)
    if prompt.kind == "headline":
        spec = ChannelRegistry().get(HEADLINE_CHANNEL)
        for text in raw:
            h, problem = headline_problem(text, product, spec)
            (group.rejected.append((h, problem)) if problem else group.passed.append(h))
    else:
        name_words = frozenset(stem(w) for w in content_words(product_name(product)))
        for text in raw:
            s = tidy_sample(text)
            problem = sample_problem(s, prompt.fact, product, name_words)
            if problem:
                group.rejected.append((s, problem))
            elif not is_echo(s, prompt.fact):
                group.passed.append(s)
    group.passed = list(dict.fromkeys(group.passed))
    return group


def rule_target(product: ProductBrief, prompt: RealizePrompt) -> str:
    """The rule-based sentence (or headline) serving falls back to: always a safe target."""
    from copyloop.tools.channels import ChannelRegistry
    from copyloop.tools.plan import product_facts, product_noun, product_type
    from copyloop.tools.realize import anchor, fact_sentence, headline_candidates

    if prompt.kind == "headline":
        options = headline_candidates(product, product_facts(product), ChannelRegistry().get(HEADLINE_CHANNEL))
        return options[0] if options else ""
    noun = product_noun(product)
    return anchor(fact_sentence(prompt.fact, f"The {noun}", first=True, kind=product_type(product)), noun, product.title)


def choose_targets(groups: Sequence[PromptGroup], scorer: Any, embedder: Any, lam: float) -> None:
    """Set each group's target: the passing sample with the highest (1-λ)·appeal + λ·diversity,
    or the rule-based sentence when none passed. Diversity = 1 - cosine(sample, the fact's text):
    a sample that only repeats its fact teaches the model nothing the rule-based path lacks."""
    for g in groups:
        options = [(s, "llm") for s in g.passed] or [(rule_target(g.product, g.prompt), "rule")]
        options = [(s, src) for s, src in options if s]
        if not options:
            continue
        texts = [s for s, _ in options]
        channel = HEADLINE_CHANNEL if g.prompt.kind == "headline" else FACT_CHANNEL
        appeal = [float(s.score) for s in scorer.score(texts, channel=channel)]
        vecs = embedder.encode([g.prompt.fact.text, *texts])
        diversity = [float(1.0 - vecs[0] @ v) for v in vecs[1:]]
        rewards = [(1.0 - lam) * a + lam * d for a, d in zip(appeal, diversity)]
        best = max(range(len(texts)), key=lambda i: (rewards[i], -i))
        g.target, g.source, g.reward = texts[best], options[best][1], rewards[best]


def training_examples(groups: Sequence[PromptGroup], render: Callable[[PromptGroup], str]) -> tuple[list[SFTExample], list[PreferencePair]]:
    """SFT on each target (weight = reward / mean reward); DPO target vs the first rejected sample."""
    picked = [g for g in groups if g.target and g.reward > 0]
    mean_r = statistics.fmean(g.reward for g in picked) if picked else 1.0
    sft = [SFTExample(render(g), g.target, g.reward / mean_r) for g in picked]
    pairs = [
        PreferencePair(render(g), g.target, g.rejected[0][0], round(g.reward, 5))
        for g in picked
        if g.rejected and g.rejected[0][0] and g.rejected[0][0] != g.target
    ]
    return sft, pairs


def render_messages(group: PromptGroup) -> list[dict[str, str]]:
    """The exact chat messages serving sends for this prompt."""
    from copyloop.agents.realizer import headline_messages, realize_messages
    from copyloop.tools.plan import product_name

    name = product_name(group.product)
    if group.prompt.kind == "headline":
        return headline_messages(name, group.prompt.fact.text)
    return realize_messages(name, group.prompt.fact.text)


# --- the run -------------------------------------------------------------------------------------


def run_realize_finetune(cfg: "FinetuneConfig", settings: Any) -> "FinetuneReport":
    """Sample, judge, score, train, export and check (see the module docstring)."""
    from copyloop.agents.llama_backend import LlamaCppBackend
    from copyloop.agents.scorer import ConversionScorer
    from copyloop.tools.embeddings import load_embedder
    from copyloop.training.base_model import resolve_gguf
    from copyloop.training.finetune import FinetuneReport, _deadlines
    from copyloop.training.finetune_data import load_catalog, split_catalog, split_ids, training_order, write_ids
    from copyloop.training.lora_train import limit_threads

    limit_threads(cfg.lora.threads)
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    gguf = resolve_gguf(settings.llm.model_path)
    adapter_path = Path(cfg.out) if cfg.out is not None else default_realizer_adapter()

    catalog = load_catalog(cfg.catalog)
    if not catalog:
        raise InputError(f"no readable products in {cfg.catalog}", field="catalog")
    split = split_ids([p.id for p in catalog], seed=cfg.split_seed, heldout_fraction=cfg.heldout_fraction)
    train, heldout = split_catalog(catalog, split)
    held = set(split.heldout)
    chosen = [c for c in training_order(train, cfg.seed)[: cfg.train_products] if c.id not in held]
    heldout_path = adapter_path.with_suffix(".heldout.txt")

    # sample ------------------------------------------------------------------------------------
    t = time.perf_counter()
    llm = LlamaCppBackend(model_path=gguf, lora_path=None, n_ctx=settings.llm.n_ctx, n_threads=cfg.sample_threads,
                          extra_buffer_types=settings.llm.extra_buffer_types)
    key = hashlib.sha256(json.dumps([gguf.name, gguf.stat().st_size, cfg.candidates, cfg.seed, templates_fingerprint()]).encode()).hexdigest()[:16]
    cache = SampleCache(Path(cfg.cache_dir) / f"samples-{key}.jsonl")
    deadline = time.time() + cfg.sample_minutes * 60 if cfg.sample_minutes else None
    groups: list[PromptGroup] = []
    drawn = reused = 0
    for item in chosen:
        for prompt in prompts_for(item.product, cfg.seed):
            raw = cache.get(prompt.key)
            if raw is None:
                if deadline is not None and time.time() > deadline:
                    continue
                raw = draw_samples(llm, item.product, prompt, cfg.candidates)
                cache.put(prompt.key, raw)
                drawn += 1
            else:
                reused += 1
            groups.append(judge(item.product, prompt, raw))
    seconds["sampling"] = time.perf_counter() - t
    if not groups:
        raise InputError("no prompt sampled (raise --sample-minutes)", field="sample_minutes")

    # score -------------------------------------------------------------------------------------
    t = time.perf_counter()
    embedder = load_embedder(settings.embeddings.model_path)
    scorer = ConversionScorer.load(settings.scorer.artifact_path, embedder=embedder)
    choose_targets(groups, scorer, embedder, cfg.weights.lam)
    seconds["scoring"] = time.perf_counter() - t

    def render(g: PromptGroup) -> str:
        return llm.format_prompt(render_messages(g))

    sft, pairs = training_examples(groups, render)
    data = _data_stats(groups, sft, pairs, drawn=drawn, reused=reused)
    data.update({"split_fingerprint": split.fingerprint(), "heldout_products": len(heldout),
                 "train_products": len({g.prompt.product_id for g in groups}), "task": "realize"})
    if cfg.dry_run:
        seconds["total"] = time.perf_counter() - started
        return FinetuneReport(None, heldout_path, None, data, [], seconds, None, [], None, None)
    if not sft:
        raise InputError("no training target: nothing to train on (sample more products?)", field="train_products")
    write_ids(heldout_path, split.heldout, header=f"held-out products of {Path(cfg.catalog).name} (split seed {split.seed}, "
              f"fraction {split.heldout_fraction}, fingerprint {split.fingerprint()}); never trained on")

    # train -------------------------------------------------------------------------------------
    from copyloop.training.base_model import load_base_model
    from copyloop.training.gguf_export import export_peft_model
    from copyloop.training.lora_train import attach_lora, train_dpo, train_sft

    t = time.perf_counter()
    base = load_base_model(gguf, threads=cfg.lora.threads)
    model = attach_lora(base.model, cfg.lora)
    sft_deadline, dpo_deadline = _deadlines(cfg.lora, len(sft), len(pairs))
    work = Path(cfg.cache_dir) / "trainer"
    model.train()
    sft_report = train_sft(model, base.tokenizer, sft, cfg.lora, work, sft_deadline)
    dpo_report = train_dpo(model, base.tokenizer, pairs, cfg.lora, work, dpo_deadline)
    model.eval()
    seconds["training"] = time.perf_counter() - t

    # export + check ----------------------------------------------------------------------------
    t = time.perf_counter()
    meta = {"task": "realize", "lambda": str(cfg.weights.lam), "split": split.fingerprint(), "base": gguf.name}
    summary = export_peft_model(model, adapter_path, dtype=cfg.export_dtype, metadata=meta)
    seconds["export"] = time.perf_counter() - t
    logits = None
    if cfg.check_prompts:
        from copyloop.training.logits_check import compare_logits

        t = time.perf_counter()
        texts = []
        for item in heldout[: cfg.check_prompts]:
            ps = prompts_for(item.product, cfg.seed)
            if ps:
                texts.append(render(PromptGroup(item.product, ps[0])))
        logits = compare_logits(model, base.tokenizer, gguf, adapter_path, texts, threads=cfg.lora.threads).as_dict()
        seconds["logits_check"] = time.perf_counter() - t
    seconds["total"] = time.perf_counter() - started
    report = FinetuneReport(adapter_path, heldout_path, adapter_path.with_suffix(".json"), {**data, "adapter_bytes": summary.bytes},
                            [sft_report.as_dict(), dpo_report.as_dict()], seconds, logits, [], None, None)
    payload = {"config": json.loads(cfg.model_dump_json()), **report.as_dict()}
    payload["config"].update({"catalog": Path(cfg.catalog).name, "out": adapter_path.name, "cache_dir": None})
    payload.update({"heldout_ids": heldout_path.name, "adapter": adapter_path.name, "report": adapter_path.with_suffix(".json").name})
    payload["examples"] = [{"kind": g.prompt.kind, "fact": g.prompt.fact.text, "target": g.target, "source": g.source,
                            "rejected": g.rejected[0] if g.rejected else None} for g in groups[:12]]
    adapter_path.with_suffix(".json").write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return report


def reason_class(problem: str) -> str:
    """A rejection reason without its sample-specific tail ("keeps only 50% of the fact" and
    "keeps only 12% ..." are one reason; so are "repeats bell" and "repeats zip")."""
    head = problem.split(":")[0].strip()
    if head.startswith("keeps only"):
        return "keeps too little of the fact"
    if head.startswith("repeats ") and "product name" not in head and head != "repeats a word":
        return "repeats a content word"
    return head


def _data_stats(groups: Sequence[PromptGroup], sft: Sequence[SFTExample], pairs: Sequence[PreferencePair], *,
                drawn: int, reused: int) -> dict[str, Any]:
    """Counts that say what the adapter was trained on (and how often the base model passed)."""
    from collections import Counter

    samples = sum(len(g.passed) + len(g.rejected) for g in groups)
    reasons: Counter = Counter(reason_class(p) for g in groups for _, p in g.rejected)
    by_kind = {k: sum(1 for g in groups if g.prompt.kind == k) for k in ("fact", "headline")}
    return {
        "prompts": len(groups),
        "prompts_by_kind": by_kind,
        "prompts_drawn": drawn,
        "prompts_from_cache": reused,
        "samples": samples,
        "base_usable_rate": round(sum(len(g.passed) for g in groups) / max(1, samples), 4),
        "prompts_with_usable_sample": round(sum(bool(g.passed) for g in groups) / max(1, len(groups)), 4),
        "targets_by_source": dict(Counter(g.source for g in groups if g.target)),
        "mean_target_reward": round(statistics.fmean(g.reward for g in groups if g.target), 4) if any(g.target for g in groups) else None,
        "rejections": dict(reasons.most_common(10)),
        "sft_examples": len(sft),
        "dpo_pairs": len(pairs),
    }


__all__ = [
    "PromptGroup",
    "RealizePrompt",
    "SampleCache",
    "choose_targets",
    "default_realizer_adapter",
    "draw_samples",
    "judge",
    "prompts_for",
    "reason_class",
    "rule_target",
    "run_realize_finetune",
    "training_examples",
]
