"""``copyloop.Experiment``: one product x channel x K variants in front of real traffic.

Life of an experiment:
- ``create`` picks the variants (the refinement loop's passing candidates, diversified by MMR, or
  the user's texts; the seller's copy can be the control arm) and opens allocation period 0 at an
  equal split.
- ``assign(unit)`` gives a visitor a sticky variant (``assignment``); ``record(events)`` stores
  impressions, clicks and conversions idempotently (``store``).
- Every ``batch_events`` impressions or ``batch_minutes`` a new allocation period opens with
  weights from the bandit (``analysis.next_weights``: Thompson, top-two Thompson, or a fixed split;
  equal during burn-in; a floor per arm).
- ``status()`` reports per-arm stratified rates, P(best), expected loss, the current weights and
  the decision (``analysis.analyze``), plus a sample-ratio-mismatch check and a fatigue check.
- ``refresh()`` retires losers and asks the loop for fresh variants; ``close()`` exports the A/B
  log and indexes the winner into the retrieval store (``feedback``).
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
from pydantic import ValidationError

from copyloop.errors import InputError, UnknownExperimentError
from copyloop.experiments.analysis import Analysis, Evidence, analyze, equal_weights, next_weights
from copyloop.experiments.assignment import bucket, choose
from copyloop.experiments.feedback import ab_log_rows, index_winners, upsert_ab_log
from copyloop.experiments.models import (
    CloseReport,
    Event,
    ExperimentStatus,
    FatigueStatus,
    LineError,
    RecordReport,
    RefreshReport,
    SRMStatus,
    Variant,
    VariantStatus,
)
from copyloop.experiments.policy import ExperimentPolicy
from copyloop.experiments.stats import decay_trend
from copyloop.experiments.store import ExperimentStore, _Tx
from copyloop.experiments.variants import Candidate, normalise, variants_from_loop
from copyloop.settings import Settings
from copyloop.tools.schemas import ProductBrief

log = logging.getLogger(__name__)

MAX_ARMS = 10
"""Jacquard's ceiling: more arms split the traffic too thin to learn anything."""
MAX_TEXT_CHARS = 5000
RECORD_CHUNK = 500
"""events per transaction: a kill -9 loses at most this many uncommitted events (re-sending is safe)"""

Clock = Callable[[], float]


def _error_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ())) or "event"
        parts.append(f"{loc}: {str(err.get('msg', 'invalid')).removeprefix('Value error, ')}")
    return "; ".join(parts)


def _clean_texts(texts: Sequence[str], field: str) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for t in texts:
        if not isinstance(t, str) or not t.strip():
            raise InputError(f"{field}: every text must be a non-empty string", field=field)
        text = t.strip()
        if len(text) > MAX_TEXT_CHARS:
            raise InputError(f"{field}: a text is longer than {MAX_TEXT_CHARS} characters", field=field)
        if normalise(text) in seen:
            raise InputError(f"{field}: the same text is given twice: {text[:60]!r}", field=field)
        seen.add(normalise(text))
        out.append(text)
    return out


