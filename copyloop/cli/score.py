"""``copyloop score``: score JSON lines with the conversion scorer (a stable contract other tools call).

Input: one JSON object per line with a non-empty string ``text`` (other fields pass through).
Output: one JSON line per good input line, in input order, with ``score`` and ``explanation``
added. A bad line writes ``{"line": N, "error": "..."}`` to stderr and the run goes on; the exit
code is 2 if any line was bad, else 0. Blank lines count as bad, except blank lines at the very
end of the input (an editor's trailing newline), which are ignored.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from pathlib import Path
from typing import IO, Any, Iterator, Optional

import typer

from copyloop.cli._common import surface_errors

HELP = """Score marketing texts: P(text beats a typical competing variant in an A/B test).

Reads JSON lines {"text": "...", ...} from --input or stdin and writes each object back with "score" (0-1) and "explanation" added. A bad line (not JSON, not an object, no/empty "text") goes to stderr as {"line": N, "error": "..."}; the run continues and exits with code 2.

Pass --channel (or a "channel" field per line), e.g. product_description, amazon_bullet, google_ads_headline: the score then compares with typical copy of that channel (real Amazon seller copy for the bundled model); without one, texts are compared with news headlines and product copy scores low.

Pass --product P.json to score copy for that product: click appeal is then combined with product fit (does the text name the product, its type or brand; use its facts; borrow no other product's words; avoid filler and unsupported claims), so "The Best Product Ever" scores below "Harbor Lights 1000-Piece Puzzle". Without --product only product-free problems count (filler, superlatives, leftover prompt text).

Honesty note: the bundled model learned from Upworthy news-headline A/B tests (clicks on news headlines), not from product copy. On product descriptions and bullets it says how much the wording resembles winning headlines, a rough guide at best. Retrain it on your own shop's A/B logs with `copyloop train-scorer --ab-log FILE` to learn what converts for you, then pass the result with --model (or set COPYLOOP_SCORER__ARTIFACT_PATH).
"""

BATCH = 256


def _parse(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) for a good line, (None, reason) for a bad one."""
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(obj, dict):
        return None, f"not a JSON object but {type(obj).__name__}"
    if "text" not in obj:
        return None, 'no "text" field'
    text = obj["text"]
    if not isinstance(text, str):
        return None, f'"text" must be a string, got {type(text).__name__}'
    if not text.strip():
        return None, '"text" is empty'
    return obj, None


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, str | None]]:
    """Numbered lines (None: not UTF-8); blank lines are held back and dropped if only blanks follow."""
    pending: list[int] = []
    for n, raw in enumerate(stream, start=1):
        try:
            line: str | None = raw.decode("utf-8-sig" if n == 1 else "utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            line = None
        if line is not None and not line.strip():
            pending.append(n)
            continue
        for blank in pending:
            yield blank, ""
        pending.clear()
        yield n, line


def run_score(
    stream: IO[bytes], out: IO[str], err: IO[str], scorer: Any, channel: str | None,
    product: Any = None, registry: Any = None,
) -> int:
    """Score a stream; returns the number of bad lines. With ``product`` (a ProductBrief), the
    score combines click appeal with product fit (names it, uses its facts, nothing borrowed)."""
    bad = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        groups: dict[str | None, list[int]] = {}
        for k, obj in enumerate(batch):
            ch = obj.get("channel") if isinstance(obj.get("channel"), str) else channel
            groups.setdefault(ch, []).append(k)
        results: list[Any] = [None] * len(batch)
        for ch, members in groups.items():
            texts = [batch[k]["text"] for k in members]
            if product is not None:
                spec = registry.get(ch) if (registry is not None and ch and ch in registry) else None
                scored = scorer.score(texts, channel=ch, product=product, spec=spec)
            else:
                scored = scorer.score(texts, channel=ch)
            for k, res in zip(members, scored):
                results[k] = res
        for obj, res in zip(batch, results):
            obj["score"] = round(res.score, 4)
            obj["explanation"] = res.explanation
            out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        out.flush()
        batch.clear()

    for n, line in _lines(stream):
        if line is None:
            obj, error = None, "not UTF-8 text"
        else:
            obj, error = _parse(line) if line.strip() else (None, "blank line")
        if error is not None:
            bad += 1
            err.write(json.dumps({"line": n, "error": error}) + "\n")
            err.flush()
            continue
        assert obj is not None
        batch.append(obj)
        if len(batch) >= BATCH:
            flush()
    if batch:
        flush()
    return bad


def register(app: typer.Typer) -> None:
    @app.command("score", help=HELP)
    def score(
        input: Optional[Path] = typer.Option(None, "--input", "-i", help="JSON-lines file (default: stdin)", dir_okay=False),
        model: Optional[Path] = typer.Option(None, "--model", "-m", help="scorer artifact from `copyloop train-scorer` (default: bundled)"),
        channel: Optional[str] = typer.Option(None, "--channel", "-c", help="channel whose typical competitors to compare with (a line's own \"channel\" wins)"),
        product: Optional[Path] = typer.Option(
            None, "--product", "-p", dir_okay=False,
            help="product JSON file: the score then also says whether each text names this product and uses its facts (product fit)",
        ),
    ) -> None:
        # stderr carries the bad-line JSON records other tools parse: keep library chatter off it
        os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        os.environ.setdefault("TQDM_DISABLE", "1")
        warnings.filterwarnings("ignore", category=FutureWarning)

        from copyloop.agents.scorer import ConversionScorer
        from copyloop.errors import InputError
        from copyloop.settings import Settings

        with surface_errors():
            if input is not None and not input.is_file():
                raise InputError(f"input file not found: {input}", field="input")
            settings = Settings()
            scorer = ConversionScorer.load(model or settings.scorer.artifact_path)
            brief = registry = None
            if product is not None:
                from copyloop.engine import coerce_product
                from copyloop.tools.channels import ChannelRegistry

                if not product.is_file():
                    raise InputError(f"product file not found: {product}", field="product")
                try:
                    raw = json.loads(product.read_text(encoding="utf-8"))
                except ValueError as exc:
                    raise InputError(f"product file is not valid JSON: {exc}", field="product") from None
                brief = coerce_product(raw)
                registry = ChannelRegistry(settings.channels or None)
                if channel:
                    registry.get(channel)  # unknown channel: the error lists the known ones
            if input is None:
                bad = run_score(sys.stdin.buffer, sys.stdout, sys.stderr, scorer, channel, brief, registry)
            else:
                with input.open("rb") as fh:
                    bad = run_score(fh, sys.stdout, sys.stderr, scorer, channel, brief, registry)
        if bad:
            raise typer.Exit(code=2)
