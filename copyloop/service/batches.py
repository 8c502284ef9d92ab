"""Batch jobs of the service: a catalog rewritten for some channels, one job at a time, resumable.

Each job lives in ``<service path>/batches/<id>/``: ``spec.json`` (what to run), the output
``results.<fmt>`` with its ``.errors.jsonl`` and ``.jobs.sqlite`` (``rewrite_catalog``'s own job
store), ``summary.json`` when it ends and ``child.log``. The service ledger says which jobs are
owed. A supervisor thread runs them in order, each in a child process (see ``batch_child`` for
why), and on start-up first re-runs every job that was queued or running when the server stopped:
``rewrite_catalog`` skips the items its job store already holds, so a restart loses at most the
items that were being drafted.

Progress is read from the job store while the child writes it (SQLite WAL lets a reader in).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Literal, Protocol

from pydantic import BaseModel, Field

from copyloop.errors import InputError
from copyloop.service.catalogs import CatalogStore
from copyloop.service.errors import NotFound
from copyloop.service.ledger import Ledger
from copyloop.settings import Settings

log = logging.getLogger(__name__)

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
BATCH_ID_PATTERN = r"^[0-9a-f]{32}$"
BatchState = Literal["queued", "running", "done", "failed"]


class BatchStatus(BaseModel):
    """A batch job and how far it got."""

    id: str
    status: BatchState = Field(..., description="queued | running | done (finished; some items may have failed) | failed (could not run)")
    phase: Literal["waiting", "drafting", "diversity", "finished"] = "waiting"
    catalog_id: str
    filename: str = ""
    channels: list[str]
    output_format: str
    seed: int = 0
    limit: int | None = None
    diversity: bool = Field(True, description="re-draft copy that reads like other products' copy")
    products: int = Field(0, description="valid products in the catalog (after limit)")
    items: int = Field(0, description="(product, channel) items")
    done: int = Field(0, description="items drafted so far")
    failed: int = Field(0, description="items that failed so far")
    progress: float = Field(0.0, ge=0.0, le=1.0)
    runs: int = Field(0, description="how many times the job was started (more than 1: resumed)")
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    summary: dict[str, Any] | None = Field(None, description="the BatchSummary when the job ended")
    results_ready: bool = Field(False, description="the results file exists (it is rewritten as items finish)")


class Process(Protocol):
    pid: int
    returncode: int | None

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...

    def terminate(self) -> None: ...

    def kill(self) -> None: ...


Launcher = Callable[[Path, Path], Process]
"""``launch(spec_path, log_path)`` starts the child that runs one job."""


def launch_child(spec_path: Path, log_path: Path) -> Process:
    """The real launcher: ``python -m copyloop.service.batch_child spec.json``."""
    with open(log_path, "ab") as log_fh:
        return subprocess.Popen(
            [sys.executable, "-m", "copyloop.service.batch_child", str(spec_path)],
            stdin=subprocess.DEVNULL, stdout=log_fh, stderr=subprocess.STDOUT, close_fds=True,
        )


def _child_settings(settings: Settings) -> dict[str, Any]:
    """Settings for the child without secrets (it reads those from the environment, like the server)."""
    return settings.model_dump(mode="json", exclude={"api_keys": True, "slack": True, "store": {"postgres_dsn"}})


class BatchManager:
    def __init__(self, settings: Settings, ledger: Ledger, catalogs: CatalogStore, launcher: Launcher | None = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self.catalogs = catalogs
        self.launch = launcher or launch_child
        self.root = settings.service_path() / "batches"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._child: Process | None = None
        self._current: str | None = None
        self._lock = threading.Lock()

    # lifecycle ---------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the supervisor; jobs left queued or running by the last server run go first."""
        owed = self.ledger.batches(("running", "queued"))
        if owed:
            log.info("resuming %d batch job(s) left by the previous run", len(owed))
        self._thread = threading.Thread(target=self._supervise, name="copyloop-batches", daemon=True)
        self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the supervisor and the running child; the job stays 'running' so the next start resumes it."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            child = self._child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
        if self._thread is not None:
            self._thread.join(timeout)

    @property
    def running(self) -> int:
        return 1 if self._current else 0

    # jobs --------------------------------------------------------------------------------------
    def create(self, catalog_id: str, channels: list[str], output_format: str = "jsonl", seed: int = 0,
               limit: int | None = None, diversity: bool = True) -> BatchStatus:
        from copyloop.tools.channels import ChannelRegistry

        self.catalogs.info(catalog_id)  # NotFound
        names = [c.strip() for c in channels if c.strip()]
        names = list(dict.fromkeys(names))
        if not names:
            raise InputError("at least one channel is needed", field="channels")
        registry = ChannelRegistry(self.settings.channels or None)
        for name in names:
            registry.get(name)  # UnknownChannelError lists the known channels
        if output_format not in OUTPUT_FORMATS:
            raise InputError(f"output_format must be one of {', '.join(OUTPUT_FORMATS)}", field="output_format")
        if limit is not None and limit < 1:
            raise InputError("limit must be at least 1", field="limit")
        bid = uuid.uuid4().hex
        (self.root / bid).mkdir(parents=True, exist_ok=True)
        self.ledger.add_batch(bid, catalog_id, names, output_format, seed, limit, diversity)
        self._wake.set()
        return self.status(bid)

    def resume(self, bid: str) -> BatchStatus:
        """Queue a finished or failed job again: only missing and failed items are redone."""
        row = self._row(bid)
        if row["status"] in ("queued", "running"):
            return self.status(bid)
        self.ledger.requeue(bid)
        for name in ("summary.json", "error.json"):
            (self.root / bid / name).unlink(missing_ok=True)
        self._wake.set()
        return self.status(bid)

    def _row(self, bid: str) -> dict[str, Any]:
        row = self.ledger.batch(bid)
        if row is None:
            raise NotFound(f"no batch {bid!r}", field="batch_id")
        return row

    def output_path(self, bid: str) -> Path:
        row = self._row(bid)
        return self.root / bid / f"results.{row['out_format']}"

    def errors_path(self, bid: str) -> Path:
        out = self.output_path(bid)
        return out.with_name(out.name + ".errors.jsonl")

    def list(self) -> list[BatchStatus]:
        return [self.status(r["id"]) for r in self.ledger.batches()]

    def status(self, bid: str) -> BatchStatus:
        row = self._row(bid)
        info = self.catalogs.info(row["catalog_id"])
        products = min(info.products, row["limit_n"]) if row["limit_n"] else info.products
        items = products * len(row["channels"])
        done, failed = self._counts(bid)
        summary = row["summary"]
        status: BatchState = row["status"]
        if summary is not None:
            done = int(summary.get("done", 0)) + int(summary.get("skipped", 0))
            failed = int(summary.get("failed", 0))
            items = int(summary.get("items", items))
        finished = status in ("done", "failed")
        if finished:
            phase = "finished"
        elif status == "running":
            phase = "drafting" if done + failed < items else "diversity"
        else:
            phase = "waiting"
        progress = 1.0 if finished else min(1.0, (done + failed) / items) if items else 0.0
        return BatchStatus(
            id=bid, status=status, phase=phase, catalog_id=row["catalog_id"], filename=info.filename,
            channels=row["channels"], output_format=row["out_format"], seed=row["seed"], limit=row["limit_n"],
            diversity=row["diversity"],
            products=products, items=items, done=done, failed=failed, progress=round(progress, 4), runs=row["runs"],
            created=row["created"], started=row["started"], finished=row["finished"], error=row["error"],
            summary=summary, results_ready=self.output_path(bid).is_file(),
        )

    def _counts(self, bid: str) -> tuple[int, int]:
        """(done, failed) draft items in the job store, read while the child writes it."""
        store_path = self.output_path(bid).with_name(self.output_path(bid).name + ".jobs.sqlite")
        if not store_path.is_file():
            return 0, 0
        from copyloop.batch.jobstore import JobStore

        try:
            with JobStore(store_path) as store:
                jobs = store.jobs()
                if not jobs:
                    return 0, 0
                job_id = jobs[-1]["job_id"]
                return store.count(job_id, "done", "draft"), store.count(job_id, "failed", "draft")
        except Exception as exc:  # noqa: BLE001 - a busy or half-created store is "no progress yet"
            log.debug("batch %s: progress not readable yet: %s", bid, exc)
            return 0, 0

    # the supervisor ----------------------------------------------------------------------------
    def _supervise(self) -> None:
        while not self._stop.is_set():
            owed = self.ledger.batches(("running", "queued"))
            owed.sort(key=lambda r: (r["status"] != "running", r["created"]))
            if not owed:
                self._wake.wait(timeout=5.0)
                self._wake.clear()
                continue
            try:
                self._run_one(owed[0])
            except Exception:  # noqa: BLE001 - one broken job must not stop the others
                log.exception("batch %s could not be run", owed[0]["id"])
                self.ledger.mark_finished(owed[0]["id"], "failed", None, "internal error (see the server log)")

    def _run_one(self, row: dict[str, Any]) -> None:
        bid = row["id"]
        folder = self.root / bid
        folder.mkdir(parents=True, exist_ok=True)
        source = self.catalogs.path(row["catalog_id"])
        spec = {
            "source": str(source),
            "channels": row["channels"],
            "out": str(self.output_path(bid)),
            "workers": self.settings.service.batch_workers,
            "limit": row["limit_n"],
            "seed": row["seed"],
            "diversity": row["diversity"],
            "columns": self.catalogs.columns(row["catalog_id"]),
            "settings": _child_settings(self.settings),
            "parent_pid": os.getpid(),
        }
        spec_path = folder / "spec.json"
        spec_path.write_text(json.dumps(spec, default=str), encoding="utf-8")
        for name in ("summary.json", "error.json"):
            (folder / name).unlink(missing_ok=True)
        self.ledger.mark_running(bid)
        log.info("batch %s: starting (%s, %s)", bid, source.name, ",".join(row["channels"]))
        for attempt in range(20):
            child = self.launch(spec_path, folder / "child.log")
            with self._lock:
                self._child, self._current = child, bid
            code = self._wait(child)
            with self._lock:
                self._child, self._current = None, None
            if self._stop.is_set():
                return  # the server is stopping: stay "running", the next start resumes
            error = self._read(folder / "error.json")
            if code == 2 and error and "another batch is already writing" in str(error.get("error")):
                time.sleep(1.0)  # a child of a dead server is still exiting; try again
                continue
            break
        summary = self._read(folder / "summary.json")
        if code in (0, 1) and summary is not None:
            self.ledger.mark_finished(bid, "done", summary, None)
            log.info("batch %s: finished (%s items failed)", bid, summary.get("failed"))
        else:
            reason = (error or {}).get("error") or f"the batch process ended with code {code} (see {folder / 'child.log'})"
            self.ledger.mark_finished(bid, "failed", summary, str(reason)[:2000])
            log.warning("batch %s failed: %s", bid, reason)

    def _wait(self, child: Process) -> int:
        while True:
            code = child.poll()
            if code is not None:
                return code
            if self._stop.wait(0.5):
                return child.poll() if child.poll() is not None else -1

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | None:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None


__all__ = ["BATCH_ID_PATTERN", "BatchManager", "BatchStatus", "Launcher", "OUTPUT_FORMATS", "launch_child"]