class Experiment:
    """A live A/B experiment (see the module docstring). Build it with ``create`` or ``open``."""

    def __init__(
        self,
        experiment_id: str,
        store: ExperimentStore,
        settings: Settings,
        *,
        engine: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self.experiment_id = experiment_id
        self.store = store
        self.settings = settings
        self._engine = engine
        self.clock: Clock = clock or time.time
        row = store.experiment(experiment_id)  # UnknownExperimentError
        self.channel: str = row["channel"]
        self.metric = row["metric"]
        self.allocation = row["allocation"]
        self.product = ProductBrief.model_validate(json.loads(row["product_json"]))
        self.policy = ExperimentPolicy.model_validate(json.loads(row["policy_json"]))
        self.origin: str | None = row["origin"]

    # construction -----------------------------------------------------------------------------
    @classmethod
    def create(
        cls,
        product: ProductBrief | Mapping[str, Any],
        channel: str,
        *,
        variants: int = 3,
        texts: Sequence[str] | None = None,
        control: str | None = None,
        metric: str = "ctr",
        allocation: str = "thompson",
        settings: Settings | None = None,
        engine: Any = None,
        seed: int = 0,
        origin: str | None = None,
        store: ExperimentStore | None = None,
        clock: Clock | None = None,
        **policy: Any,
    ) -> "Experiment":
        """Start an experiment. With ``texts`` they are the variants and no model is loaded.

        ``control`` (the current or seller copy) becomes arm ``v0``; the other arms are
        ``v1..vK``. ``policy`` keywords set ``ExperimentPolicy`` fields (batch_events, floor, ...).
        Raises ``InputError`` for a bad product, channel, metric, allocation, text or policy.
        """
        from copyloop.engine import coerce_product
        from copyloop.tools.channels import ChannelRegistry

        settings = settings if settings is not None else Settings()
        brief = coerce_product(product)
        ChannelRegistry(settings.channels or None).get(channel)  # UnknownChannelError lists the channels
        if metric not in ("ctr", "cvr"):
            raise InputError(f"metric must be 'ctr' or 'cvr', got {metric!r}", field="metric")
        if allocation not in ("thompson", "fixed", "top_two"):
            raise InputError(f"allocation must be 'thompson', 'fixed' or 'top_two', got {allocation!r}", field="allocation")
        try:
            rules = ExperimentPolicy(**{**settings.experiments.policy, "seed": seed, **policy})
        except ValidationError as exc:
            raise InputError(f"invalid experiment policy: {_error_message(exc)}", field="policy") from None
        control_text = _clean_texts([control], "control")[0] if control is not None else None
        arms: list[tuple[str, bool, str, float | None]] = []  # text, is_control, source, score
        if control_text is not None:
            arms.append((control_text, True, "control", None))
        if texts:
            given = _clean_texts(list(texts), "texts")
            if control_text is not None and normalise(control_text) in {normalise(t) for t in given}:
                raise InputError("texts: a variant repeats the control text", field="texts")
            arms += [(t, False, "user", None) for t in given]
        else:
            if not 1 <= int(variants) <= MAX_ARMS - len(arms):
                raise InputError(f"variants must be between 1 and {MAX_ARMS - len(arms)}", field="variants")
            engine = engine if engine is not None else _default_engine(settings)
            picked = variants_from_loop(engine, brief, channel, int(variants), seed=seed, existing=[a[0] for a in arms])
            if not picked:
                raise InputError(
                    "the refinement loop wrote no variant that passes every rule of this channel; "
                    "give the variants with --text, or add facts to the product",
                    field="variants",
                )
            if len(picked) < int(variants):
                log.warning("only %d of %d requested variants passed every rule and differ enough", len(picked), variants)
            arms += [(c.text, False, "loop", round(c.score, 6)) for c in picked]
        if len(arms) < 2:
            raise InputError("an experiment needs at least two arms (variants, or one variant and a control)", field="texts")
        if len(arms) > MAX_ARMS:
            raise InputError(f"at most {MAX_ARMS} arms per experiment, got {len(arms)}", field="texts")

        store = store if store is not None else ExperimentStore.shared(settings)
        now = (clock or time.time)()
        experiment_id = "exp_" + uuid.uuid4().hex[:16]
        first = 0 if control_text is not None else 1
        ids = [f"v{first + i}" for i in range(len(arms))]
        weights = dict(zip(ids, equal_weights(np.ones(len(arms), dtype=bool)).tolist()))
        with store.transaction() as tx:
            tx.execute(
                "INSERT INTO exp_experiments (experiment_id, created_at, channel, metric, allocation, product_json, "
                "policy_json, origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (experiment_id, now, channel, metric, allocation, brief.model_dump_json(), rules.model_dump_json(), origin),
            )
            for pos, (vid, (text, is_control, source, score)) in enumerate(zip(ids, arms)):
                tx.execute(
                    "INSERT INTO exp_variants (experiment_id, variant_id, position, text, is_control, source, predicted_score, "
                    "active, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    (experiment_id, vid, pos, text, int(is_control), source, score, now),
                )
            tx.execute(
                "INSERT INTO exp_periods (experiment_id, period, started_at, weights_json, reason) VALUES (?, 0, ?, ?, ?)",
                (experiment_id, now, json.dumps(weights), "start: equal split"),
            )
        log.info("experiment %s created: %d arms, %s, %s allocation", experiment_id, len(arms), metric, allocation)
        return cls(experiment_id, store, settings, engine=engine, clock=clock)

    @classmethod
    def open(
        cls,
        experiment_id: str,
        settings: Settings | None = None,
        *,
        store: ExperimentStore | None = None,
        engine: Any = None,
        clock: Clock | None = None,
    ) -> "Experiment":
        """An existing experiment; ``UnknownExperimentError`` if the id is not in the store."""
        settings = settings if settings is not None else Settings()
        if not isinstance(experiment_id, str) or not experiment_id.strip():
            raise InputError("experiment id must be a non-empty string", field="experiment_id")
        store = store if store is not None else ExperimentStore.shared(settings)
        return cls(experiment_id.strip(), store, settings, engine=engine, clock=clock)

    # reading ----------------------------------------------------------------------------------
    def variants(self) -> list[Variant]:
        """Every arm, retired ones included (``active`` tells), in arm order."""
        return [Variant.model_validate(v) for v in self.store.variants(self.experiment_id)]

    def _row(self) -> dict[str, Any]:
        return self.store.experiment(self.experiment_id)

    @property
    def closed(self) -> bool:
        return self._row()["state"] == "closed"

    # assignment -------------------------------------------------------------------------------
    def assign(self, unit: str) -> str:
        """The variant this unit sees: the same every time (sticky), decided when first seen.

        A unit of a retired variant is moved once, deterministically, to a live one. After
        ``close`` every unit gets the winner (or the control when there was none).
        """
        if not isinstance(unit, str) or not unit.strip() or len(unit) > 200:
            raise InputError("unit must be a non-empty string of at most 200 characters", field="unit")
        unit = unit.strip()
        # the hot path (a returning visitor) is one read: state, winner and the unit's live assignment
        hit = self.store.read(
            "SELECT e.state, e.winner, a.variant_id, v.active FROM exp_experiments e "
            "LEFT JOIN exp_assignments a ON a.experiment_id = e.experiment_id AND a.unit = ? "
            "LEFT JOIN exp_variants v ON v.experiment_id = e.experiment_id AND v.variant_id = a.variant_id "
            "WHERE e.experiment_id = ?",
            (unit, self.experiment_id),
        )
        if not hit:
            raise UnknownExperimentError(self.experiment_id)
        state, winner, assigned, live = hit[0]
        if state == "closed":
            if winner:
                return str(winner)
            variants = self.store.variants(self.experiment_id)
            return next((v["variant_id"] for v in variants if v["is_control"]), variants[0]["variant_id"])
        if assigned is not None and live:
            return str(assigned)
        now = self.clock()
        with self.store.transaction() as tx:
            period, _, weights = self._maybe_roll(tx, now, check_count=False)
            rows = tx.all(
                "SELECT variant_id, active FROM exp_variants WHERE experiment_id = ? ORDER BY position", (self.experiment_id,)
            )
            active = {str(v) for v, a in rows if a}
            found = tx.one("SELECT variant_id FROM exp_assignments WHERE experiment_id = ? AND unit = ?", (self.experiment_id, unit))
            if found is not None and found[0] in active:
                return str(found[0])  # another process assigned it meanwhile
            ids = [str(v) for v, _ in rows]
            vid, prob = choose(bucket(self.experiment_id, unit), ids, [weights.get(i, 0.0) if i in active else 0.0 for i in ids])
            if found is None:
                tx.execute(
                    "INSERT INTO exp_assignments (experiment_id, unit, variant_id, period, probability, assigned_at) "
                    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (self.experiment_id, unit, vid, period, prob, now),
                )
            else:  # its variant was retired
                tx.execute(
                    "UPDATE exp_assignments SET variant_id = ?, period = ?, probability = ?, assigned_at = ? "
                    "WHERE experiment_id = ? AND unit = ?",
                    (vid, period, prob, now, self.experiment_id, unit),
                )
            got = tx.one("SELECT variant_id FROM exp_assignments WHERE experiment_id = ? AND unit = ?", (self.experiment_id, unit))
            return str(got[0]) if got else vid

    # events -----------------------------------------------------------------------------------
    def record(self, events: Iterable[Event | Mapping[str, Any]], *, first_line: int = 1) -> RecordReport:
        """Store events; a repeated ``event_id`` counts once. Bad events are reported, not raised.

        ``first_line`` numbers the events in error reports. Events are committed in chunks of
        ``RECORD_CHUNK``; after each chunk the allocation may re-weight.
        """
        return self.record_lines(enumerate(events, start=first_line))

    def record_lines(self, lines: Iterable[tuple[int, Any]]) -> RecordReport:
        """``record`` for numbered input: ``(line, event)`` pairs, where the event may also be a
        ``LineError`` (a line a reader could not parse) so that it is reported in order."""
        report = RecordReport()
        chunk: list[tuple[int, Event]] = []
        for n, raw in lines:
            if isinstance(raw, Event):
                chunk.append((n, raw))
            elif isinstance(raw, LineError):
                report.errors.append(raw)
            elif not isinstance(raw, Mapping):
                report.errors.append(LineError(line=n, error=f"an event must be a JSON object, got {type(raw).__name__}"))
            else:
                try:
                    chunk.append((n, Event.model_validate(dict(raw))))
                except ValidationError as exc:
                    report.errors.append(LineError(line=n, error=_error_message(exc)))
            if len(chunk) >= RECORD_CHUNK:
                self._record_chunk(chunk, report)
                chunk = []
        if chunk:
            self._record_chunk(chunk, report)
        report.errors.sort(key=lambda e: e.line)
        return report

    def _record_chunk(self, chunk: list[tuple[int, Event]], report: RecordReport) -> None:
        now = self.clock()
        variants = {v["variant_id"]: v for v in self.store.variants(self.experiment_id)}
        with self.store.transaction() as tx:
            periods = tx.all(
                "SELECT period, started_at, weights_json FROM exp_periods WHERE experiment_id = ? ORDER BY period",
                (self.experiment_id,),
            )
            for line, ev in chunk:
                ts = ev.ts if ev.ts is not None else now
                vid, period = None, None
                if ev.unit is not None:
                    found = tx.one(
                        "SELECT variant_id, period FROM exp_assignments WHERE experiment_id = ? AND unit = ?",
                        (self.experiment_id, ev.unit),
                    )
                    if found is not None:
                        vid, period = str(found[0]), int(found[1])
                        if ev.variant_id is not None and ev.variant_id != vid:
                            report.reattributed += 1
                if vid is None:
                    if ev.variant_id is None:
                        why = f"unit {ev.unit!r} was never assigned" if ev.unit else "no unit"
                        report.errors.append(LineError(line=line, error=f"variant_id is required ({why})"))
                        continue
                    if ev.variant_id not in variants:
                        report.errors.append(
                            LineError(line=line, error=f"unknown variant_id {ev.variant_id!r}; known: {', '.join(variants)}")
                        )
                        continue
                    vid = ev.variant_id
                    period, weights = _period_at(periods, ts)
                    if ev.unit is not None:  # the storefront assigned it itself: keep that as the unit's first assignment
                        tx.execute(
                            "INSERT INTO exp_assignments (experiment_id, unit, variant_id, period, probability, assigned_at) "
                            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                            (self.experiment_id, ev.unit, vid, period, float(weights.get(vid, 0.0)), ts),
                        )
                changed = tx.execute(
                    "INSERT INTO exp_events (experiment_id, event_id, variant_id, type, unit, ts, period, recorded_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (self.experiment_id, ev.event_id, vid, ev.type, ev.unit, ts, period, now),
                )
                if changed:
                    report.recorded += 1
                else:
                    report.duplicates += 1
        if self._row()["state"] != "closed":
            with self.store.transaction() as tx:
                before = self._current(tx)[0]
                after = self._maybe_roll(tx, self.clock(), check_count=True)[0]
                report.periods_opened += after - before

    # allocation periods -----------------------------------------------------------------------
    def _current(self, tx: _Tx) -> tuple[int, float, dict[str, float]]:
        row = tx.one(
            "SELECT period, started_at, weights_json FROM exp_periods WHERE experiment_id = ? ORDER BY period DESC LIMIT 1",
            (self.experiment_id,),
        )
        assert row is not None, "every experiment has period 0"
        return int(row[0]), float(row[1]), json.loads(row[2])

    def _maybe_roll(self, tx: _Tx, now: float, *, check_count: bool) -> tuple[int, float, dict[str, float]]:
        """Open the next allocation period when the current one is full or old enough."""
        period, started, weights = self._current(tx)
        due = now - started >= self.policy.batch_minutes * 60.0
        if not due and check_count:
            n = tx.one(
                "SELECT COUNT(*) FROM exp_events WHERE experiment_id = ? AND period = ? AND type = 'impression'",
                (self.experiment_id, period),
            )
            due = bool(n and int(n[0]) >= self.policy.batch_events)
        if not due:
            return period, started, weights
        return self._open_period(tx, now, period)

    def _open_period(self, tx: _Tx, now: float, current: int, reason: str = "") -> tuple[int, float, dict[str, float]]:
        ev = self._evidence(tx, now)
        w, why = next_weights(ev, self.allocation, self.metric, self.policy)
        weights = {a: round(float(x), 6) for a, x in zip(ev.arms, w)}
        tx.execute(
            "INSERT INTO exp_periods (experiment_id, period, started_at, weights_json, reason) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (self.experiment_id, current + 1, now, json.dumps(weights), (reason + ": " if reason else "") + why),
        )
        return self._current(tx)

    # evidence and status ----------------------------------------------------------------------
    def _evidence(self, tx: _Tx | None, now: float) -> Evidence:
        read = tx.all if tx is not None else self.store.read
        eid = self.experiment_id
        variants = read(
            "SELECT variant_id, is_control, active FROM exp_variants WHERE experiment_id = ? ORDER BY position", (eid,)
        )
        periods = read("SELECT period, started_at, weights_json FROM exp_periods WHERE experiment_id = ? ORDER BY period", (eid,))
        arms = [str(v[0]) for v in variants]
        pos = {a: i for i, a in enumerate(arms)}
        k, p = len(arms), len(periods)
        tables = {t: np.zeros((k, p)) for t in ("impression", "click", "conversion")}
        for vid, per, typ, n in read(
            "SELECT variant_id, period, type, COUNT(*) FROM exp_events WHERE experiment_id = ? GROUP BY variant_id, period, type",
            (eid,),
        ):
            if str(vid) in pos and 0 <= int(per) < p:
                tables[str(typ)][pos[str(vid)], int(per)] += int(n)
        assigned = np.zeros((k, p))
        for vid, per, n in read(
            "SELECT variant_id, period, COUNT(*) FROM exp_assignments WHERE experiment_id = ? GROUP BY variant_id, period", (eid,)
        ):
            if str(vid) in pos and 0 <= int(per) < p:
                assigned[pos[str(vid)], int(per)] += int(n)
        weights = np.zeros((k, p))
        for j, (_, _, wj) in enumerate(periods):
            for a, x in json.loads(wj).items():
                if a in pos:
                    weights[pos[a], j] = float(x)
        starts = [float(s) for _, s, _ in periods]
        ends = np.array(starts[1:] + [math.inf])
        control = next((i for i, v in enumerate(variants) if v[1]), None)
        return Evidence(
            arms=arms,
            active=np.array([bool(v[2]) for v in variants]),
            impressions=tables["impression"],
            clicks=tables["click"],
            conversions=tables["conversion"],
            weights=weights,
            assignments=assigned,
            period_ends=ends,
            control=control,
        )

    def _analysis(self) -> tuple[dict[str, Any], Evidence, Analysis]:
        row = self._row()
        now = self.clock()
        ev = self._evidence(None, now)
        return row, ev, analyze(ev, self.metric, self.policy, now, closed=row["state"] == "closed", allocation=self.allocation)

    def status(self) -> ExperimentStatus:
        """Counts, stratified rates, P(best), expected loss, weights and the decision per arm."""
        row, ev, an = self._analysis()
        variants = self.store.variants(self.experiment_id)
        current = ev.weights[:, -1] if ev.weights.shape[1] else np.zeros(ev.k)
        closed = row["state"] == "closed"
        out = []
        for i, v in enumerate(variants):
            a = an.arms[i]
            out.append(
                VariantStatus(
                    variant_id=v["variant_id"],
                    text=v["text"],
                    is_control=v["is_control"],
                    active=v["active"],
                    impressions=int(ev.impressions[i].sum()),
                    clicks=int(ev.clicks[i].sum()),
                    conversions=int(ev.conversions[i].sum()),
                    rate=round(a.rate, 8),
                    ctr=round(a.ctr, 8),
                    cvr=round(a.cvr, 8),
                    p_best=round(a.p_best, 6),
                    expected_loss=round(a.expected_loss, 8),
                    p_value=round(a.p_value, 6),
                    weight=0.0 if closed else round(float(current[i]), 6),
                )
            )
        winner = row["winner"] if closed else (ev.arms[an.winner] if an.winner is not None else None)
        reason = an.reason
        if closed:
            reason = f"closed; winner {winner}" if winner else "closed without a winner"
        leader = ev.arms[an.leader] if an.leader is not None else None
        fatigue = self._fatigue(winner or leader, ev) if (winner or leader) else None
        return ExperimentStatus(
            experiment_id=self.experiment_id,
            channel=self.channel,
            metric=self.metric,
            allocation=self.allocation,
            state=row["state"],
            variants=out,
            winner=winner,
            decision=an.decision,
            reason=reason,
            leader=leader,
            period=max(0, ev.weights.shape[1] - 1),
            srm=SRMStatus(
                p_value=round(an.srm.p_value, 8),
                statistic=round(an.srm.statistic, 6) if math.isfinite(an.srm.statistic) else 1e300,
                periods_checked=an.srm.periods_checked,
                mismatch=an.srm.checked and an.srm.p_value < self.policy.srm_alpha,
            ),
            fatigue=fatigue,
        )

    # fatigue ----------------------------------------------------------------------------------
    def fatigue(self, variant_id: str | None = None) -> FatigueStatus | None:
        """Is this variant (default: the winner or leader) wearing out? None before any event."""
        st_row, ev, an = self._analysis()
        if variant_id is None:
            idx = an.winner if an.winner is not None else an.leader
            if st_row["state"] == "closed" and st_row["winner"]:
                variant_id = st_row["winner"]
            elif idx is not None:
                variant_id = ev.arms[idx]
        if variant_id is None:
            return None
        if variant_id not in ev.arms:
            raise InputError(f"unknown variant_id {variant_id!r}", field="variant_id")
        return self._fatigue(variant_id, ev)

    def _fatigue(self, variant_id: str, ev: Evidence) -> FatigueStatus:
        start = self.store.first_event_ts(self.experiment_id)
        if start is None:
            return FatigueStatus(variant_id=variant_id, fatigued=False, reason="no events yet")
        width = self.policy.fatigue_window_minutes * 60.0
        rows = self.store.window_counts(self.experiment_id, start, width)
        succ_type = "click" if self.metric == "ctr" else "conversion"
        n_windows = max((w for _, w, _, _ in rows), default=-1) + 1
        imp = np.zeros(n_windows)
        suc = np.zeros(n_windows)
        rimp = np.zeros(n_windows)
        rsuc = np.zeros(n_windows)
        for vid, w, typ, n in rows:
            mine = vid == variant_id
            if typ == "impression":
                (imp if mine else rimp)[w] += n
            elif typ == succ_type:
                (suc if mine else rsuc)[w] += n
        use_ref = rimp.sum() > 0 and (rimp > 0).sum() >= self.policy.fatigue_min_windows
        trend = decay_trend(imp, suc, rimp if use_ref else None, rsuc if use_ref else None)
        if trend is None or trend.windows < self.policy.fatigue_min_windows:
            return FatigueStatus(
                variant_id=variant_id,
                fatigued=False,
                windows=0 if trend is None else trend.windows,
                reason=f"needs {self.policy.fatigue_min_windows} windows of {self.policy.fatigue_window_minutes:g} minutes",
            )
        fatigued = trend.p_value < self.policy.fatigue_alpha and trend.drop >= self.policy.fatigue_min_drop
        what = "its lift over the other variants" if trend.relative else "its rate"
        reason = (
            f"{what} fell {trend.drop:.0%} over {trend.windows} windows (trend p={trend.p_value:.2g})"
            if trend.drop > 0
            else f"{what} did not fall over {trend.windows} windows"
        )
        return FatigueStatus(
            variant_id=variant_id,
            fatigued=fatigued,
            windows=trend.windows,
            drop=round(trend.drop, 6),
            p_value=round(trend.p_value, 8),
            relative=trend.relative,
            reason=reason,
        )

    # refresh ----------------------------------------------------------------------------------
    def refresh(self, n: int | None = None, *, texts: Sequence[str] | None = None, engine: Any = None) -> RefreshReport:
        """Retire losers and add fresh variants (from the loop, or ``texts``).

        Losers: active, non-control arms with P(best) < ``retire_below`` once they have
        ``min_impressions``; the leader is never retired. Fresh variants: ``n`` (default: as many
        as were retired, at least one when the leader shows fatigue), chosen by MMR to differ from
        every text this experiment has run. A new allocation period starts; the new arms get the
        burn-in split before the bandit weighs them.
        """
        row, ev, an = self._analysis()
        if row["state"] == "closed":
            raise InputError(f"experiment {self.experiment_id} is closed", field="experiment_id")
        variants = self.store.variants(self.experiment_id)
        imps = ev.impressions.sum(axis=1)
        keep = {an.leader, an.winner}
        retired = [
            ev.arms[i]
            for i, v in enumerate(variants)
            if v["active"] and not v["is_control"] and i not in keep
            and an.arms[i].p_best < self.policy.retire_below and imps[i] >= self.policy.min_impressions
        ]
        leader_id = ev.arms[an.leader] if an.leader is not None else None
        fatigue = self._fatigue(leader_id, ev) if leader_id else None
        want = n if n is not None else max(len(retired), 1 if fatigue and fatigue.fatigued else 0)
        active_after = sum(1 for v in variants if v["active"]) - len(retired)
        if texts:
            fresh = [Candidate(t, float("nan")) for t in _clean_texts(list(texts), "texts")]
            known = {normalise(v["text"]) for v in variants}
            if any(normalise(c.text) in known for c in fresh):
                raise InputError("texts: a fresh variant repeats a text this experiment already ran", field="texts")
        elif want > 0:
            if active_after + want > MAX_ARMS:
                want = MAX_ARMS - active_after
            engine = engine or self._engine or _default_engine(self.settings)
            fresh = variants_from_loop(
                engine, self.product, self.channel, want, seed=self.policy.seed + 1000 * (int(row["generation"]) + 1),
                existing=[v["text"] for v in variants],
            )
        else:
            fresh = []
        if active_after + len(fresh) > MAX_ARMS:
            raise InputError(f"at most {MAX_ARMS} active arms per experiment", field="texts")
        if active_after + len(fresh) < 2:
            raise InputError("refreshing would leave fewer than two active arms", field="variants")
        now = self.clock()
        numbers = [int(v["variant_id"][1:]) for v in variants if v["variant_id"][1:].isdigit()]
        next_no = max(numbers, default=0) + 1
        added: list[Variant] = []
        with self.store.transaction() as tx:
            for vid in retired:
                tx.execute(
                    "UPDATE exp_variants SET active = 0, retired_at = ? WHERE experiment_id = ? AND variant_id = ?",
                    (now, self.experiment_id, vid),
                )
            for j, c in enumerate(fresh):
                vid = f"v{next_no + j}"
                score = None if math.isnan(c.score) else round(c.score, 6)
                source = "user" if texts else "loop"
                tx.execute(
                    "INSERT INTO exp_variants (experiment_id, variant_id, position, text, is_control, source, predicted_score, "
                    "active, created_at) VALUES (?, ?, ?, ?, 0, ?, ?, 1, ?)",
                    (self.experiment_id, vid, len(variants) + j, c.text, source, score, now),
                )
                added.append(Variant(variant_id=vid, text=c.text, source=source, predicted_score=score, created_at=now))
            tx.execute("UPDATE exp_experiments SET generation = generation + 1 WHERE experiment_id = ?", (self.experiment_id,))
            if retired or added:
                self._open_period(tx, now, self._current(tx)[0], reason="refresh")
        parts = []
        if retired:
            parts.append(f"retired {', '.join(retired)} (P(best) < {self.policy.retire_below})")
        if added:
            parts.append(f"added {', '.join(a.variant_id for a in added)}")
        if not parts:
            parts.append("no loser to retire and no fatigue: nothing changed")
        return RefreshReport(experiment_id=self.experiment_id, retired=retired, added=added, fatigue=fatigue, reason="; ".join(parts))

    # close ------------------------------------------------------------------------------------
    def close(self, export: Path | str | None = None, *, copy_store: Any = None, index: bool = True) -> CloseReport:
        """Stop the experiment: export its A/B log, index the winner, serve the winner from now on.

        The log rows are upserted into the shop's accumulated log (``settings.ab_log_path()``)
        and, when given, into ``export`` too. Closing again re-exports with the same winner.
        """
        row = self._row()
        st = self.status()
        winner = st.winner
        decision = st.decision if row["state"] != "closed" else "closed"
        reason = st.reason
        any_conv = any(v.conversions > 0 for v in st.variants)
        rows = ab_log_rows(self.experiment_id, self.channel, self.product.category, st.variants, winner, any_conv)
        log_path = self.settings.ab_log_path()
        upsert_ab_log(log_path, rows)
        export_path = None
        if export is not None:
            export_path = Path(export).expanduser()
            if export_path.resolve() != log_path.resolve():
                upsert_ab_log(export_path, rows)
        indexed: list[str] = []
        where = None
        if index and winner is not None:
            w = next(v for v in st.variants if v.variant_id == winner)
            if copy_store is None:
                from copyloop.tools.store import CopyStore

                copy_store = CopyStore.from_settings(self.settings)
            index_winners(
                copy_store,
                [{"text": w.text, "channel": self.channel, "category": self.product.category,
                  "ctr": min(1.0, max(0.0, w.ctr)), "source": f"experiment:{self.experiment_id}"}],
            )
            indexed.append(winner)
            where = getattr(copy_store, "url", None) or str(getattr(copy_store, "path", "") or "") or None
        report = CloseReport(
            experiment_id=self.experiment_id,
            winner=winner,
            decision=decision,
            reason=reason,
            exported_rows=len(rows),
            export_path=str(export_path) if export_path else None,
            ab_log_path=str(log_path),
            indexed=indexed,
            store=where,
            retrain_command=f"copyloop train-scorer --ab-log {log_path}",
        )
        if row["state"] != "closed":
            with self.store.transaction() as tx:
                tx.execute(
                    "UPDATE exp_experiments SET state = 'closed', closed_at = ?, winner = ?, close_json = ? WHERE experiment_id = ?",
                    (self.clock(), winner, report.model_dump_json(), self.experiment_id),
                )
        return report

    def __repr__(self) -> str:
        return f"Experiment({self.experiment_id!r}, channel={self.channel!r}, store={self.store.where!r})"


def _period_at(periods: list[tuple[Any, ...]], ts: float) -> tuple[int, dict[str, float]]:
    """The allocation period running at ``ts`` (period 0 for anything before the start)."""
    chosen = periods[0]
    for row in periods:
        if float(row[1]) <= ts:
            chosen = row
        else:
            break
    return int(chosen[0]), json.loads(chosen[2])


def _default_engine(settings: Settings) -> Any:
    """The real Engine (the CLI and Slack pass theirs, built by copyloop.engine_factory)."""
    from copyloop.engine import Engine

    return Engine(settings)


__all__ = ["Experiment", "MAX_ARMS", "RECORD_CHUNK"]
