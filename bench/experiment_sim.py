"""Market simulator for live A/B experiments: policies compared, decision rule checked, loop end to end.

    .venv/bin/python bench/experiment_sim.py [--runs 200] [--horizon 60000] [--products 8] [--channel product_description]

Ground truth (bench/_market.py): a logistic regression on MiniLM embeddings of within-test pairs,
trained on half of the Upworthy tests (never used by the loop), maps each text to a true CTR on a
1–5 % base; the market adds weekly seasonality, fatigue with exposure and delayed conversions.

Part 1 — policies, with the *same* functions the live experiment runs (copyloop.experiments.
analysis.next_weights / analyze) on K held-out Upworthy headlines per run: equal split with a
fixed horizon (the rule applied once, at the end), batched Thompson sampling and top-two Thompson
(stopping at the first declared winner, then serving it), and Thompson that also requires the
always-valid mSPRT against every arm (the default under a fixed split) to show what it costs. Reported: cumulative regret (clicks lost
against always showing the best arm), P(correct winner), share decided, time to decision, the A/A
false-winner rate, and the bias of the final estimates (period-stratified vs naive pooled).
Part 2 — fatigue: detection rate of a decaying winner vs false alarms.
Part 3 — end to end (``--products N``, the real model): the loop writes K variants for held-out
Amazon products, the seller's own copy is the control, simulated traffic runs through the real
``copyloop.Experiment`` API (SQLite, assign/record/status, simulated clock), and the winner's true
CTR lift over the control is reported beside the paper's +12.5 %.

Figures go to stdout, bench/out/experiment_sim.json and PNG plots in bench/out/.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _market import GroundTruth, Market  # noqa: E402

from copyloop.experiments.analysis import Evidence, analyze, next_weights  # noqa: E402
from copyloop.experiments.policy import ExperimentPolicy  # noqa: E402
from copyloop.experiments.stats import decay_trend, stratify  # noqa: E402

POLICIES = {
    "fixed": ("fixed", {}),
    "thompson": ("thompson", {}),
    "top_two": ("top_two", {}),
    "thompson_msprt": ("thompson", {"alpha": 0.05}),
}
PAPER_CTR_LIFT = 0.125


@dataclass
class RunResult:
    decided: bool
    winner: int | None
    correct: bool
    decision_impressions: int | None
    regret: np.ndarray
    strat_bias: list[float] = field(default_factory=list)
    naive_bias: list[float] = field(default_factory=list)
    decision: str = ""


def simulate(
    policy_name: str,
    base: np.ndarray,
    market: Market,
    horizon: int,
    batch: int,
    seed: int,
    conv_per_click: np.ndarray | None = None,
) -> RunResult:
    """One experiment in the simulated market, with the live experiment's allocation and decision code."""
    allocation, overrides = POLICIES[policy_name]
    policy = ExperimentPolicy(seed=seed, **overrides)
    rng = np.random.default_rng(seed)
    k = len(base)
    periods = horizon // batch
    imp = np.zeros((k, periods))
    clk = np.zeros((k, periods))
    conv = np.zeros((k, periods))
    wts = np.zeros((k, periods))
    ends = np.full(periods, np.inf)
    truth_ctr = np.zeros((k, periods))
    exposure = np.zeros(k)
    pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    q = conv_per_click if conv_per_click is not None else np.full(k, market.conversion_per_click)
    regret = np.zeros(periods)
    t_h = 0.0
    winner: int | None = None
    decided_at: int | None = None
    decision = ""
    snapshot: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    best_true = int(np.argmax(base))
    for p in range(periods):
        ev = Evidence([f"v{i}" for i in range(k)], np.ones(k, bool), imp[:, :p], clk[:, :p], conv[:, :p],
                      wts[:, :p], imp[:, :p], ends[:p])
        if winner is not None:
            w = np.eye(k)[winner]
        else:
            w, _ = next_weights(ev, allocation, "ctr", policy)
        wts[:, p] = w
        n = rng.multinomial(batch, w)
        dt = batch / market.traffic_per_hour
        ctr_now = base * market.season(t_h + dt / 2) * market.fatigue(exposure)
        truth_ctr[:, p] = ctr_now
        c = rng.binomial(n, np.clip(ctr_now, 0, 1))
        imp[:, p], clk[:, p] = n, c
        exposure += n
        regret[p] = float(np.sum(n * (ctr_now.max() - ctr_now)))
        conversions = rng.binomial(c, q)
        if conversions.sum():
            arms = np.repeat(np.arange(k), conversions)
            arrive = t_h + rng.uniform(0, dt, len(arms)) + rng.exponential(market.conversion_delay_h, len(arms))
            pending.append((arms, np.full(len(arms), p), arrive))
        t_h += dt
        ends[p] = t_h * 3600.0
        still = []
        for arms, per, arrive in pending:
            done = arrive <= t_h
            np.add.at(conv, (arms[done], per[done]), 1)
            if (~done).any():
                still.append((arms[~done], per[~done], arrive[~done]))
        pending = still
        sequential = allocation != "fixed"
        if winner is None and (sequential or p == periods - 1):
            ev = Evidence([f"v{i}" for i in range(k)], np.ones(k, bool), imp[:, : p + 1], clk[:, : p + 1],
                          conv[:, : p + 1], wts[:, : p + 1], imp[:, : p + 1], ends[: p + 1])
            an = analyze(ev, "ctr", policy, t_h * 3600.0, allocation=allocation)
            decision = an.decision
            if an.winner is not None:
                winner, decided_at = an.winner, p + 1
                snapshot = (imp[:, : p + 1].copy(), clk[:, : p + 1].copy(), truth_ctr[:, : p + 1].copy())
    if snapshot is None:
        snapshot = (imp, clk, truth_ctr)
    s_imp, s_clk, s_truth = snapshot
    est = stratify(s_imp, s_clk)
    naive = s_clk.sum(axis=1) / np.maximum(1, s_imp.sum(axis=1))
    truth = s_truth.mean(axis=1)  # every period has the same size: the period-weighted average CTR
    return RunResult(
        decided=winner is not None,
        winner=winner,
        correct=winner == best_true,
        decision_impressions=None if decided_at is None else decided_at * batch,
        regret=np.cumsum(regret),
        strat_bias=list((est.rate - truth) / truth),
        naive_bias=list((naive - truth) / truth),
        decision=decision,
    )


