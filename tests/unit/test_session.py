"""Sessions: human requests become revisions that pass every hard rule; state survives a restart.

The Engine is real (drafter, critics, scorer, graph) with a scripted FakeLLM (tests/session_fakes.py)
that reacts to the revision notes it receives. Persistence is the real SqliteSaver in a temp folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from session_fakes import PRODUCT, fake_engine

from copyloop.agents.llm import FakeLLM
from copyloop.engine import Engine
from copyloop.errors import InputError, RuleRefusal, UnknownChannelError
from copyloop.chat.session import Session, SessionStore
from copyloop.settings import Settings


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(home=tmp_path_factory.mktemp("sessions"))


@pytest.fixture(scope="module")
def engine(settings: Settings) -> Engine:
    return fake_engine(settings)


@pytest.fixture()
def store(settings: Settings, engine: Engine) -> Iterator[SessionStore]:
    with SessionStore(settings, engine) as s:
        yield s


@pytest.fixture()
def session(store: SessionStore) -> Session:
    return store.start(PRODUCT, "product_description")


def test_start_writes_a_first_draft_that_passes_the_rules(session: Session) -> None:
    current = session.current
    assert current.hard_pass and current.text
    assert current.channel == "product_description" and current.action == "start"
    assert [(t.role, t.kind) for t in session.history()] == [("assistant", "draft")]


def test_the_human_turn_is_a_langgraph_interrupt(session: Session) -> None:
    snapshot = session.store.graph.get_state({"configurable": {"thread_id": session.thread_id}})
    assert snapshot.next == ("human",)
    assert snapshot.interrupts and snapshot.interrupts[0].value["current"]["text"] == session.current.text


def test_say_feeds_the_request_into_the_loop_and_honours_it(session: Session, engine: Engine) -> None:
    before = session.current.text
    reply = session.say("make it shorter")
    assert reply.changed and reply.draft.hard_pass
    assert len(reply.text) < len(before)
    assert any(n.startswith("shorter") for n in reply.notes), reply.notes  # the reply says what changed
    assert [t.kind for t in session.history()[-2:]] == ["say", "draft"]
    assert session.history()[-1].notes == reply.notes


def test_requests_change_the_plan_and_the_reply_says_how(session: Session) -> None:
    """Issue #11, item 9: mention X puts X in, remove Y takes Y out, a tone changes the wording."""
    first = session.current.text.lower()
    # the plan decides which facts the first draft carries: remove one it has, ask for one it lacks
    present = next(w for w in ("groove", "dishwasher", "sizes", "reversible", "rubber") if w in first)
    absent = next(w for w in ("mineral oil", "rubber feet", "reversible", "18 x 12") if w not in first)
    reply = session.say(f"remove the sentence about the {present}")
    assert reply.changed and present not in reply.text.lower()
    assert any(n.startswith("leave out") for n in reply.notes), reply.notes
    reply = session.say(f"mention the {absent}")
    assert reply.changed and absent in reply.text.lower()
    assert any(n.startswith("mention: ") for n in reply.notes), reply.notes
    before = session.current.text
    reply = session.say("make it more playful")
    assert reply.changed and reply.text != before and "tone: playful" in reply.notes


def test_a_request_for_something_the_data_lacks_is_refused_with_the_reason(session: Session) -> None:
    with pytest.raises(RuleRefusal) as info:
        session.say("mention the gift box")
    assert "says nothing about" in info.value.reasons[0]
    assert session.current.index == 0


def test_request_that_breaks_a_hard_rule_is_refused_before_any_model_work(session: Session, engine: Engine) -> None:
    calls = len(engine.llm.history)
    for request in ["add 'cures colds'", "mention the 2-year warranty"]:
        with pytest.raises(RuleRefusal) as info:
            session.say(request)
        assert info.value.reasons and info.value.request == request
    assert len(engine.llm.history) == calls
    refusals = [t for t in session.history() if t.kind == "refusal"]
    assert len(refusals) == 2 and all(t.reasons for t in refusals)
    assert session.current.index == 0  # the draft did not change


def test_superlative_is_refused_where_the_channel_forbids_it(session: Session) -> None:
    reply = session.switch_channel("amazon_bullet")
    assert reply.changed and session.channel == "amazon_bullet"
    assert len(reply.text.splitlines()) == 5
    with pytest.raises(RuleRefusal, match="superlative"):
        session.say("say it's the best on Amazon")
    assert session.history()[-1].kind == "refusal"


def test_undo_goes_back_and_stops_at_the_first_draft(session: Session) -> None:
    first = session.current
    session.say("more playful")
    assert session.current.index != first.index
    assert session.undo().index == first.index
    with pytest.raises(InputError, match="Nothing to undo"):
        session.undo()


