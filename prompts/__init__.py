"""Prompt templates as files, rendered with Jinja2 ``StrictUndefined``.

One loader for the drafter, the critics and the fine-tuning pipeline, so training renders exactly
the text that serving sends. A missing template or variable raises ``TemplateError``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2

from copyloop.errors import TemplateError

PROMPTS_DIR = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(PROMPTS_DIR)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=False,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(name: str, **variables: Any) -> str:
    """Render ``prompts/<name>`` (e.g. ``"draft_system.j2"``) with ``variables``."""
    try:
        template = _env().get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise TemplateError(f"Prompt template not found: {PROMPTS_DIR / name}") from exc
    try:
        return template.render(**variables).strip()
    except jinja2.UndefinedError as exc:
        raise TemplateError(f"Prompt template {name}: {exc}") from exc


def read(name: str) -> str:
    """Raw text of a non-template prompt asset (e.g. a GBNF grammar)."""
    path = PROMPTS_DIR / name
    if not path.is_file():
        raise TemplateError(f"Prompt asset not found: {path}")
    return path.read_text(encoding="utf-8")
