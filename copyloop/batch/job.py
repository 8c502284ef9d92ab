"""Rewrite a whole catalog for several channels: resumable, parallel, measured.

``rewrite_catalog`` maps the refinement loop over (product, channel) items:

1. **Read** the catalog (``tools.catalog.read_catalog``: CSV, JSONL or Parquet with a column
   mapping). Bad rows (malformed line, missing title, duplicate id, ...) go to the errors file
   with their row number and reason; the batch goes on without them.
2. **Plan**: the job id is a hash of what determines the output (input path, channels, the
   settings that change copy, column mapping, seed, engine factory); the job store beside the
   output (``OUT.jobs.sqlite``) already holds every item a previous run finished, keyed by a hash
   of the product row, so a re-run skips them and redoes only missing, failed or edited items.
3. **Draft** every remaining item in a worker pool (or in-process for ``workers=1``, or on Ray
   Data actors with ``engine="ray"``: ``batch.ray_engine``); each result
   is committed to SQLite the moment it arrives, and the output file is rewritten atomically from
   the store every ``snapshot_seconds`` and at the end — ``kill -9`` loses only what was running.
4. **Diversity**: measure how alike the catalog reads (mean pairwise cosine, near-duplicates,
   stock phrases), re-draft the flagged items with the nearest other products' copy as
   ``run_texts`` (the diversity critic pushes away from it) and the reason as feedback, keep a
   re-draft only when it is less alike and no worse on the hard rules, and measure again.

Item seeds are derived from (seed, product id, channel), not from the order of work, so the same
command gives the same copy with 1 or 8 workers and after any number of resumes. For the same
reason the draft phase does not feed other products' copy into each item: that would make the
result depend on which worker finished first. Catalog-level diversity is a separate, reproducible
pass over the finished drafts.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from pydantic import BaseModel, Field

from copyloop.batch.output import (
    ErrorRow,
    OutputRow,
    check_output_path,
    exclusive_lock,
    remove_stale_temps,
    sidecar,
    write_errors,
    write_output,
)
from copyloop.batch.progress import BatchProgress
from copyloop.batch.runner import Runner, make_runner
from copyloop.batch.worker import DEFAULT_ENGINE_FACTORY, ItemOutcome, ItemTask
from copyloop.batch.diversity import CopyItem, DiversityReport, analyse_catalog
from copyloop.engine_factory import ENGINE_FACTORY_ENV
from copyloop.errors import InputError
from copyloop.batch.jobstore import JobStore, StoredResult
from copyloop.settings import Settings

log = logging.getLogger(__name__)

ENGINES = ("local", "ray")


class BatchSummary(BaseModel):
    """What a batch did; ``copyloop batch`` prints it as a table (``--json`` as this object)."""

    job_id: str
    source: Path
    output: Path
    errors_path: Path
    store_path: Path
    channels: list[str]
    dry_run: bool = False
    engine: str = Field("local", description="local (process pool) or ray (Ray Data actors)")
    workers: int
    products: int = Field(0, description="valid products read (after --limit)")
    items: int = Field(0, description="(product, channel) items planned")
    done: int = Field(0, description="items finished by this run")
    skipped: int = Field(0, description="items already finished by an earlier run of the same job")
    failed: int = Field(0, description="items that failed (listed in the output with an error and in the errors file)")
    bad_rows: int = Field(0, description="input rows rejected (listed in the errors file)")
    pending: int = Field(0, description="items a dry run would refine, or a run left unfinished")
    redrafted: int = Field(0, description="items rewritten by the catalog-diversity pass")
    redraft_attempts: int = 0
    mean_score: float | None = Field(None, description="mean conversion score of the output's finished items")
    pass_rate: float | None = Field(None, description="share of finished items marked passed")
    seconds: float = 0.0
    items_per_second: float | None = Field(None, description="items finished by this run per second of wall time")
    products_per_minute: float | None = None
    diversity_before: DiversityReport | None = None
    diversity_after: DiversityReport | None = None
    bad_row_examples: list[ErrorRow] = Field(default_factory=list, description="the first few rejected rows")

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.bad_rows == 0

    def exit_code(self) -> int:
        """0: everything finished; 1: some item failed or some input row was rejected."""
        return 0 if self.ok else 1


# --------------------------------------------------------------------------------------------
# planning


@dataclass
class PlannedProduct:
    row: int
    product_id: str
    product: Any  # ProductBrief
    input_hash: str


@dataclass
class Plan:
    products: list[PlannedProduct] = field(default_factory=list)
    bad: list[ErrorRow] = field(default_factory=list)


def _hash(*parts: str) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


_LIST_FIELDS = ("facts", "spec_facts", "description", "drop_facts")


def column_map(source: Path, columns: Any) -> Any:
    """A ``ColumnMap`` from ``{field: column}`` (what ``--column key=name`` gives).

    Fields not named keep the generic defaults (id, title, category, price, brand, facts,
    description; missing ones are ignored), or the Amazon sample's mapping with
    ``preset=amazon``. List fields take comma-separated column names. A column the user named
    that the file does not have is an InputError (a typo must not silently drop a field).
    """
    from copyloop.tools.catalog import AMAZON_COLUMNS, DEFAULT_COLUMNS, ColumnMap, read_catalog

    if columns is None or isinstance(columns, ColumnMap):
        return columns
    overrides = dict(columns)
    preset = str(overrides.pop("preset", "default")).strip().lower()
    if preset not in ("default", "amazon"):
        raise InputError(f"unknown column preset {preset!r} (use 'default' or 'amazon')", field="column")
    base = AMAZON_COLUMNS if preset == "amazon" else DEFAULT_COLUMNS
    known = set(ColumnMap.model_fields) - {"strict"}
    named: dict[str, Any] = {}
    for key, value in overrides.items():
        if key not in known:
            raise InputError(f"unknown column key {key!r}; known keys: {', '.join(sorted(known))}, preset", field="column")
        if key in _LIST_FIELDS:
            named[key] = tuple(v.strip() for v in str(value).split(",") if v.strip())
        elif key in ("list_separator", "spec_separator"):
            named[key] = str(value)
        else:
            named[key] = None if str(value).strip().lower() in ("", "none") else str(value).strip()
    mapping = base.model_copy(update={**named, "strict": False})
    # every column the user named must exist: check them alone, strictly
    only_named = ColumnMap(
        id=named.get("id"), title=named.get("title") or mapping.title, category=named.get("category"),
        price=named.get("price"), brand=named.get("brand"), facts=named.get("facts", ()),
        spec_facts=named.get("spec_facts", ()), description=named.get("description", ()), strict=True,
    )
    read_catalog(source, columns=only_named, limit=1).close()  # type: ignore[attr-defined]
    return mapping


def plan_catalog(source: Path, columns: Any = None, limit: int | None = None) -> Plan:
    """Read the catalog into valid products (first occurrence of each id) and rejected rows."""
    from copyloop.tools.catalog import read_catalog

    plan = Plan()
    first_row: dict[str, int] = {}
    rows_seen = 0
    for item in read_catalog(source, columns=columns, limit=limit):
        rows_seen += 1
        if item.error is not None or item.product is None:
            plan.bad.append(ErrorRow(row=item.row, product_id=item.product_id, kind="input",
                                     reason=item.error or "row could not be read"))
            continue
        pid = item.product_id or item.product.id or f"row-{item.row}"
        if pid in first_row:
            plan.bad.append(ErrorRow(row=item.row, product_id=pid, kind="input",
                                     reason=f"duplicate product id {pid!r} (first seen at row {first_row[pid]}); row skipped"))
            continue
        first_row[pid] = item.row
        product = item.product if item.product.id == pid else item.product.model_copy(update={"id": pid})
        plan.products.append(PlannedProduct(item.row, pid, product, _hash(product.model_dump_json())))
    if rows_seen == 0:
        raise InputError(f"the catalog has no product rows: {source}", field="source")
    return plan


# Settings that cannot change the copy (threads, stores of other features, secrets) stay out of
# the job id, so resuming with another worker count reuses the finished items.
_FINGERPRINT_EXCLUDE: dict[str, Any] = {
    "home": True,
    "slack": True,
    "service": True,
    "api_keys": True,
    "llm": {"n_threads", "n_batch"},
    "store": {"checkpoint_path", "postgres_dsn"},
}


def job_fingerprint(
    source: Path, channels: Sequence[str], settings: Settings, columns: Any, seed: int, factory: str
) -> tuple[str, dict[str, Any]]:
    """The job id (16 hex digits) and the facts it was computed from."""
    if hasattr(columns, "model_dump"):
        columns = columns.model_dump(mode="json")
    fp = {
        "source": str(Path(source).resolve()),
        "channels": sorted(channels),
        "columns": columns,
        "seed": seed,
        "engine_factory": factory,
        "settings": settings.model_dump(mode="json", exclude=_FINGERPRINT_EXCLUDE),
    }
    return _hash(json.dumps(fp, sort_keys=True, default=str))[:16], fp


def item_seed(seed: int, product_id: str, channel: str) -> int:
    """A per-item seed independent of the order of work (same copy with any worker count)."""
    return (seed * 1_000_003 + int(_hash(product_id, channel)[:8], 16)) % (2**31 - 1)


def worker_threads(workers: int, cores: int | None = None) -> int:
    """llama.cpp / torch threads per worker: the workers together use each core at most once, and
    one process never gets more than half the cores — the llama backend's own default, because
    llama.cpp threads spin on a barrier and a busy core stalls every token (measured on the 2-core
    target under load: ~65 tokens/s with 1 thread, 5-9 with 2; a batch item took 550 s with 2
    threads where the same refine took 31 s with 1)."""
    cores = cores or available_cores()
    return max(1, min(cores // max(1, workers), cores // 2))


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------------------------
# the run


class _Batch:
    """State of one rewrite_catalog call (kept in one place so the phases stay small)."""

    def __init__(self, plan: Plan, channels: list[str], job_id: str, store: JobStore, out: Path,
                 errors_path: Path, seed: int, quiet: bool, snapshot_seconds: float) -> None:
        self.plan = plan
        self.channels = channels
        self.job_id = job_id
        self.store = store
        self.out = out
        self.errors_path = errors_path
        self.seed = seed
        self.snapshot_seconds = snapshot_seconds
        self.progress = BatchProgress(quiet=quiet)
        self.by_id = {p.product_id: p for p in plan.products}
        self.drafts = {k: r for k, r in store.result_map(job_id, "draft").items() if self._current(r)}
        self.redrafts = store.result_map(job_id, "diversity")
        self.done = 0
        self.failed_now = 0
        self.redrafted_now = 0
        self.redraft_attempts = 0
        self._last_snapshot = time.monotonic()
        self._accept: dict[tuple[str, str], Any] = {}

    def _current(self, r: StoredResult) -> bool:
        p = self.by_id.get(r.product_id)
        return p is not None and p.input_hash == r.input_hash and r.channel in self.channels

    # draft phase ----------------------------------------------------------------------------
    def finished_keys(self) -> set[tuple[str, str]]:
        return {k for k, r in self.drafts.items() if r.status == "done"}

    def draft_tasks(self) -> list[ItemTask]:
        finished = self.finished_keys()
        tasks = []
        for p in self.plan.products:
            for ch in self.channels:
                if (p.product_id, ch) not in finished:
                    tasks.append(ItemTask(p.product_id, p.row, ch, p.product.model_dump(mode="json"),
                                          p.input_hash, item_seed(self.seed, p.product_id, ch)))
        return tasks

    def on_draft(self, outcome: ItemOutcome) -> None:
        t = outcome.task
        prev = self.drafts.get(t.key)
        result = _stored(outcome, "draft", t.input_hash, attempts_before=prev.attempts if prev and prev.status == "failed" else 0)
        self.store.record(self.job_id, result)
        self.drafts[t.key] = result
        if result.status == "done":
            self.done += 1
        else:
            self.failed_now += 1
        self.progress.advance(ok=result.status == "done")
        self._maybe_snapshot()

    # diversity phase ------------------------------------------------------------------------
    def copy_items(self) -> tuple[list[CopyItem], list[StoredResult]]:
        items, results = [], []
        for p in self.plan.products:
            for ch in self.channels:
                r = self.drafts.get((p.product_id, ch))
                if r is not None and r.status == "done" and r.text:
                    items.append(CopyItem(p.product_id, ch, r.text, p.product.fact_text()))
                    results.append(r)
        return items, results

    def redraft_hash(self, r: StoredResult) -> str:
        return _hash(r.input_hash, r.text or "")

    def _maybe_snapshot(self) -> None:
        if time.monotonic() - self._last_snapshot >= self.snapshot_seconds:
            self.write_files()

    # output ---------------------------------------------------------------------------------
    def final_result(self, key: tuple[str, str]) -> tuple[StoredResult | None, bool]:
        """The draft result, or its accepted diversity re-draft (flag True)."""
        r = self.drafts.get(key)
        if r is None or r.status != "done":
            return r, False
        d = self.redrafts.get(key)
        if d is not None and d.status == "done" and d.extra.get("accepted") and d.input_hash == self.redraft_hash(r):
            return d, True
        return r, False

    def output_rows(self) -> list[OutputRow]:
        rows = []
        for p in self.plan.products:
            for ch in self.channels:
                r, redrafted = self.final_result((p.product_id, ch))
                if r is None:
                    continue
                base = self.drafts[(p.product_id, ch)]
                rows.append(OutputRow(
                    product_id=p.product_id, channel=ch, text=r.text, score=r.score, passed=r.passed,
                    stop_reason=r.stop_reason, iterations=r.iterations,
                    first_draft_score=base.extra.get("first_draft_score"),
                    open_critiques=r.extra.get("open_critiques", []), redrafted=redrafted,
                    seconds=round((base.seconds or 0.0) + ((r.seconds or 0.0) if redrafted else 0.0), 3),
                    error=r.error if r.status == "failed" else None,
                ))
        return rows

    def error_rows(self) -> list[ErrorRow]:
        errs = list(self.plan.bad)
        for p in self.plan.products:
            for ch in self.channels:
                r = self.drafts.get((p.product_id, ch))
                if r is not None and r.status == "failed":
                    errs.append(ErrorRow(row=p.row, product_id=p.product_id, channel=ch, kind="refine",
                                         reason=r.error or "failed"))
        errs.sort(key=lambda e: (e.row or 0, e.channel or ""))
        return errs

    def write_files(self) -> None:
        write_output(self.out, self.output_rows())
        write_errors(self.errors_path, self.error_rows())
        self._last_snapshot = time.monotonic()


def _stored(outcome: ItemOutcome, phase: str, input_hash: str, attempts_before: int = 0,
            extra: Mapping[str, Any] | None = None) -> StoredResult:
    t = outcome.task
    return StoredResult(
        product_id=t.product_id, channel=t.channel, phase=phase,  # type: ignore[arg-type]
        input_hash=input_hash, status="done" if outcome.status == "done" else "failed", row=t.row,
        text=outcome.text, score=outcome.score, passed=outcome.passed, stop_reason=outcome.stop_reason,
        iterations=outcome.iterations, error=outcome.error, seconds=round(outcome.seconds, 3),
        attempts=attempts_before + outcome.attempts,
        extra={"first_draft_score": outcome.first_draft_score, "open_critiques": outcome.open_critiques,
               **(extra or {})},
    )


def _run_diversity(batch: _Batch, runner_for: Any, settings: Settings) -> tuple[DiversityReport | None, DiversityReport | None]:
    """Measure, re-draft flagged items, measure again (see the module docstring)."""
    from copyloop.batch.diversity import contains_phrase, max_similarity_to
    from copyloop.tools.embeddings import load_embedder

    items, results = batch.copy_items()
    if len(items) < 2:
        return None, None
    embedder = load_embedder(settings.embeddings.model_path)
    before = analyse_catalog(items, embedder, settings.refine.similarity_max)
    tasks: list[ItemTask] = []
    neighbours_of: dict[tuple[str, str], list[str]] = {}
    phrases_of: dict[tuple[str, str], list[str]] = {}
    for idx, flag in sorted(before.flags.items()):
        item, r = items[idx], results[idx]
        key = (item.product_id, item.channel)
        others = [items[j].text for j in flag.neighbours]
        neighbours_of[key] = others
        phrases_of[key] = flag.phrases
        stored = batch.redrafts.get(key)
        if stored is not None and stored.input_hash == batch.redraft_hash(r) and stored.status == "done":
            continue
        p = batch.by_id[item.product_id]
        feedback = ["This copy sounds like other products in the same catalog; write it so it could only be about this product."]
        feedback += [f"Do not use the stock phrase \"{ph}\"." for ph in sorted(flag.phrases)]
        if flag.max_similarity > settings.refine.similarity_max:
            feedback.append("Use a different angle and opening than the other products' copy.")
        tasks.append(ItemTask(
            item.product_id, p.row, item.channel, p.product.model_dump(mode="json"), batch.redraft_hash(r),
            item_seed(batch.seed + 1, item.product_id, item.channel), phase="diversity",
            feedback=tuple(feedback), previous=item.text, run_texts=tuple(others),
        ))

    def on_redraft(outcome: ItemOutcome) -> None:
        t = outcome.task
        old = batch.drafts[t.key]
        extra: dict[str, Any] = {"accepted": False}
        if outcome.status == "done" and outcome.text:
            others = neighbours_of[t.key]
            old_sim = max_similarity_to(old.text or "", others, embedder)
            new_sim = max_similarity_to(outcome.text, others, embedder)
            flagged = phrases_of[t.key]
            old_ph = sum(1 for ph in flagged if contains_phrase(old.text or "", ph))
            new_ph = sum(1 for ph in flagged if contains_phrase(outcome.text, ph))
            no_worse = bool(outcome.passed) or not old.passed
            less_alike = new_sim < old_sim or (new_ph < old_ph and new_sim <= old_sim + 0.02)
            extra = {"accepted": no_worse and less_alike, "old_similarity": round(old_sim, 4),
                     "new_similarity": round(new_sim, 4), "old_phrases": old_ph, "new_phrases": new_ph}
        result = _stored(outcome, "diversity", t.input_hash, extra=extra)
        batch.store.record(batch.job_id, result)
        batch.redrafts[t.key] = result
        batch.redraft_attempts += 1
        if extra["accepted"]:
            batch.redrafted_now += 1
        batch.progress.advance(ok=outcome.status == "done")
        batch._maybe_snapshot()

    if tasks:
        batch.progress.phase("diversity re-drafts", len(tasks))
        runner_for().run(tasks, on_redraft)
    final_items = []
    for p in batch.plan.products:
        for ch in batch.channels:
            r, _ = batch.final_result((p.product_id, ch))
            if r is not None and r.status == "done" and r.text:
                final_items.append(CopyItem(p.product_id, ch, r.text, p.product.fact_text()))
    after = analyse_catalog(final_items, embedder, settings.refine.similarity_max)
    return before.report, after.report


def rewrite_catalog(
    source: str | Path,
    channels: Sequence[str] | str,
    out: str | Path,
    workers: int | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    settings: Settings | None = None,
    columns: Any = None,
    quiet: bool = False,
    *,
    seed: int = 0,
    diversity: bool = True,
    engine_factory: str | None = None,
    snapshot_seconds: float = 30.0,
    engine: str = "local",
    address: str | None = None,
) -> BatchSummary:
    """Rewrite every product of ``source`` for every channel into ``out`` (see module docstring).

    ``workers`` defaults to the number of cores (1 runs in this process); ``engine_factory`` is a
    "module:function" building an engine from Settings in each worker (default: the real Engine).
    ``engine="ray"`` refines on Ray Data actors instead of the local process pool (``workers`` is
    then the number of actors, default: the cluster's CPUs; ``address`` is the Ray cluster,
    e.g. "auto", default: the running Ray or a new local one); the output is the same.
    Raises InputError / UnknownChannelError for problems with the whole input (missing or empty
    file, unknown channel or column, bad output extension); bad rows and failed items do not
    raise — they are counted in the summary and listed in the errors file.
    """
    started = time.perf_counter()
    settings = settings or Settings()
    source, out = Path(source), Path(out)
    channel_list = _check_channels(channels, settings)
    check_output_path(out)
    if not source.is_file():
        raise InputError(f"input file does not exist: {source}", field="source")
    if limit is not None and limit < 1:
        raise InputError("--limit must be at least 1", field="limit")
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r} (use {' or '.join(ENGINES)})", field="engine")
    if workers is not None and workers < 1:
        raise InputError("--workers must be at least 1", field="workers")
    factory = engine_factory or os.environ.get(ENGINE_FACTORY_ENV, "").strip() or DEFAULT_ENGINE_FACTORY

    columns = column_map(source, columns)
    plan = plan_catalog(source, columns, limit)
    job_id, fingerprint = job_fingerprint(source, channel_list, settings, columns, seed, factory)
    errors_path, store_path = sidecar(out, "errors.jsonl"), sidecar(out, "jobs.sqlite")
    summary = BatchSummary(
        job_id=job_id, source=source, output=out, errors_path=errors_path, store_path=store_path,
        channels=channel_list, dry_run=dry_run, engine=engine, workers=workers or available_cores(),
        products=len(plan.products), items=len(plan.products) * len(channel_list), bad_rows=len(plan.bad),
        bad_row_examples=plan.bad[:5],
    )
    if dry_run:
        return _dry_run(summary, plan, channel_list, job_id, store_path, started)

    cluster: Any = None
    if engine == "ray":
        from copyloop.batch.ray_engine import RayCluster

        cluster = RayCluster(address)
        cores, largest = cluster.cpus(), cluster.node_cpus()
    else:
        cores = largest = available_cores()
    workers = workers or cores
    summary.workers = workers
    # an actor's num_cpus = its llama.cpp threads, and it must fit on one node
    threads = settings.llm.n_threads or min(worker_threads(workers, cores), largest)
    run_settings = settings.model_copy(update={"llm": settings.llm.model_copy(update={"n_threads": threads})})

    with _closing(cluster), exclusive_lock(sidecar(out, "lock")), JobStore(store_path) as store:
        store.register_job(job_id, str(source.resolve()), channel_list, fingerprint)
        for path in (out, errors_path):
            remove_stale_temps(path)  # left by a run that was killed while writing
        batch = _Batch(plan, channel_list, job_id, store, out, errors_path, seed, quiet, snapshot_seconds)
        runner: Runner | None = None

        def runner_for() -> Runner:
            nonlocal runner
            if runner is None:
                if cluster is not None:
                    from copyloop.batch.ray_engine import RayRunner

                    runner = RayRunner(run_settings, factory, workers, threads, cluster)
                else:
                    runner = make_runner(run_settings, factory, workers, threads)
            return runner

        tasks = batch.draft_tasks()
        summary.skipped = summary.items - len(tasks)
        log.info("job %s: %d items, %d already finished, %d to run with %d worker(s)",
                 job_id, summary.items, summary.skipped, len(tasks), workers)
        try:
            with batch.progress:
                if tasks:
                    batch.progress.phase("drafting", len(tasks))
                    runner_for().run(tasks, batch.on_draft)
                if diversity:
                    summary.diversity_before, summary.diversity_after = _run_diversity(batch, runner_for, run_settings)
        finally:
            if runner is not None:
                runner.close()
            batch.write_files()
        summary.done = batch.done
        summary.redraft_attempts = batch.redraft_attempts
        summary.redrafted = sum(1 for k in batch.drafts if batch.final_result(k)[1])
        rows = batch.output_rows()
        summary.failed = sum(1 for r in rows if r.error)
        finished = [r for r in rows if not r.error]
        summary.pending = summary.items - len(rows)
        if finished:
            summary.mean_score = round(sum(r.score or 0.0 for r in finished) / len(finished), 4)
            summary.pass_rate = round(sum(1 for r in finished if r.passed) / len(finished), 4)
    summary.seconds = round(time.perf_counter() - started, 2)
    processed = batch.done + batch.failed_now
    if summary.seconds > 0 and processed:
        summary.items_per_second = round(processed / summary.seconds, 4)
        summary.products_per_minute = round(processed / len(channel_list) / summary.seconds * 60, 3)
    return summary


@contextmanager
def _closing(cluster: Any) -> Iterator[None]:
    """Shut down a Ray instance this batch started (a caller's own ``ray.init`` stays up)."""
    try:
        yield
    finally:
        if cluster is not None:
            cluster.close()


def _dry_run(summary: BatchSummary, plan: Plan, channels: list[str], job_id: str, store_path: Path,
             started: float) -> BatchSummary:
    """Count what a run would do without loading any model (and without creating the store)."""
    finished: set[tuple[str, str]] = set()
    if store_path.exists():
        with JobStore(store_path) as store:
            hashes = {p.product_id: p.input_hash for p in plan.products}
            finished = {
                k for k, r in store.result_map(job_id, "draft").items()
                if r.status == "done" and hashes.get(r.product_id) == r.input_hash and r.channel in channels
            }
    summary.skipped = len(finished)
    summary.pending = summary.items - summary.skipped
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def _check_channels(channels: Sequence[str] | str, settings: Settings) -> list[str]:
    from copyloop.tools.channels import ChannelRegistry

    if isinstance(channels, str):
        channels = channels.split(",")
    names: list[str] = []
    for c in (c.strip() for c in channels):
        if c and c not in names:
            names.append(c)
    if not names:
        raise InputError("at least one channel is needed", field="channels")
    registry = ChannelRegistry(settings.channels or None)
    for name in names:
        registry.get(name)  # UnknownChannelError lists the known channels
    return names


__all__ = [
    "BatchSummary",
    "Plan",
    "column_map",
    "item_seed",
    "job_fingerprint",
    "plan_catalog",
    "rewrite_catalog",
    "worker_threads",
]
