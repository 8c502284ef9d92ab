"""Held-out evaluation of the conversion scorer on real A/B tests it never saw.

    .venv/bin/python bench/scorer_eval.py [--data ../shared/data] [--seed 0] [--cache DIR]

Splits the Upworthy tests by test_id (grouped, seeded: 80% train / 20% held out), trains the
scorer on the train split only (same code and config as `copyloop train-scorer`), and reports on
the held-out tests:
  * pairwise accuracy (which of two different headlines of a test had the higher CTR) on
    significant pairs (two-proportion |z| >= 1.96) and on all pairs with a difference, both for
    variants (rows with the same headline pooled) and for raw packages (rows);
  * calibration: expected calibration error and a reliability plot (bench/out/scorer_reliability.png);
  * baselines in the same run: "longer headline wins" and logistic regression on embedding
    differences (plain: sklearn defaults, no features, no n-grams);
  * how the *bundled* artifact's scores distribute on held-out headlines and on product copy
    (Amazon bullets and bullet-joined descriptions), which is what a refine threshold must fit.
Figures go to stdout and bench/out/scorer_eval.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def _embedding_lr(emb_train: np.ndarray, pairs_train, emb_test: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Baseline: logistic regression (sklearn defaults, no intercept) on embedding differences."""
    from sklearn.linear_model import LogisticRegression

    m = pairs_train.z != 0
    d = emb_train[pairs_train.i[m]] - emb_train[pairs_train.j[m]]
    y = (pairs_train.z[m] > 0).astype(int)
    lr = LogisticRegression(fit_intercept=False, max_iter=2000).fit(np.vstack([d, -d]), np.concatenate([y, 1 - y]))
    return emb_test @ lr.coef_[0]


def _product_texts(amazon_csv: Path) -> dict[str, list[str]]:
    """Real seller copy the bundled model did not use as its reference (the texts after those)."""
    from copyloop.training.reference_copy import REFERENCE_PER_CHANNEL, amazon_reference_texts

    return {k: v[REFERENCE_PER_CHANNEL:] for k, v in amazon_reference_texts(amazon_csv, per_channel=None).items()}


