"""The Ray Data engine of a catalog batch: the same items, refined by a pool of Ray actors.

Why Ray Data: a catalog of 1M SKUs x 3 channels at 1-2 products per minute per worker needs many
machines, and Ray Data is the convention for LLM batch inference: a dataset of work, then
``map_batches`` with a *callable class* (one actor per model copy, loaded once in ``__init__``),
then consume the results. ``RayRunner`` is a ``Runner`` like the local pool, so everything around
it stays the same: the job plan, the per-item seeds (Ray and the local pool write identical copy),
the SQLite ledger beside the output (each result is committed as it arrives; a re-run skips what
is finished; the ledger's key (job, product, channel, phase) dedupes Ray's at-least-once
delivery), the atomic output and errors files, the exit codes and the catalog diversity pass.

The flow of one ``run``:

1. the driver has already read and validated the catalog with copyloop's own reader (bad rows are
   reported with their line numbers and skipped; ``ray.data.read_csv`` knows neither our column
   mapping nor line numbers), and the ledger has dropped the finished items;
2. ``ray.data.from_items`` turns the remaining tasks (JSON, one item per block, so a crash costs
   one item) into a dataset;
3. ``map_batches(CopyActor, compute=ActorPoolStrategy(size=actors), num_cpus=threads,
   batch_size=1)``: each actor builds one engine (model loaded once, llama.cpp threads = the
   actor's ``num_cpus``) and refines one item per call with the same ``run_item`` as a local
   worker (retries, an item that raises becomes a failed row and never fails the job);
4. the driver streams the results (``iter_rows``) into the ledger.

An actor that dies (native crash, OOM) is restarted by Ray and its item retried twice; an item
that still kills its actor is dropped by Ray Data (``max_errored_blocks``) and recorded as failed.
A configuration error (missing model file) in an actor aborts the run with its message. Work
goes in waves of ``WAVE_ITEMS`` items so the driver never holds millions of blocks.

Actors die with the driver: a local Ray started by the driver shares its fate (Ray arms a
parent-death signal on the processes it starts), and on a cluster (``address``) the actors
belong to the driver's job, which Ray ends when the driver goes.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import asdict
from typing import Any, Iterator, Sequence

from copyloop.batch.worker import FATAL_ERRORS, ItemOutcome, ItemTask, limit_threads, load_factory, run_item
from copyloop.errors import CopyloopError, DependencyError
from copyloop.settings import Settings

log = logging.getLogger(__name__)

WAVE_ITEMS = 20_000
TASK_RETRIES = 2  # re-runs of an item whose actor died, before it is dropped and marked failed
# environment the actors need whatever the cluster's nodes have set (offline model loading, our
# settings); more names can be listed in COPYLOOP_RAY_ENV (comma-separated)
FORWARD_PREFIXES = ("COPYLOOP_", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "ANONYMIZED_TELEMETRY")
FORWARD_ENV_LIST = "COPYLOOP_RAY_ENV"


def import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the [ray] extra installs ray[data]
    except ImportError as exc:
        raise DependencyError("ray", "engine='ray' needs the optional dependency: pip install 'copyloop[ray]'") from exc
    return ray


def actor_env() -> dict[str, str]:
    """The driver's environment variables the actors get (see FORWARD_PREFIXES)."""
    extra = {n.strip() for n in os.environ.get(FORWARD_ENV_LIST, "").split(",") if n.strip()}
    return {k: v for k, v in os.environ.items() if k.startswith(FORWARD_PREFIXES) or k in extra}


