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


class PromptLoader:
    """Renders templates from one folder; strict about missing files and variables."""

    def __init__(self, directory: Path = PROMPTS_DIR) -> None:
        self.directory = Path(directory)
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.directory)),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            keep_trailing_newline=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )

    def render(self, template_name: str, /, **variables: Any) -> str:
        """Render ``<directory>/<template_name>`` with ``variables``."""
        try:
            template = self.env.get_template(template_name)
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"Prompt template not found: {self.directory / template_name}") from exc
        try:
            return template.render(**variables).strip()
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"Prompt template {template_name}: {exc}") from exc

    def read(self, asset_name: str, /) -> str:
        """Raw text of a non-template asset (e.g. a GBNF grammar)."""
        path = self.directory / asset_name
        if not path.is_file():
            raise TemplateError(f"Prompt asset not found: {path}")
        return path.read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def default_loader() -> PromptLoader:
    """The loader over the packaged ``prompts/`` folder."""
    return PromptLoader(PROMPTS_DIR)


def render(template_name: str, /, **variables: Any) -> str:
    """Render a packaged template, e.g. ``render("draft_user.j2", product=...)``."""
    return default_loader().render(template_name, **variables)


def read(asset_name: str, /) -> str:
    """Read a packaged non-template asset."""
    return default_loader().read(asset_name)
