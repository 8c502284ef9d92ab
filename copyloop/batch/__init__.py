"""Catalog batches: the refinement loop mapped over (product, channel) items, resumable.

``job`` plans and runs a batch (``rewrite_catalog``), ``runner``/``worker`` are the local process
pool, ``jobstore`` the SQLite ledger of finished items, ``output`` the atomic output and errors
files, ``diversity`` the catalog-level sameness pass, ``progress`` the terminal progress bar.
"""

from __future__ import annotations

from copyloop.batch.job import BatchSummary, Plan, column_map, item_seed, job_fingerprint, plan_catalog, rewrite_catalog, worker_threads

__all__ = ["BatchSummary", "Plan", "column_map", "item_seed", "job_fingerprint", "plan_catalog", "rewrite_catalog", "worker_threads"]
