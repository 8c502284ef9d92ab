"""copyloop: local, honest e-commerce marketing copy.

The public API is exported lazily so that importing any ``copyloop.*`` subpackage (which always
executes this file first) stays cheap and free of import cycles: heavy parts (torch, llama-cpp,
chromadb) load only when a name that needs them is touched.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Settings": "copyloop.settings",
    "CopyloopError": "copyloop.errors",
    "ProductBrief": "copyloop.tools.schemas",
    "Draft": "copyloop.tools.schemas",
    "Critique": "copyloop.tools.schemas",
    "ChannelSpec": "copyloop.tools.channels",
    "ConversionScorer": "copyloop.agents.scorer",
    "RefineResult": "copyloop.graph.result",
    "Engine": "copyloop.engine",
    "refine": "copyloop.engine",
    "rewrite_catalog": "copyloop.batch",
    "Session": "copyloop.chat.session",
    "SessionStore": "copyloop.chat.session",
    "Experiment": "copyloop.experiments",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'copyloop' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
