"""A fast engine for session, chat and Slack tests: the real Engine with a scripted FakeLLM.

Everything but the language model is real (the plan drafter, critics, scorer, graph). With the
default plan-then-realise drafter the FakeLLM is asked to realise one fact at a time and answers
with a plain sentence about that fact, so copy is grounded and a human request ("shorter",
"leave out the juice groove", "more playful") changes the plan. With the freeform drafter
(``Settings.llm.drafter = "freeform"``) it writes whole copy and *reacts to the revision notes in
the prompt*. Retrieval is off (``store=None``) to keep start-up fast.

``fake_engine`` is also the ``COPYLOOP_ENGINE_FACTORY`` target for the chat and Slack processes
the integration tests start (``COPYLOOP_ENGINE_FACTORY=session_fakes:fake_engine`` with this
folder on PYTHONPATH).
"""

from __future__ import annotations

from typing import Any

from copyloop.agents.llm import FakeCall, FakeLLM
from copyloop.engine import Engine
from copyloop.settings import Settings

PRODUCT: dict[str, Any] = {
    "id": "board-1",
    "title": "Bamboo Cutting Board",
    "category": "Home & Kitchen",
    "facts": [
        "made of bamboo, a hard wood that is gentle on knife edges",
        "dishwasher safe, so it is easy to clean after every meal",
        "juice groove around the edge catches the juice from fruit and roasts",
        "comes in three sizes: small, medium and large",
        "Measures 18 x 12 inches",
        "Rubber feet keep the board from sliding on the counter",
        "Reversible: one side for cutting, the other side for serving",
        "Finished with food-safe mineral oil",
    ],
    "description": "A bamboo cutting board for everyday prep, with a deep juice groove that keeps the counter clean.",
}

_OPENERS = [
    "Meet the Bamboo Cutting Board, a calm and handy helper for everyday cooking.",
    "Say hello to the Bamboo Cutting Board, the friendly base for every home-cooked meal.",
    "The Bamboo Cutting Board brings easy, tidy prep to your kitchen counter.",
    "Prep with a smile on the Bamboo Cutting Board, made for busy home kitchens.",
    "Slice, chop and serve on the Bamboo Cutting Board, a simple kitchen favourite.",
]
_BODY = (
    " It is made of bamboo and comes in three sizes, so there is a board for a quick snack or a big family dinner."
    " A juice groove around the edge keeps your counter neat while you carve or slice juicy fruit."
    " When you are done, it is dishwasher safe, so cleanup is quick and easy."
    " It looks warm on the counter and makes a thoughtful gift for a new home."
)
_SHORT_BODY = (
    " It is made of bamboo, comes in three sizes and has a juice groove around the edge to keep counters neat."
    " It is dishwasher safe, so cleanup is quick and you can get back to the food."
)
_PLAYFUL = " Chop, swoosh, done: dinner prep just got a little more fun!"
_CTA = " Order yours today and enjoy simpler cooking."


def _task_prompt(call: FakeCall) -> str:
    """The last user message: the actual task (earlier turns are the drafter's worked examples)."""
    return [m["content"] for m in call.messages if m["role"] == "user"][-1]


def _revision_notes(call: FakeCall) -> str:
    """The numbered notes after 'fix these points' / 'follow these notes' in the user prompt."""
    prompt = _task_prompt(call)
    for marker in ("fix these points:", "follow these notes:"):
        if marker in prompt:
            return prompt.split(marker, 1)[1].split("\nAngle:", 1)[0].lower()
    return ""


_BULLETS = [
    "MADE OF BAMBOO: a warm, natural board that looks good on any kitchen counter",
    "THREE SIZES: pick the right board for a quick snack or a big family dinner",
    "JUICE GROOVE: the groove around the edge keeps counters neat while you slice fruit",
    "EASY CLEANUP: the board is dishwasher safe, so cleanup after cooking is quick",
    "THOUGHTFUL GIFT: a friendly present for a new home or a keen home cook",
]


def copy_writer(call: FakeCall, index: int) -> str:
    """Grounded copy that honours 'shorter' and 'playful' notes (bullets when bullets are asked for);
    for the plan drafter's one-fact prompts, one sentence about that fact."""
    task = _task_prompt(call)
    if "\nFact: " in "\n" + task:
        from copyloop.tools.plan import PlanFact
        from copyloop.tools.realize import fact_sentence

        fact = task.split("Fact: ", 1)[1].split("\n", 1)[0].strip()
        return fact_sentence(PlanFact(text=fact), "The board" if index % 2 else "Your board", first=True)
    notes = _revision_notes(call)
    if "Amazon bullet points" in _task_prompt(call).split("\n", 1)[0]:
        shift = (call.seed + index) % len(_BULLETS)
        return "\n".join(_BULLETS[shift:] + _BULLETS[:shift])
    opener = _OPENERS[(call.seed + index) % len(_OPENERS)]
    body = _SHORT_BODY if "shorter" in notes or "under " in notes else _BODY
    fun = _PLAYFUL if "playful" in notes else ""
    return opener + body + fun + _CTA


def fake_llm() -> FakeLLM:
    return FakeLLM(default=copy_writer)


def fake_engine(settings: Settings) -> Engine:
    """``COPYLOOP_ENGINE_FACTORY`` target: the real Engine with the scripted LLM and no retrieval."""
    return Engine(settings, llm=fake_llm(), store=None)
