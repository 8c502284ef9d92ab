"""Nodes of the refinement graph: plain verb-named functions returning partial state updates.

retrieve -> draft -> repair -> one node per critic (in parallel) -> score -> decide -> (draft
again | finish). Dependencies come from ``runtime.context`` (``RunContext``); nodes never build
models.

One node per critic (issue #12), each judging *all* of the round's candidates: a LangGraph user
who draws the graph sees the sentiment, diversity, CTA, grounding, relevance, specificity,
coherence and channel-rules critics as the design promises; the diversity node compares the
candidates with each other as well as with exemplars and earlier drafts; and each critic's cost
shows separately in streaming and tracing. The reducer (``merge_critiques``) keys verdicts by
candidate and critic, and ``score`` orders them by the configured critic order, so results do not
depend on which critic finished first. The candidates' embeddings are computed once, in one batch,
by ``repair`` before the critics fan out.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from langgraph.runtime import Runtime

from copyloop.errors import LLMOutputError
from copyloop.graph import ranking
from copyloop.graph.context import RunContext
from copyloop.graph.result import CandidateTrace, IterationTrace, RefineResult
from copyloop.graph.routing import stop_reason
from copyloop.graph.state import Judged, State
from copyloop.tools.schemas import Critique, Draft

log = logging.getLogger(__name__)

SEED_STRIDE = 1000
"""Round ``i`` drafts with ``seed + SEED_STRIDE * i`` (candidates add their index inside the drafter)."""


def retrieve(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Look up past high-performing copy for this channel and category (few-shot + diversity)."""
    store = runtime.context.store
    if store is None:
        return {"exemplars": []}
    product = state.product
    # Title and category only: they find copy for similar products; facts would only make the
    # query longer to embed (time outside the LLM) and pull in unrelated spec wording.
    query = f"{product.title} {product.category}".strip()
    k = runtime.context.exemplars_k
    as_retriever = getattr(store, "as_retriever", None)
    if as_retriever is not None:  # the LangChain retriever any LangChain app would use (issue #12)
        docs = as_retriever(channel=state.channel, category=product.category or None, k=k).invoke(query)
        return {"exemplars": [d.page_content for d in docs if d.page_content.strip()]}
    hits = store.search(query, channel=state.channel, category=product.category or None, k=k)
    return {"exemplars": [h.text for h in hits if h.text.strip()]}


