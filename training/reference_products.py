"""Build the reference set of *other* products that the drafter checks topicality against.

    python -m copyloop.training.reference_products [--csv ../shared/data/amazon_products/products.csv]
                                                   [--out agents/artifacts/reference_products.npz]

Why (issue #11): a sentence about this product should read closer to this product's data than to
any other product's data ("sentences about another product" is how copy quality is measured). The
drafter can only check that against other products it knows, so it ships MiniLM embeddings of the
data of the catalog's *training* products (never the held-out ones the fine-tuning split keeps
aside, agents/artifacts/drafter_lora.heldout.txt), embedded exactly as a product is embedded at
run time (``product_data_text``). Deterministic: same catalog and model, same file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT.parent / "shared" / "data" / "amazon_products" / "products.csv"
DEFAULT_OUT = ROOT / "agents" / "artifacts" / "reference_products.npz"
HELDOUT = ROOT / "agents" / "artifacts" / "drafter_lora.heldout.txt"


def build(csv: Path, out: Path, heldout: Path = HELDOUT) -> int:
    from copyloop.agents.topicality import product_data_text
    from copyloop.tools.catalog import read_catalog
    from copyloop.tools.embeddings import load_embedder

    skip = {line.strip() for line in heldout.read_text().splitlines() if line.strip() and not line.startswith("#")}
    products = [r.product for r in read_catalog(csv) if r.product is not None and r.product.id not in skip]
    products.sort(key=lambda p: str(p.id))
    texts = [product_data_text(p) for p in products]
    vectors = load_embedder().encode(texts).astype(np.float16)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, vectors=vectors, ids=np.array([str(p.id) for p in products]))
    print(f"{len(products)} training products ({len(skip)} held out) -> {out} ({out.stat().st_size / 1e6:.2f} MB)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", type=Path, default=DEFAULT_CSV)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    return build(args.csv, args.out)


if __name__ == "__main__":
    sys.exit(main())