def policy_study(gt: GroundTruth, args: argparse.Namespace, market: Market) -> dict:
    rng = np.random.default_rng(args.seed)
    draws = gt.holdout_tests(args.arms, rng, args.runs)
    bases = rng.uniform(0.01, 0.05, args.runs)
    out: dict = {}
    for name in POLICIES:
        started = time.perf_counter()
        results = []
        aa = []
        for r in range(args.runs):
            u = draws[r]
            ctrs = gt.ctrs(u, bases[r], float(np.mean(u)))
            results.append(simulate(name, ctrs, market, args.horizon, args.batch, args.seed + r))
            if r < args.aa_runs:
                flat = np.full(args.arms, bases[r])
                aa.append(simulate(name, flat, market, args.horizon, args.batch, 10_000 + args.seed + r))
        times = [x.decision_impressions for x in results if x.decision_impressions is not None]
        gaps = []
        for r in range(args.runs):
            c = gt.ctrs(draws[r], bases[r], float(np.mean(draws[r])))
            s = np.sort(c)
            gaps.append((s[-1] - s[-2]) / s[-2])
        out[name] = {
            "runs": args.runs,
            "regret_clicks_mean": float(np.mean([x.regret[-1] for x in results])),
            "regret_curve": np.mean([x.regret for x in results], axis=0).tolist(),
            "p_correct_winner": float(np.mean([x.correct for x in results])),
            "decided": float(np.mean([x.decided for x in results])),
            "p_correct_given_decided": float(np.mean([x.correct for x in results if x.decided])) if any(x.decided for x in results) else None,
            "time_to_decision_median": float(np.median(times)) if times else None,
            "time_to_decision_all": times,
            "aa_runs": len(aa),
            "aa_false_winner_rate": float(np.mean([x.decided for x in aa])) if aa else None,
            "bias_stratified_mean": float(np.mean([b for x in results for b in x.strat_bias])),
            "bias_naive_mean": float(np.mean([b for x in results for b in x.naive_bias])),
            "abs_bias_stratified_mean": float(np.mean([abs(b) for x in results for b in x.strat_bias])),
            "abs_bias_naive_mean": float(np.mean([abs(b) for x in results for b in x.naive_bias])),
            "bias_stratified_winner": float(np.mean([x.strat_bias[x.winner] for x in results if x.winner is not None] or [np.nan])),
            "bias_naive_winner": float(np.mean([x.naive_bias[x.winner] for x in results if x.winner is not None] or [np.nan])),
            "median_relative_gap_best_vs_second": float(np.median(gaps)),
            "seconds": round(time.perf_counter() - started, 1),
        }
        o = out[name]
        print(
            f"{name:22s} regret {o['regret_clicks_mean']:7.1f} clicks | P(correct) {o['p_correct_winner']:.3f} "
            f"| decided {o['decided']:.2f} | median time to decision {o['time_to_decision_median']} | "
            f"A/A false winners {o['aa_false_winner_rate']} | bias strat {o['bias_stratified_mean']:+.4f} "
            f"naive {o['bias_naive_mean']:+.4f} (winner: {o['bias_stratified_winner']:+.4f} / {o['bias_naive_winner']:+.4f}) "
            f"| {o['seconds']} s",
            flush=True,
        )
    return out