def _percentiles(x: np.ndarray) -> dict[str, float]:
    return {f"p{q}": round(float(np.percentile(x, q)), 3) for q in (5, 10, 25, 50, 75, 90, 95)} | {
        "min": round(float(x.min()), 3),
        "max": round(float(x.max()), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("COPYLOOP_SHARED_DATA", ROOT.parent / "shared" / "data")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--test-fraction", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--repeats", type=int, default=1, help="also report mean and sd over this many split seeds (seed, seed+1, ...)")
    ap.add_argument("--cache", type=Path, default=None, help="folder to keep embeddings between runs (texts.json + emb.npy)")
    args = ap.parse_args()

    from copyloop.agents.scorer import ConversionScorer
    from copyloop.tools.embeddings import load_embedder
    from copyloop.training.ab_log import ABLog, read_ab_log
    from copyloop.training.embedding_cache import CachedEmbedder
    from copyloop.training.pairs import variants_from_rows, within_test_pairs
    from copyloop.training.scorer_metrics import reliability, row_pairs, split_tests
    from copyloop.training.scorer_train import SIGNIFICANT_Z, TrainConfig, pair_accuracy, train_scorer

    csv_path = args.data / "upworthy" / "packages.csv"
    if not csv_path.is_file():
        print(f"no data at {csv_path}", file=sys.stderr)
        return 2
    log = read_ab_log(csv_path)
    train_rows, test_rows = split_tests(log.rows, args.test_fraction, args.seed)
    emb = CachedEmbedder(load_embedder())
    if args.cache and (args.cache / "emb.npy").is_file():
        emb.preload(json.loads((args.cache / "texts.json").read_text()), np.load(args.cache / "emb.npy"))

    t0 = time.perf_counter()
    train_log = ABLog(rows=train_rows, outcome="ctr", source=str(csv_path), sha256=log.sha256)
    artifact, report = train_scorer(train_log, emb, TrainConfig(seed=args.seed))
    train_seconds = time.perf_counter() - t0
    scorer = ConversionScorer(artifact, embedder=emb)
    slope = artifact.calibration.slope

    # held-out variants (rows with the same headline pooled) and raw packages
    tv = variants_from_rows(test_rows)
    tp = within_test_pairs(tv)
    u = scorer.utilities([v.text for v in tv])
    d = u[tp.i] - u[tp.j]
    ri, rj, rz = row_pairs(test_rows)
    u_rows = dict(zip([v.text for v in tv], u))
    d_rows = np.asarray([u_rows[test_rows[a].text] - u_rows[test_rows[b].text] for a, b in zip(ri, rj)])

    # baselines on the same pairs
    chars = np.asarray([len(v.text) for v in tv], dtype=np.float64)
    d_len = chars[tp.i] - chars[tp.j]
    trv = variants_from_rows(train_rows)
    trp = within_test_pairs(trv)
    e_train = emb.encode([v.text for v in trv]).astype(np.float64)
    e_test = emb.encode([v.text for v in tv]).astype(np.float64)
    u_lr = _embedding_lr(e_train, trp, e_test)
    d_lr = u_lr[tp.i] - u_lr[tp.j]

    sig = (np.abs(tp.z) >= SIGNIFICANT_Z) & (tp.z != 0)
    nz = tp.z != 0
    p = _sigmoid(slope * d)
    ece_sig, bins_sig = reliability(p[sig], tp.z[sig] > 0)
    ece_all, bins_all = reliability(p[nz], tp.z[nz] > 0)
    # single-text score vs the share of its own test's competitors it actually beat
    scores = np.asarray([s.score for s in scorer.score([v.text for v in tv])])

    figures = {
        "split": {
            "seed": args.seed,
            "train_tests": len({r.test_id for r in train_rows}),
            "heldout_tests": len({r.test_id for r in test_rows}),
            "heldout_variant_pairs": int(nz.sum()),
            "heldout_significant_pairs": int(sig.sum()),
            "heldout_package_pairs": int((rz != 0).sum()),
            "heldout_significant_package_pairs": int((np.abs(rz) >= SIGNIFICANT_Z).sum()),
        },
        "model": {
            "accuracy_significant": pair_accuracy(d, tp.z),
            "accuracy_all": pair_accuracy(d, tp.z, 0.0),
            "package_accuracy_significant": pair_accuracy(d_rows, rz),
            "package_accuracy_all": pair_accuracy(d_rows, rz, 0.0),
            "ece_significant": ece_sig,
            "ece_all": ece_all,
            "calibration_slope": slope,
            "train_oof_accuracy_significant": report.oof_accuracy_significant,
            "train_seconds": round(train_seconds, 1),
        },
        "baseline_longer_wins": {
            "accuracy_significant": pair_accuracy(d_len, tp.z),
            "accuracy_all": pair_accuracy(d_len, tp.z, 0.0),
        },
        "baseline_embedding_logreg": {
            "accuracy_significant": pair_accuracy(d_lr, tp.z),
            "accuracy_all": pair_accuracy(d_lr, tp.z, 0.0),
        },
        "reliability_significant": [b.model_dump() for b in bins_sig],
        "heldout_headline_scores": _percentiles(scores),
    }
    n_sig = int(sig.sum())
    acc = figures["model"]["accuracy_significant"] or 0.0
    figures["model"]["accuracy_significant_95ci"] = [
        round(float(acc - 1.96 * np.sqrt(acc * (1 - acc) / max(n_sig, 1))), 3),
        round(float(acc + 1.96 * np.sqrt(acc * (1 - acc) / max(n_sig, 1))), 3),
    ]

    # the bundled artifact (trained on all shared tests) on product-like text
    product: dict[str, dict] = {}
    product_scores: dict[str, np.ndarray] = {}
    amazon = args.data / "amazon_products" / "products.csv"
    bundled = None
    try:
        bundled = ConversionScorer.load(embedder=emb)
    except Exception as exc:  # noqa: BLE001 - a report, not a node: say why the section is missing
        print(f"(bundled artifact not loadable: {exc})", file=sys.stderr)
    if bundled is not None and amazon.is_file():
        texts = _product_texts(amazon)
        for channel, items in texts.items():
            product_scores[channel] = np.asarray([s.score for s in bundled.score(items, channel=channel)])
            product[channel] = _percentiles(product_scores[channel]) | {"n": len(items)}
            vs_headlines = np.asarray([s.score for s in bundled.score(items)])
            product[f"{channel} scored without a channel (vs news headlines)"] = _percentiles(vs_headlines)
        heads = sorted({v.text for v in tv})[:300]
        product["upworthy_headline (trained on)"] = _percentiles(
            np.asarray([s.score for s in bundled.score(heads)])
        ) | {"n": len(heads)}
    figures["bundled_scores_by_text_kind"] = product

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scorer_eval.json").write_text(json.dumps(figures, indent=2) + "\n")
    _plot(bins_sig, bins_all, scores, product_scores, args.out / "scorer_reliability.png", figures)
    if args.cache:
        args.cache.mkdir(parents=True, exist_ok=True)
        cached = list(emb._cache)
        (args.cache / "texts.json").write_text(json.dumps(cached))
        np.save(args.cache / "emb.npy", np.stack([emb._cache[t] for t in cached]))

    if args.repeats > 1:
        first = [figures["model"]["accuracy_significant"], figures["baseline_embedding_logreg"]["accuracy_significant"],
                 figures["baseline_longer_wins"]["accuracy_significant"]]
        figures["repeats"] = _repeats(log, emb, args, first)
    m, b1, b2 = figures["model"], figures["baseline_longer_wins"], figures["baseline_embedding_logreg"]
    print(f"held-out tests: {figures['split']['heldout_tests']} (train {figures['split']['train_tests']}), seed {args.seed}")
    print(f"held-out pairs: {figures['split']['heldout_variant_pairs']} with a difference, {n_sig} significant (|z| >= 1.96)")
    print(f"{'':34s} {'significant':>11s} {'all pairs':>10s}")
    print(f"{'scorer (emb + features + n-grams)':34s} {m['accuracy_significant']:11.3f} {m['accuracy_all']:10.3f}   95% CI sig {m['accuracy_significant_95ci']}")
    print(f"{'  same, package (row) pairs':34s} {m['package_accuracy_significant']:11.3f} {m['package_accuracy_all']:10.3f}")
    print(f"{'baseline: longer headline wins':34s} {b1['accuracy_significant']:11.3f} {b1['accuracy_all']:10.3f}")
    print(f"{'baseline: embedding logreg':34s} {b2['accuracy_significant']:11.3f} {b2['accuracy_all']:10.3f}")
    print(f"ECE significant pairs {m['ece_significant']:.3f}, all pairs {m['ece_all']:.3f} (slope {slope:.3f}); train {m['train_seconds']} s")
    if product:
        print("bundled model, scores on real seller copy it did not use as reference (percentiles):")
        print(f"  {'channel':24s} {'n':>4s} {'p10':>5s} {'p25':>5s} {'p50':>5s} {'p75':>5s} {'p90':>5s}   p50 if scored without the channel")
        for kind, pct in product.items():
            if "without a channel" in kind or "n" not in pct:
                continue
            alone = product.get(f"{kind} scored without a channel (vs news headlines)", {}).get("p50", float("nan"))
            print(f"  {kind:24s} {pct['n']:4d} {pct['p10']:5.2f} {pct['p25']:5.2f} {pct['p50']:5.2f} {pct['p75']:5.2f} {pct['p90']:5.2f}   {alone:.2f}")
    for name, vals in figures.get("repeats", {}).items():
        print(f"over {args.repeats} split seeds, {name}: mean {np.mean(vals):.3f} sd {np.std(vals):.3f} {[round(v, 3) for v in vals]}")
    print(f"wrote {args.out / 'scorer_eval.json'} and {args.out / 'scorer_reliability.png'}")
    return 0


def _repeats(log, emb, args, first: list[float]) -> dict[str, list[float]]:  # type: ignore[no-untyped-def]
    """Significant-pair accuracy of the model and the embedding baseline over several split seeds."""
    from copyloop.agents.scorer import ConversionScorer
    from copyloop.training.ab_log import ABLog
    from copyloop.training.pairs import variants_from_rows, within_test_pairs
    from copyloop.training.scorer_metrics import split_tests
    from copyloop.training.scorer_train import TrainConfig, pair_accuracy, train_scorer

    names = ["scorer significant", "embedding logreg significant", "longer wins significant"]
    out: dict[str, list[float]] = {n: [v] for n, v in zip(names, first)}
    for seed in range(args.seed + 1, args.seed + args.repeats):
        train_rows, test_rows = split_tests(log.rows, args.test_fraction, seed)
        art, _ = train_scorer(ABLog(rows=train_rows, outcome="ctr"), emb, TrainConfig(seed=seed))
        tv = variants_from_rows(test_rows)
        tp = within_test_pairs(tv)
        u = ConversionScorer(art, embedder=emb).utilities([v.text for v in tv])
        trv = variants_from_rows(train_rows)
        e_tr = emb.encode([v.text for v in trv]).astype(np.float64)
        u_lr = _embedding_lr(e_tr, within_test_pairs(trv), emb.encode([v.text for v in tv]).astype(np.float64))
        chars = np.asarray([len(v.text) for v in tv], dtype=np.float64)
        out["scorer significant"].append(pair_accuracy(u[tp.i] - u[tp.j], tp.z) or 0.0)
        out["embedding logreg significant"].append(pair_accuracy(u_lr[tp.i] - u_lr[tp.j], tp.z) or 0.0)
        out["longer wins significant"].append(pair_accuracy(chars[tp.i] - chars[tp.j], tp.z) or 0.0)
    return out


def _plot(bins_sig, bins_all, scores, product_scores, path: Path, figures: dict) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), dpi=80)
    ax.plot([0.5, 1], [0.5, 1], color="grey", lw=1, ls="--", label="perfect calibration")
    for bins, label, style in ((bins_sig, "significant pairs", "o-"), (bins_all, "all pairs", "s-")):
        ax.plot([b.confidence for b in bins], [b.accuracy for b in bins], style, label=label, ms=4)
    ax.set_xlabel("predicted P(predicted winner wins)")
    ax.set_ylabel("observed share won")
    ax.set_title(
        f"Held-out Upworthy pairs: ECE sig {figures['model']['ece_significant']:.3f}, all {figures['model']['ece_all']:.3f}",
        fontsize=9,
    )
    ax.legend(fontsize=8)
    ax.set_xlim(0.5, 1)
    ax.set_ylim(0.3, 1)
    ax2.hist(scores, bins=30, range=(0, 1), alpha=0.5, label="held-out headlines (eval model)", density=True)
    for kind in ("product_description", "amazon_bullet", "google_ads_headline"):  # the others look alike
        if kind in product_scores:
            ax2.hist(product_scores[kind], bins=20, range=(0, 1), histtype="step", lw=1.5, label=f"{kind} (bundled)", density=True)
    ax2.set_xlabel("score")
    ax2.set_title("Score distribution", fontsize=9)
    ax2.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
