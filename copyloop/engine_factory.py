"""How the CLI entry points (``copyloop chat``, ``slack serve|socket``, ``refine``, ``demo``, ``evaluate``) get an Engine.

By default ``Engine(settings)`` — the real local model, loaded lazily once per process. Setting
``COPYLOOP_ENGINE_FACTORY="package.module:function"`` makes those commands call
``function(settings) -> Engine`` instead. It exists so tests (and embedders who wrap the Engine,
e.g. with a bigger GGUF or a remote scorer) can drive the real chat/Slack processes with an
engine they build — typically ``Engine(settings, llm=FakeLLM(...))``. It is read only at those
entry points, never by the library API (``Session``/``build_app`` take an engine argument).
"""

from __future__ import annotations

import importlib
import os
from typing import Any, Callable

from copyloop.errors import InputError
from copyloop.settings import Settings

ENGINE_FACTORY_ENV = "COPYLOOP_ENGINE_FACTORY"

EngineFactory = Callable[[Settings], Any]


def default_engine(settings: Settings) -> Any:
    """The real Engine (models load lazily on first use)."""
    from copyloop.engine import Engine

    return Engine(settings)


def load_engine_factory(spec: str | None = None) -> EngineFactory:
    """Resolve ``module:function`` (default: $COPYLOOP_ENGINE_FACTORY, else the real Engine)."""
    spec = spec if spec is not None else os.environ.get(ENGINE_FACTORY_ENV, "")
    spec = spec.strip()
    if not spec:
        return default_engine
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InputError(f"{ENGINE_FACTORY_ENV} must look like 'package.module:function', got {spec!r}", field=ENGINE_FACTORY_ENV)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise InputError(f"{ENGINE_FACTORY_ENV}: cannot import {module_name!r}: {exc}", field=ENGINE_FACTORY_ENV) from exc
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise InputError(f"{ENGINE_FACTORY_ENV}: {spec!r} is not a callable", field=ENGINE_FACTORY_ENV)
    return factory


__all__ = ["ENGINE_FACTORY_ENV", "EngineFactory", "default_engine", "load_engine_factory"]
