"""``copyloop index FILE``: load past copy with its outcomes into the retrieval store.

The file is CSV or JSONL with ``text``, ``channel`` (or ``--channel``), optional ``category``,
and an outcome: ``ctr`` (a fraction or "3.2%"), ``clicks`` + ``impressions``, or a 0–1
``score``. Bad rows go to stderr as JSON lines ``{"line": N, "error": "..."}`` and make the exit
code 2, but every good row is still indexed. Re-indexing the same file changes nothing (ids are a
hash of channel and text).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from copyloop.cli._common import setup_logging, surface_errors


def register(app: typer.Typer) -> None:
    @app.command("index")
    def index(
        file: Path = typer.Argument(..., help="CSV or JSONL of past copy: text, channel, category, ctr or score"),
        channel: Optional[str] = typer.Option(
            None, "--channel", help="channel of rows that name none; rows naming another channel are rejected"
        ),
        replace: bool = typer.Option(
            False, "--replace", help="remove existing records first (only those of --channel when given)"
        ),
        as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="only errors"),
    ) -> None:
        """Index past marketing copy (with CTR or score) so drafting can learn from what performed."""
        setup_logging(quiet=quiet)
        with surface_errors():
            import time

            from copyloop.settings import Settings
            from copyloop.tools.channels import ChannelRegistry
            from copyloop.tools.store import CopyStore, PastCopy, read_past_copy

            settings = Settings()
            registry = ChannelRegistry.from_settings(settings)
            default_channel = registry.get(channel.strip().lower()).name if channel else None

            good: list[PastCopy] = []
            bad = 0
            for row in read_past_copy(file, default_channel=default_channel):
                error = row.error
                rec = row.record
                if rec is not None and rec.channel not in registry:
                    error = f"unknown channel {rec.channel!r}; known channels: {', '.join(registry.names())}"
                elif rec is not None and default_channel and rec.channel != default_channel:
                    error = f"channel {rec.channel!r} differs from --channel {default_channel}"
                if error is not None or rec is None:
                    bad += 1
                    sys.stderr.write(json.dumps({"line": row.line, "error": error}) + "\n")
                    continue
                good.append(rec)

            started = time.perf_counter()
            store = CopyStore.from_settings(settings)
            removed = store.delete(default_channel) if replace else 0
            report = store.add_report(good)
            seconds = time.perf_counter() - started
            summary = {
                "file": str(file),
                "store": store.url or str(store.path),
                "collection": store.collection_name,
                "indexed": report.total,
                "added": report.added,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "removed": removed,
                "bad_rows": bad,
                "total_in_store": store.count(),
                "seconds": round(seconds, 2),
            }
            if as_json:
                typer.echo(json.dumps(summary))
            elif not quiet:
                typer.echo(
                    f"Indexed {report.total} records from {file} into {summary['store']} "
                    f"(collection {store.collection_name}): {report.added} new, {report.updated} updated, "
                    f"{report.unchanged} unchanged"
                    + (f", {removed} removed first" if replace else "")
                    + f"; {bad} bad rows; the store now holds {summary['total_in_store']} records ({seconds:.1f} s)."
                )
        if bad:
            raise typer.Exit(code=2)
