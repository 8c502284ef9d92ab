"""Closing the loop: an experiment's results become training data and exemplars.

1. **A/B log** in the ``copyloop train-scorer --ab-log`` format (``test_id, text, impressions,
   clicks, conversions, channel, category``; ``copyloop.training.ab_log`` reads it). One row per
   variant, ``test_id`` = the experiment id. Clicks and conversions are the variant's
   *period-stratified* rates times its impressions (rounded): under a bandit the raw counts mix
   each arm's rate over different times, and the scorer compares rates within a test; under a
   fixed split they equal the raw counts (kept beside them as ``raw_clicks``,
   ``raw_conversions``). The conversions column is left empty when the experiment recorded none,
   so the log's outcome stays CTR. Rows are upserted by ``test_id`` into the shop's accumulated
   log (re-closing never duplicates) and the file is replaced atomically.
2. **Retrieval store**: the winner goes into the store of past high-converting copy with its
   observed CTR, so the drafter's next exemplars include what won on real traffic.
"""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

LOG_COLUMNS = [
    "test_id", "text", "impressions", "clicks", "conversions", "channel", "category",
    "variant_id", "is_control", "winner", "raw_clicks", "raw_conversions",
]


def ab_log_rows(
    experiment_id: str,
    channel: str,
    category: str,
    variants: Iterable[Any],
    winner: str | None,
    any_conversions: bool,
) -> list[dict[str, Any]]:
    """Rows of the A/B log for an experiment's ``VariantStatus`` list (arms never shown are left out)."""
    rows = []
    for v in variants:
        if v.impressions < 1:
            continue
        rows.append(
            {
                "test_id": experiment_id,
                "text": v.text,
                "impressions": v.impressions,
                "clicks": min(v.impressions, int(round(v.ctr * v.impressions))),
                "conversions": min(v.impressions, int(round(v.cvr * v.impressions))) if any_conversions else "",
                "channel": channel,
                "category": category,
                "variant_id": v.variant_id,
                "is_control": int(v.is_control),
                "winner": int(v.variant_id == winner),
                "raw_clicks": v.clicks,
                "raw_conversions": v.conversions,
            }
        )
    return rows


def upsert_ab_log(path: Path, rows: list[dict[str, Any]]) -> int:
    """Replace the rows of these tests in the log at ``path`` (created if missing), atomically."""
    path = Path(path).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    tests = {str(r["test_id"]) for r in rows}
    kept: list[dict[str, Any]] = []
    columns = list(LOG_COLUMNS)
    if path.is_file() and path.stat().st_size > 0:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for name in reader.fieldnames or []:
                if name and name not in columns:
                    columns.append(name)
            kept = [r for r in reader if str(r.get("test_id", "")) not in tests]
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(kept)
            writer.writerows(rows)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(rows)


def index_winners(store: Any, records: list[dict[str, Any]]) -> int:
    """Add winners (``PastCopy`` fields: text, channel, category, ctr, source) to the retrieval store.

    The store is seeded with the bundled exemplars first: an empty store that received only the
    winner would never be seeded afterwards (seeding happens only when it is empty).
    """
    if not records:
        return 0
    if hasattr(store, "ensure_seeded"):
        store.ensure_seeded()
    return int(store.add(records))


__all__ = ["LOG_COLUMNS", "ab_log_rows", "index_winners", "upsert_ab_log"]
