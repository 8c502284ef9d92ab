"""Property-based run against the service's own OpenAPI schema (schemathesis): no input gets a 5xx.

For every operation of ``/openapi.json``, schemathesis generates requests that follow the schema
(positive) and requests that break it (negative: wrong types, missing fields, bad ids, odd
strings), sent with a valid key to the app with the real Engine and a fake LLM. Every answer must
be below 500 — bad input is a clear 4xx, never a crash. The number of examples is bounded so the
run stays in seconds; batch jobs are recorded but not launched (their runs are tested elsewhere).
"""

from __future__ import annotations

from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from service_client import AUTH, settings_for  # noqa: E402
from service_fakes import service_engine  # noqa: E402

from copyloop.service.app import build_app  # noqa: E402

EXAMPLES = 6


class NoLaunch:
    """Launcher stand-in: batch jobs stay queued (no child processes during the fuzzing)."""

    def __call__(self, spec_path: Path, log_path: Path):  # pragma: no cover - never reached while queued
        raise AssertionError("not launched in this test")


@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")  # schemathesis's own strategies use `random` (a Hypothesis notice)
def test_no_request_gets_a_server_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastapi.testclient import TestClient
    from schemathesis import GenerationMode

    cfg = settings_for(tmp_path)
    app = build_app(cfg, engine=service_engine(cfg), launcher=NoLaunch())
    app.state.service.batches.start = lambda: None  # keep jobs queued: nothing runs them here
    schema = schemathesis.openapi.from_dict(app.openapi())
    schema.app = app
    failures: list[str] = []
    seen: dict[str, set[int]] = {}
    with TestClient(app):  # runs the lifespan (stores open, model worker up)
        for result in schema.get_all_operations():
            op = result.ok()
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

                @given(case=op.as_strategy(generation_mode=mode))
                @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
                def check(case) -> None:
                    response = case.call(headers=AUTH)
                    seen.setdefault(f"{op.method.upper()} {op.path}", set()).add(response.status_code)
                    if response.status_code >= 500:
                        failures.append(f"{case.method} {case.formatted_path} {mode.value}: {response.status_code} {response.text[:300]}")

                try:
                    check()
                except Unsatisfiable:  # e.g. no invalid request exists for GET /healthz
                    pass
    assert not failures, "\n".join(failures)
    assert len(seen) >= 25, sorted(seen)
    # the generator really reached the handlers, not only the validation layer
    assert 200 in seen["POST /v1/refine"] and 201 in seen["POST /v1/sessions"]