def draft(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Write this round's candidates; an LLM that keeps failing ends the run as ``llm_failed``."""
    ctx = runtime.context
    spec = ctx.channels.get(state.channel)
    feedback = state.next_feedback if state.iteration > 0 else list(state.feedback)
    started = time.perf_counter()
    try:
        drafts = ctx.drafter.draft(
            state.product,
            spec,
            n=state.candidates,
            seed=state.seed + SEED_STRIDE * state.iteration,
            iteration=state.iteration,
            exemplars=list(state.exemplars),
            feedback=list(feedback),
            previous=state.previous,
            human=list(state.feedback),
        )
    except LLMOutputError as exc:
        log.warning("drafting failed in round %d: %s", state.iteration, exc)
        return {"llm_error": str(exc), "drafts": [], "critiques": None, "judged": [], "round_started": started}
    return {"drafts": drafts, "critiques": None, "judged": [], "round_started": started}


def repair(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Add a repaired variant of each candidate (unsupported claims and offensive sentences
    removed, limits re-applied).

    A draft with one invented number can then still pass; the original stays in the pool so
    the scorer and critics decide which is better. Exact duplicates are judged once.
    """
    from copyloop.tools.claims import remove_unsupported
    from copyloop.tools.postprocess import clean
    from copyloop.tools.validators import remove_offensive

    spec = runtime.context.channels.get(state.channel)
    source = state.product.fact_text()
    wording = [*state.feedback, *spec.cta_examples]
    pool: list[Draft] = []
    seen: set[str] = set()
    for d in state.drafts:
        if d.text not in seen:
            seen.add(d.text)
            pool.append(d)
        fixed = clean(remove_offensive(remove_unsupported(d.text, state.product, wording=wording), source), spec).strip()
        if fixed and fixed not in seen:
            seen.add(fixed)
            pool.append(d.model_copy(update={"text": fixed, "source": "repair"}))
    _warm_embeddings(runtime.context, [d.text for d in pool], state)
    return {"drafts": pool}


def _warm_embeddings(ctx: RunContext, texts: list[str], state: State) -> None:
    """Embed this round's candidates and the reference texts in one batch before the critics
    fan out: each diversity critic then finds its vectors in the critics' shared cache instead
    of running the embedder once per candidate (one batched encode costs about one single one)."""
    if ctx.embedder is None:
        return
    from copyloop.agents.critics import embed

    embed(ctx.embedder, [*texts, *state.exemplars, *state.history, *ctx.run_texts])


def critic_context(state: State, ctx: RunContext) -> Any:
    """What every critic compares a candidate with (one object per round, shared by the nodes)."""
    from copyloop.agents.critics import CriticContext

    settings = ctx.refine
    return CriticContext(
        product=state.product,
        spec=ctx.channels.get(state.channel),
        exemplars=list(state.exemplars),
        # earlier rounds' best texts, not a human's ``previous``: a requested revision is meant
        # to stay close to the text it revises
        previous=list(state.history),
        run_texts=list(ctx.run_texts),
        embedder=ctx.embedder,
        sentiment_band=(settings.sentiment_min, settings.sentiment_max),
        similarity_max=settings.similarity_max,
        human=list(state.feedback),
    )


def critics_for(ctx: RunContext) -> list[Any]:
    """The critics this run uses: the context's own list, else the defaults."""
    from copyloop.agents.critics import default_critics

    return list(ctx.critics) if ctx.critics is not None else default_critics()


def make_critic_node(name: str, *, others: set[str] | None = None) -> Any:
    """A graph node that runs critic ``name`` on every candidate of the round.

    ``others`` makes the catch-all node for critics the graph was not built with (a run context
    may bring its own); it runs every context critic whose name is not in ``others``.
    """

    def judge(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
        ctx = runtime.context
        if others is None:
            critics = [c for c in critics_for(ctx) if c.name == name]
        else:
            critics = [c for c in critics_for(ctx) if c.name not in others]
        if not critics or not state.drafts:
            return {}
        cctx = critic_context(state, ctx)
        verdicts: dict[int, list[Critique]] = {}
        for i, d in enumerate(state.drafts):
            verdicts[i] = [c.critique(d, cctx) for c in critics]
        if name == "diversity" and len(state.drafts) > 1 and others is None:
            _add_sibling_similarity(state.drafts, verdicts, ctx)
        return {"critiques": verdicts}

    judge.__name__ = f"critique_{name}"
    judge.__doc__ = f"The {name} critic on every candidate of the round." if others is None else "Critics added by the run context."
    return judge


def _add_sibling_similarity(drafts: list[Draft], verdicts: dict[int, list[Critique]], ctx: RunContext) -> None:
    """The diversity critic sees the whole round: record how close each candidate is to its
    nearest sibling (a detail for ranking and traces; the verdict itself is unchanged)."""
    texts = [d.text for d in drafts]
    if ctx.embedder is not None:
        from copyloop.agents.critics import embed

        vecs = embed(ctx.embedder, texts)
        sims = vecs @ vecs.T
    else:
        from copyloop.tools.text import words

        sets = [set(w.lower() for w in words(t)) for t in texts]
        sims = [[len(a & b) / max(1, len(a | b)) for b in sets] for a in sets]
    for i, crits in verdicts.items():
        others = [float(sims[i][j]) for j in range(len(texts)) if j != i and texts[j] != texts[i]]
        nearest = round(max(others), 4) if others else 0.0
        for c in crits:
            c.details["round_max_similarity"] = nearest


def score(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Score all candidates in one batch and update the best (hard-passing) and least-bad ones."""
    scorer = runtime.context.scorer
    texts = [d.text for d in state.drafts]
    if _accepts_product(scorer):
        spec = runtime.context.channels.get(state.channel)
        scored = scorer.score(texts, channel=state.channel, product=state.product, spec=spec)
    else:  # a scorer without product fit (a user's own, a test double): click appeal only
        scored = scorer.score(texts, channel=state.channel)
    order = {c.name: k for k, c in enumerate(critics_for(runtime.context))}
    judged = [
        Judged(
            draft=d,
            score=min(1.0, max(0.0, float(s.score))),
            explanation=s.explanation,
            critiques=sorted(state.critiques.get(i, []), key=lambda c: order.get(c.critic, len(order))),
        )
        for i, (d, s) in enumerate(zip(state.drafts, scored, strict=True))
    ]
    update: dict[str, Any] = {
        "judged": judged,
        "best": ranking.better_best(state.best, judged, state.threshold),
        "least_bad": ranking.better_least_bad(state.least_bad, judged),
    }
    if state.first_draft_score is None:
        first = next((j for j in judged if j.draft.source != "repair"), judged[0])
        update["first_draft_score"] = first.score
    return update


def decide(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Record the round in the trace, apply the stop rules, and prepare the revise turn."""
    round_top = ranking.top(state.judged, state.threshold)
    assert round_top is not None, "decide runs only after candidates were judged"
    reason = stop_reason(state)
    update: dict[str, Any] = {"history": [*state.history, round_top.draft.text]}
    feedback: list[str] = []
    if reason is None:
        # Revise the best text so far (not just this round's): a worse round must not drift.
        target = state.best or state.least_bad or round_top
        feedback = ranking.feedback_for(target, state.threshold, state.feedback)
        update |= {"iteration": state.iteration + 1, "previous": target.draft.text, "next_feedback": feedback}
    else:
        update["stop_reason"] = reason
    update["trace"] = [
        IterationTrace(
            iteration=state.iteration,
            candidates=[_candidate_trace(j) for j in state.judged],
            best_text=round_top.draft.text,
            best_score=round_top.score,
            best_hard_pass=round_top.hard_pass,
            feedback=feedback,
            decision=reason or "revise",
            seconds=round(time.perf_counter() - state.round_started, 3),
        )
    ]
    return update


def finish(state: State, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Build the ``RefineResult``: the best passing draft, else the least-bad one, honestly marked."""
    reason = state.stop_reason or stop_reason(state) or "max_iterations"
    update: dict[str, Any] = {"stop_reason": reason}
    trace = list(state.trace)
    if state.llm_error is not None:
        failed_round = IterationTrace(
            iteration=state.iteration,
            decision="llm_failed",
            feedback=list(state.next_feedback) if state.iteration > 0 else list(state.feedback),
            seconds=round(time.perf_counter() - state.round_started, 3),
        )
        trace.append(failed_round)
        update["trace"] = [failed_round]
    warnings = list(state.product.warnings)
    chosen = state.best or state.least_bad
    if chosen is None:
        result = RefineResult(
            text="",
            score=0.0,
            passed=False,
            stop_reason=reason,
            iterations=len(trace),
            trace=trace,
            channel=state.channel,
            product_id=state.product.id,
            threshold=state.threshold,
            seed=state.seed,
            first_draft_score=state.first_draft_score,
            explanation=state.llm_error or "no draft was produced",
            warnings=warnings,
        )
        return update | {"result": result}

    critiques = chosen.open_critiques
    # Re-check only what the critics let through; a known hard failure needs no second opinion.
    recheck = _final_check(chosen.draft.text, state, runtime) if chosen.hard_pass else []
    if recheck:
        # The critics let through what the validators reject: trust the validators.
        critiques = [*recheck, *critiques]
        warnings.append("final rule check failed: " + "; ".join(c.message for c in recheck))
        if reason in ("threshold_met", "max_iterations"):
            reason = "no_valid_draft"
            update["stop_reason"] = reason
    passed = reason == "threshold_met" and chosen.hard_pass and chosen.score >= state.threshold and not recheck
    if state.llm_error is not None:
        warnings.append(f"stopped early: {state.llm_error}")
    result = RefineResult(
        text=chosen.draft.text,
        score=chosen.score,
        passed=passed,
        stop_reason=reason,
        iterations=len(trace),
        critiques=critiques,
        trace=trace,
        channel=state.channel,
        product_id=state.product.id,
        threshold=state.threshold,
        seed=state.seed,
        first_draft_score=state.first_draft_score,
        explanation=_explain(chosen, reason, passed, state.threshold, len(trace)),
        warnings=warnings,
    )
    return update | {"result": result}


# helpers ---------------------------------------------------------------------------------------


def _accepts_product(scorer: Any) -> bool:
    from copyloop.agents.scorer import accepts_product

    return accepts_product(scorer)


def _candidate_trace(j: Judged) -> CandidateTrace:
    return CandidateTrace(
        text=j.draft.text,
        score=j.score,
        hard_pass=j.hard_pass,
        angle=j.draft.angle if j.draft.source != "repair" else f"{j.draft.angle} (repaired)".strip(),
        failed=[c.critic for c in j.critiques if not c.passed],
        critic_scores={c.critic: c.score for c in j.critiques},
    )


def _final_check(text: str, state: State, runtime: Runtime[RunContext]) -> list[Critique]:
    """Re-validate the returned text with the rule code itself (belt and braces over the critics)."""
    from copyloop.tools.claims import unsupported_claims
    from copyloop.tools.validators import check_rules, shouted_words

    spec = runtime.context.channels.get(state.channel)
    # The product's own capitalised words ("LEGO", "BPA") are not shouting, and its own words are
    # not offensive, as in the critic.
    source = state.product.fact_text()
    found = [
        Critique(critic="final_check", score=0.0, passed=False, hard=True, message=v.message, details={"rule": v.rule})
        for v in check_rules(text, spec, allowed_caps=shouted_words(source), product_text=source)
        if v.hard
    ]
    claims = unsupported_claims(text, state.product, wording=[*state.feedback, *spec.cta_examples])
    if claims:
        found.append(
            Critique(
                critic="final_check",
                score=0.0,
                passed=False,
                hard=True,
                message="unsupported claims: " + ", ".join(c.text for c in claims),
                details={"claims": [c.text for c in claims]},
            )
        )
    return found


def _explain(j: Judged, reason: str, passed: bool, threshold: float, rounds: int) -> str:
    rounds_txt = f"{rounds} round{'s' if rounds != 1 else ''}"
    if passed:
        head = f"Score {j.score:.2f} >= {threshold:.2f} and every hard rule passes after {rounds_txt}."
    elif reason == "no_valid_draft":
        failed = ", ".join(sorted({c.critic for c in j.hard_failures})) or "final check"
        head = f"No draft passed every hard rule in {rounds_txt}; best effort shown (fails: {failed})."
    elif reason == "llm_failed":
        head = f"The model stopped producing usable text after {rounds_txt}; best draft so far shown."
    else:
        head = f"Passes every hard rule but score {j.score:.2f} stays below {threshold:.2f} after {rounds_txt}."
    return f"{head} Scorer: {j.explanation}" if j.explanation else head