class RayCluster:
    """A connection to Ray: the running one, the cluster at ``address``, or a local one we start.

    Only a Ray instance this object started is shut down by ``close``; a test's (or the
    caller's) ``ray.init`` stays up.
    """

    def __init__(self, address: str | None = None) -> None:
        self.ray = import_ray()
        self.started = False
        if not self.ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False,
                                      "runtime_env": {"env_vars": actor_env()}}
            if address is None:  # a private local instance listens on loopback only
                kwargs["_node_ip_address"] = "127.0.0.1"
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # nothing phones home
            try:
                self.ray.init(address=address, **kwargs)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise CopyloopError(f"cannot connect to Ray at {address or 'a new local instance'}: {exc}") from exc
            self.started = True

    def cpus(self) -> int:
        """CPUs of the whole cluster."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def node_cpus(self) -> int:
        """CPUs of the largest live node: an actor asking for more could never be placed."""
        sizes = [int(n.get("Resources", {}).get("CPU", 0)) for n in self.ray.nodes() if n.get("Alive")]
        return max([1, *sizes])

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
            self.started = False


class CopyActor:
    """The ``map_batches`` callable class: one engine per actor, one item per call.

    A start-up failure is kept and answered as a fatal outcome (like the local pool's initializer)
    instead of letting Ray retry the construction of an actor that can never work.
    """

    def __init__(self, settings: Settings, factory: str, threads: int) -> None:
        self.error: str | None = None
        self.engine: Any = None
        try:
            limit_threads(threads)
            self.engine = load_factory(factory)(settings)
        except Exception as exc:  # noqa: BLE001 - reported to the driver as a fatal outcome
            self.error = f"batch actor could not start: {type(exc).__name__}: {exc}"

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        import numpy as np

        out = []
        for raw in batch["task"]:
            task = task_from_json(str(raw))
            if self.error is not None:
                outcome = ItemOutcome(task, "fatal", error=self.error)
            else:
                try:
                    outcome = run_item(self.engine, task)
                except FATAL_ERRORS as exc:
                    outcome = ItemOutcome(task, "fatal", error=f"{type(exc).__name__}: {exc}")
            out.append(outcome_to_json(outcome))
        return {"outcome": np.array(out, dtype=object)}


# -- plain-JSON transport (the task's product dict has a different shape per row, which Arrow
#    columns would try to unify; a JSON string per row is shape-free) -----------------------------
def task_to_json(task: ItemTask) -> str:
    return json.dumps(asdict(task), ensure_ascii=False)


def task_from_json(text: str) -> ItemTask:
    data = json.loads(text)
    for key in ("feedback", "run_texts"):
        data[key] = tuple(data.get(key) or ())
    return ItemTask(**data)


def outcome_to_json(outcome: ItemOutcome) -> str:
    data = asdict(outcome)
    data["task"] = task_to_json(outcome.task)
    return json.dumps(data, ensure_ascii=False)


def outcome_from_json(text: str) -> ItemOutcome:
    data = json.loads(text)
    data["task"] = task_from_json(data["task"])
    return ItemOutcome(**data)


class RayRunner:
    """``Runner`` over Ray Data (see the module docstring). ``workers`` is the number of actors."""

    def __init__(self, settings: Settings, factory: str, workers: int, threads: int, cluster: RayCluster) -> None:
        from copyloop.settings import SlackSettings

        self.workers = workers
        self.threads = threads
        # actors get the settings through Ray's object store: leave out the secrets a batch never uses
        self._settings = settings.model_copy(update={
            "slack": SlackSettings(), "store": settings.store.model_copy(update={"postgres_dsn": None}),
        })
        self._factory = factory
        self._cluster = cluster

    def run(self, tasks: Sequence[ItemTask], on_done: Any) -> None:
        for start in range(0, len(tasks), WAVE_ITEMS):
            self._run_wave(tasks[start : start + WAVE_ITEMS], on_done)

    def _results(self, wave: Sequence[ItemTask]) -> Iterator[ItemOutcome]:
        ray = self._cluster.ray
        from ray.data import DataContext

        context = DataContext.get_current()
        saved = context.max_errored_blocks
        context.max_errored_blocks = -1  # a block (= one item) that keeps killing its actor is dropped, not fatal
        try:
            ds = ray.data.from_items([{"task": task_to_json(t)} for t in wave], override_num_blocks=len(wave))
            with warnings.catch_warnings():
                # max_task_retries has no named replacement yet (the [ray] extra stays below 2.64)
                warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated")
                ds = self._map(ds, min(self.workers, len(wave)))
            for row in ds.iter_rows():
                yield outcome_from_json(str(row["outcome"]))
        finally:
            context.max_errored_blocks = saved

    def _map(self, ds: Any, actors: int) -> Any:
        """``map_batches`` with the callable class: a fixed pool of ``actors``, one item per call."""
        from ray.data import ActorPoolStrategy

        return ds.map_batches(
            CopyActor,
            fn_constructor_args=(self._settings, self._factory, self.threads),
            compute=ActorPoolStrategy(size=actors),
            num_cpus=self.threads,  # = the engine's llama.cpp threads (settings.llm.n_threads)
            batch_size=1,
            batch_format="numpy",
            runtime_env={"env_vars": actor_env()},
            max_task_retries=TASK_RETRIES,  # Ray Data's default retries a crashing item forever
        )

    def _run_wave(self, wave: Sequence[ItemTask], on_done: Any) -> None:
        if not wave:
            return
        pending = {(t.key, t.phase): t for t in wave}
        try:
            for outcome in self._results(wave):
                if outcome.status == "fatal":
                    raise CopyloopError(outcome.error or "batch actor failed")
                if pending.pop((outcome.task.key, outcome.task.phase), None) is None:
                    continue  # a retried block delivered twice: the first result stands
                on_done(outcome)
        except CopyloopError:
            raise
        except Exception as exc:  # noqa: BLE001 - Ray's own failures (cluster gone, ...) become one clear error
            raise CopyloopError(f"the Ray batch failed: {type(exc).__name__}: {exc}") from exc
        for task in pending.values():  # dropped by Ray Data after its retries: the item killed its actor
            log.error("item %s/%s killed its Ray actor %d times; marked failed", task.product_id, task.channel,
                      TASK_RETRIES + 1)
            on_done(ItemOutcome(task, "failed", error="Ray actor died while refining this item"))

    def close(self) -> None:
        """Nothing to release: each wave's actors end with its dataset; the caller owns the cluster."""


__all__ = ["CopyActor", "RayCluster", "RayRunner", "WAVE_ITEMS", "actor_env", "import_ray"]