def test_variants_are_distinct_rule_passing_and_can_be_picked(session: Session) -> None:
    variants = session.variants(2)
    assert len(variants) == 2
    texts = {v.text for v in variants} | {session.current.text}
    assert len(texts) == 3
    assert all(v.hard_pass for v in variants)
    assert session.pick(variants[1].index).text == variants[1].text
    with pytest.raises(InputError):
        session.variants(0)


def test_channel_switch_rewrites_for_the_new_rules(session: Session) -> None:
    with pytest.raises(UnknownChannelError, match="Known channels"):
        session.switch_channel("fax")
    reply = session.switch_channel("amazon_title")
    assert reply.changed and reply.draft.hard_pass
    assert session.channel == "amazon_title" and len(reply.text) <= 200


def test_revision_that_cannot_pass_the_rules_is_not_adopted(settings: Settings, engine: Engine) -> None:
    with SessionStore(settings, engine) as good:
        session = good.start(PRODUCT)
        thread_id, text = session.thread_id, session.current.text
    # a model that only ever invents claims, writing whole copy (the freeform drafter): every
    # candidate fails grounding
    liar = FakeLLM(default="Guaranteed for 10 years and certified organic by 3 labs. Winner of 5 awards.")
    freeform = settings.model_copy(update={"llm": settings.llm.model_copy(update={"drafter": "freeform"})})
    lying = Engine(freeform, llm=liar, store=None, scorer=engine.scorer, embedder=engine.embedder)
    with SessionStore(settings, lying) as store:
        session = store.resume(thread_id)
        reply = session.say("more playful")
        assert not reply.changed and reply.reasons
        assert reply.text == text and session.current.index == 0
        assert session.history()[-1].kind == "kept"


def test_accept_and_score(session: Session) -> None:
    accepted = session.accept()
    assert session.accepted is not None and session.accepted.index == accepted.index
    card = session.score()
    assert card.text == accepted.text and 0.0 <= card.score <= 1.0
    assert "grounding" in card.passed_critics + [c.critic for c in card.critiques]


def test_session_resumes_from_a_reopened_checkpointer(settings: Settings, engine: Engine) -> None:
    with SessionStore(settings, engine) as first:
        session = first.start(PRODUCT, "product_description")
        session.say("more playful")
        thread_id, text = session.thread_id, session.current.text
    # a new store = a new SqliteSaver connection on the same file, as after a restart
    with Session.resume(thread_id, settings=settings, engine=engine) as again:
        assert again.current.text == text
        assert [t.kind for t in again.history()] == ["draft", "say", "draft"]
        reply = again.say("make it shorter")
        assert reply.changed and len(again.versions()) == 3


def test_unknown_thread_is_an_input_error(store: SessionStore) -> None:
    with pytest.raises(InputError, match="No session"):
        store.resume("nope")


def test_failed_turn_is_recorded_and_the_session_stays_usable(settings: Settings, engine: Engine, tmp_path: Path) -> None:
    with SessionStore(settings, engine) as good:
        thread_id = good.start(PRODUCT).thread_id

    class Exploding:
        def score(self, texts, channel=None):  # noqa: ANN001, ANN202
            raise RuntimeError("model crashed")

    broken = Engine(settings, llm=FakeLLM(), store=None, scorer=Exploding(), embedder=engine.embedder)
    with SessionStore(settings, broken) as store:
        with pytest.raises(RuntimeError, match="model crashed"):
            store.resume(thread_id).say("more playful")
    with SessionStore(settings, engine) as store:
        session = store.resume(thread_id)
        assert session.history()[-1].kind == "error"
        assert session.say("more playful").changed


def test_turn_cut_short_by_a_crash_is_recovered_on_resume(store: SessionStore) -> None:
    session = store.start(PRODUCT)
    config = {"configurable": {"thread_id": session.thread_id}}
    # as if the process died after the human answered but before the action finished
    store.graph.update_state(config, {"pending": {"op": "say", "text": "more playful"}}, as_node="human")
    assert store.graph.get_state(config).next == ("act",)
    resumed = store.resume(session.thread_id)
    assert resumed.history()[-1].kind == "error"
    assert resumed.say("more playful").changed


def test_turns_are_langchain_messages_in_the_session_state(session: Session) -> None:
    from langchain_core.messages import AIMessage, HumanMessage

    session.say("make it shorter")
    with pytest.raises(RuleRefusal):
        session.say("add 'cures colds'")
    msgs = session.messages()
    assert [type(m) for m in msgs] == [AIMessage, HumanMessage, AIMessage, HumanMessage, AIMessage]
    assert msgs[1].content == "make it shorter" and msgs[2].content == session.current.text and msgs[2].name == "draft"
    assert msgs[4].name == "refusal" and "health" in msgs[4].content.lower()
    assert all(m.id for m in msgs)  # add_messages gives every message an id