def fatigue_study(args: argparse.Namespace) -> dict:
    """Detection of a decaying winner (relative to the other arms) vs false alarms, daily windows."""
    policy = ExperimentPolicy()
    rng = np.random.default_rng(args.seed + 5)
    results = {}
    for label, share in (("decaying", 0.5), ("steady", 0.0)):
        hits = 0
        for r in range(args.fatigue_runs):
            market = Market(fatigue_share=0.0)
            base = np.array([0.03, 0.025, 0.025])
            hours = args.horizon / market.traffic_per_hour
            windows = int(hours // 24)
            imp = np.zeros((3, windows))
            clk = np.zeros((3, windows))
            for w in range(windows):
                n = rng.multinomial(int(24 * market.traffic_per_hour), [0.6, 0.2, 0.2])
                decay = np.array([1.0 - share * w / max(1, windows - 1), 1.0, 1.0])
                c = base * market.season(24 * w + 12) * decay
                imp[:, w], clk[:, w] = n, rng.binomial(n, c)
            trend = decay_trend(imp[0], clk[0], imp[1:].sum(0), clk[1:].sum(0))
            hits += bool(trend and trend.p_value < policy.fatigue_alpha and trend.drop >= policy.fatigue_min_drop)
        results[label] = hits / args.fatigue_runs
    print(f"fatigue: a winner losing 50 % over the run is flagged in {results['decaying']:.0%} of {args.fatigue_runs} runs; "
          f"a steady one in {results['steady']:.0%} (false alarms)", flush=True)
    return {"runs": args.fatigue_runs, "detected_decaying": results["decaying"], "false_alarm_steady": results["steady"]}


# ---------------------------------------------------------------------------------- end to end
def _seller_copy(rec: dict, channel: str) -> str | None:
    bullets = [" ".join(b.split()) for b in (rec.get("about_product") or "").split(" | ")]
    bullets = [b for b in bullets if b and not b.lower().startswith("make sure this fits") and len(b) <= 400]
    if channel == "product_description":
        desc: list[str] = []
        for b in bullets:
            if len(" ".join(desc + [b]).split()) > 150:
                break
            desc.append(b)
        text = " ".join(desc)
        return text if len(text.split()) >= 50 else None
    if channel == "amazon_bullet":
        return "\n".join(bullets[:5]) if len(bullets) >= 3 else None
    if channel == "amazon_title":
        return " ".join((rec.get("product_name") or "").split()) or None
    return None


def end_to_end(gt: GroundTruth, args: argparse.Namespace, market: Market) -> dict:
    from copyloop.engine import Engine
    from copyloop.experiments import Experiment
    from copyloop.settings import Settings
    from copyloop.tools.catalog import read_catalog

    data = Path(args.data)
    held = {line.strip() for line in (ROOT / "agents/artifacts/drafter_lora.heldout.txt").read_text().splitlines()
            if line.strip() and not line.startswith("#")}
    raw = {}
    with (data / "amazon_products/products.csv").open(encoding="utf-8", newline="") as fh:
        for rec in csv.DictReader(fh):
            raw[rec["uniq_id"]] = rec
    products = []
    for row in read_catalog(data / "amazon_products/products.csv"):
        if row.product is None or row.product_id not in held:
            continue
        control = _seller_copy(raw[row.product_id], args.channel)
        if control:
            products.append((row.product_id, row.product, control))
        if len(products) >= args.products:
            break
    home = Path(tempfile.mkdtemp(prefix="copyloop-e2e-"))
    settings = Settings(home=home)
    engine = Engine(settings)
    rng = np.random.default_rng(args.seed + 99)
    rows = []
    for n, (pid, product, control) in enumerate(products):
        clock = [1_800_000_000.0]
        started = time.perf_counter()
        load = os.getloadavg()[0]
        exp = Experiment.create(product, args.channel, variants=args.arms, control=control, settings=settings,
                                engine=engine, seed=args.seed, clock=lambda: clock[0])
        seconds_loop = time.perf_counter() - started
        arms = exp.variants()
        u = gt.utility([v.text for v in arms])
        base = float(rng.uniform(0.01, 0.05))
        true = gt.ctrs(u, base, float(u[0]))  # the control sits at the base CTR
        ids = [v.variant_id for v in arms]
        decided_at = None
        unit_no = 0
        events: list[dict] = []
        for b in range(args.horizon // args.batch):
            for _ in range(args.batch):
                unit = f"{pid[:8]}-{unit_no}"
                unit_no += 1
                vid = exp.assign(unit)
                i = ids.index(vid)
                t = clock[0]
                ctr = true[i] * market.season(t / 3600.0 - 500_000)
                events.append({"event_id": f"i{unit_no}", "type": "impression", "unit": unit, "ts": t})
                if rng.random() < ctr:
                    events.append({"event_id": f"c{unit_no}", "type": "click", "unit": unit, "ts": t})
                clock[0] += 3600.0 / market.traffic_per_hour
            exp.record(events)
            events = []
            st = exp.status()
            if st.winner is not None:
                decided_at = (b + 1) * args.batch
                break
        st = exp.status()
        report = exp.close(index=False)
        win = ids.index(report.winner) if report.winner else 0  # no winner: the shop keeps its own copy
        variant_true = true[1:]
        row = {
            "product_id": pid,
            "title": product.title[:80],
            "variants": len(arms) - 1,
            "control_ctr": float(true[0]),
            "variant_ctrs": [float(x) for x in variant_true],
            "winner": report.winner,
            "decision": st.decision,
            "decided_after_impressions": decided_at,
            "winner_lift": float(true[win] / true[0] - 1.0),
            "best_variant_lift": float(variant_true.max() / true[0] - 1.0),
            "mean_variant_lift": float(variant_true.mean() / true[0] - 1.0),
            "top_scored_variant_lift": float(true[1 + int(np.argmax([v.predicted_score or 0 for v in arms[1:]]))] / true[0] - 1.0),
            "seconds_writing_variants": round(seconds_loop, 1),
            "load_average": round(load, 2),
        }
        rows.append(row)
        print(f"[{n + 1}/{len(products)}] {pid[:8]} {row['title'][:40]!r}: control {row['control_ctr']:.4f}, variants "
              f"{', '.join(f'{x:.4f}' for x in variant_true)} -> {st.decision} {report.winner} "
              f"(lift {row['winner_lift']:+.1%}, best variant {row['best_variant_lift']:+.1%}); "
              f"variants written in {seconds_loop:.0f} s, load {load:.2f}", flush=True)
    lifts = np.array([r["winner_lift"] for r in rows]) if rows else np.zeros(0)
    summary = {
        "channel": args.channel,
        "products": len(rows),
        "mean_winner_ctr_lift": float(lifts.mean()) if rows else None,
        "median_winner_ctr_lift": float(np.median(lifts)) if rows else None,
        "mean_best_variant_lift": float(np.mean([r["best_variant_lift"] for r in rows])) if rows else None,
        "mean_variant_lift": float(np.mean([r["mean_variant_lift"] for r in rows])) if rows else None,
        "share_variants_beating_control": float(np.mean([x > r["control_ctr"] for r in rows for x in r["variant_ctrs"]])) if rows else None,
        "decided": float(np.mean([r["winner"] is not None for r in rows])) if rows else None,
        "paper_ctr_lift": PAPER_CTR_LIFT,
        "rows": rows,
    }
    if rows:
        print(f"end to end ({len(rows)} held-out products, {args.channel}): the declared winner's CTR beats the seller's "
              f"copy by {summary['mean_winner_ctr_lift']:+.1%} on average (median {summary['median_winner_ctr_lift']:+.1%}); "
              f"best loop variant {summary['mean_best_variant_lift']:+.1%}, average variant {summary['mean_variant_lift']:+.1%}; "
              f"paper: {PAPER_CTR_LIFT:+.1%}", flush=True)
    return summary


# ------------------------------------------------------------------------------------- plots
def plots(results: dict, out: Path, args: argparse.Namespace) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pol = results["policies"]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    x = (np.arange(args.horizon // args.batch) + 1) * args.batch
    for name, r in pol.items():
        ax.plot(x, r["regret_curve"], label=name)
    ax.set_xlabel("impressions")
    ax.set_ylabel("cumulative regret (clicks lost vs best arm)")
    ax.set_title(f"Regret, {args.arms} arms from held-out Upworthy tests, {args.runs} runs")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "experiment_regret.png", dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(pol)
    width = 0.27
    idx = np.arange(len(names))
    axes[0].bar(idx - width, [pol[n]["p_correct_winner"] for n in names], width, label="P(correct winner)")
    axes[0].bar(idx, [pol[n]["decided"] for n in names], width, label="decided within horizon")
    axes[0].bar(idx + width, [pol[n]["aa_false_winner_rate"] or 0 for n in names], width, label="A/A false-winner rate")
    axes[0].set_xticks(idx, names, rotation=15)
    axes[0].set_ylim(0, 1)
    axes[0].legend(fontsize=8)
    axes[0].set_title("Decisions")
    for n in names:
        t = pol[n]["time_to_decision_all"]
        if t and n != "fixed":
            axes[1].hist(t, bins=20, alpha=0.5, label=n)
    axes[1].set_xlabel("impressions until a winner was declared")
    axes[1].set_title("Time to decision (sequential policies)")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "experiment_decisions.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.bar(idx - 0.2, [pol[n]["bias_naive_winner"] for n in names], 0.4, label="naive pooled clicks/impressions")
    ax.bar(idx + 0.2, [pol[n]["bias_stratified_winner"] for n in names], 0.4, label="stratified by allocation period")
    ax.axhline(0, color="black", lw=0.8)
    ax.set_xticks(idx, names, rotation=15)
    ax.set_ylabel("relative bias of the winner's CTR estimate")
    ax.set_title("Estimate bias under weekly seasonality")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "experiment_bias.png", dpi=110)
    plt.close(fig)

    e2e = results.get("end_to_end")
    if e2e and e2e.get("rows"):
        rows = e2e["rows"]
        fig, ax = plt.subplots(figsize=(8, 4.2))
        for i, r in enumerate(rows):
            ax.scatter([i] * len(r["variant_ctrs"]), [v / r["control_ctr"] - 1 for v in r["variant_ctrs"]], color="tab:blue", s=18)
            ax.scatter([i], [r["winner_lift"]], marker="*", color="tab:red", s=120 if r["winner"] else 40)
        ax.axhline(0, color="black", lw=0.8)
        ax.axhline(PAPER_CTR_LIFT, color="tab:green", ls="--", label="paper: +12.5 % CTR")
        ax.set_xlabel("held-out product")
        ax.set_ylabel("true CTR lift over the seller's copy")
        ax.set_title(f"Loop variants (dots) and the declared winner (star), {e2e['channel']}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "experiment_e2e.png", dpi=110)
        plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--runs", type=int, default=200, help="simulated experiments per policy")
    ap.add_argument("--aa-runs", type=int, default=200, help="A/A runs per policy (all arms equal)")
    ap.add_argument("--fatigue-runs", type=int, default=200)
    ap.add_argument("--arms", type=int, default=3)
    ap.add_argument("--horizon", type=int, default=60000, help="impressions per experiment")
    ap.add_argument("--batch", type=int, default=1000, help="impressions per allocation period")
    ap.add_argument("--products", type=int, default=8, help="held-out products for the end-to-end run (0: skip; real model)")
    ap.add_argument("--channel", default="product_description")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-policies", action="store_true")
    ap.add_argument("--out", default=str(ROOT / "bench" / "out"))
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from copyloop.tools.embeddings import load_embedder

    t0 = time.perf_counter()
    print(f"load average at start: {os.getloadavg()}", flush=True)
    gt = GroundTruth(Path(args.data) / "upworthy" / "packages.csv", load_embedder(), ROOT / ".cache" / "experiment_sim")
    print(f"ground truth: {gt.train_pairs} training pairs (|z| >= 1), held-out accuracy on {gt.holdout_pairs} significant "
          f"pairs {gt.holdout_accuracy:.3f}; log-CTR slope beta {gt.beta:.3f} ({time.perf_counter() - t0:.0f} s)", flush=True)
    market = Market()
    results: dict = {
        "ground_truth": {"train_pairs": gt.train_pairs, "holdout_pairs": gt.holdout_pairs,
                         "holdout_accuracy": gt.holdout_accuracy, "beta": gt.beta},
        "market": market.__dict__,
        "args": {k: v for k, v in vars(args).items() if k != "out"},
    }
    if not args.skip_policies:
        results["policies"] = policy_study(gt, args, market)
        results["fatigue"] = fatigue_study(args)
    if args.products > 0:
        results["end_to_end"] = end_to_end(gt, args, market)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    results["load_average_end"] = os.getloadavg()
    path = out / "experiment_sim.json"
    if path.is_file():  # keep the other part's figures when only one part ran
        old = json.loads(path.read_text())
        results = {**old, **results}
    path.write_text(json.dumps(results, indent=1))
    if "policies" in results:
        plots(results, out, args)
    print(f"wrote {path} and plots in {out} ({results['seconds']} s)")


if __name__ == "__main__":
    main()
