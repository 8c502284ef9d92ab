"""The Ray engine's pieces that need no Ray cluster: the actor class, the transport, the errors.

(The engine on a real local Ray cluster: tests/integration/test_batch_ray.py.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from copyloop.batch import rewrite_catalog
from copyloop.batch.ray_engine import CopyActor, actor_env, outcome_from_json, task_from_json, task_to_json
from copyloop.batch.worker import ItemTask
from copyloop.errors import DependencyError, InputError
from copyloop.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))  # batch_engines

TASK = ItemTask("p1", 3, "product_description", {"id": "p1", "title": "Wool Beanie", "facts": ["Soft knit"]},
                "abc", 42, phase="diversity", feedback=("less alike",), previous="old", run_texts=("other copy",))


def test_tasks_survive_the_json_transport() -> None:
    assert task_from_json(task_to_json(TASK)) == TASK


def test_the_actor_builds_one_engine_and_refines_each_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BATCH_TEST_LOG", str(tmp_path))
    actor = CopyActor(Settings(), "batch_engines:scripted_engine", threads=1)
    failing = ItemTask("p2", 4, "sms", {"id": "p2", "title": "FAIL Lamp"}, "def", 7)
    out = actor({"task": np.array([task_to_json(TASK), task_to_json(failing)], dtype=object)})
    ok, bad = (outcome_from_json(str(x)) for x in out["outcome"])
    assert ok.status == "done" and ok.text and ok.task == TASK
    assert bad.status == "failed" and "FAIL Lamp" in (bad.error or "")  # an item that raises is a failed row
    assert len((tmp_path / "engines.log").read_text().splitlines()) == 1


def test_an_actor_that_cannot_start_answers_fatal() -> None:
    actor = CopyActor(Settings(), "batch_engines:broken_engine", threads=1)
    [raw] = actor({"task": np.array([task_to_json(TASK)], dtype=object)})["outcome"]
    outcome = outcome_from_json(str(raw))
    assert outcome.status == "fatal" and "model.gguf" in (outcome.error or "")


def test_actor_environment_forwards_copyloop_settings_and_named_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COPYLOOP_STORE__CHROMA_URL", "http://10.0.0.5:8000")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("MY_KNOB", "x")
    monkeypatch.setenv("SECRET_THING", "y")
    monkeypatch.setenv("COPYLOOP_RAY_ENV", "MY_KNOB")
    env = actor_env()
    assert env["COPYLOOP_STORE__CHROMA_URL"] == "http://10.0.0.5:8000" and env["HF_HUB_OFFLINE"] == "1"
    assert env["MY_KNOB"] == "x" and "SECRET_THING" not in env


def test_unknown_engine_and_missing_ray_are_clear_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "c.csv"
    src.write_text("id,title\na,Lamp\n")
    with pytest.raises(InputError, match="unknown engine 'spark'"):
        rewrite_catalog(src, ["sms"], tmp_path / "o.jsonl", engine="spark")
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the [ray] extra were not installed
    with pytest.raises(DependencyError, match=r"copyloop\[ray\]"):
        rewrite_catalog(src, ["sms"], tmp_path / "o.jsonl", engine="ray")
    dry = rewrite_catalog(src, ["sms"], tmp_path / "o.jsonl", engine="ray", dry_run=True)  # a dry run needs no Ray
    assert dry.engine == "ray" and dry.pending == 1


def test_cli_engine_and_address_options(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from copyloop.cli import app

    src = tmp_path / "c.csv"
    src.write_text("id,title\na,Lamp\nb,\n")
    runner = CliRunner()
    dry = runner.invoke(app, ["batch", str(src), "--out", str(tmp_path / "o.jsonl"), "--channels", "sms",
                              "--engine", "ray", "--address", "auto", "--dry-run", "--json"])
    assert dry.exit_code == 1, dry.output  # a rejected row, nothing run, no Ray needed
    assert json.loads(dry.stdout)["engine"] == "ray"
    bad = runner.invoke(app, ["batch", str(src), "--out", str(tmp_path / "o.jsonl"), "--engine", "spark"])
    assert bad.exit_code == 2 and "unknown engine" in bad.stderr
