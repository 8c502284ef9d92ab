"""One error family for the whole product.

This module imports nothing from copyloop, so every layer (prompts, tools, agents, graph, front
door) may raise these. Errors carry fields; they are translated into messages only at the
surface (CLI, Slack, HTTP).
"""

from __future__ import annotations


class CopyloopError(Exception):
    """Base class of every error copyloop raises on purpose."""


class InputError(CopyloopError, ValueError):
    """The user's input (product, catalog row, CLI flag, A/B log) is invalid.

    ``field`` names the offending field when one is known; ``line`` the 1-based input line/row.
    """

    def __init__(self, message: str, *, field: str | None = None, line: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.line = line


class UnknownChannelError(InputError):
    """A channel name that is not in the registry; the message lists the known channels."""

    def __init__(self, channel: str, known: list[str]) -> None:
        super().__init__(
            f"Unknown channel {channel!r}. Known channels: {', '.join(sorted(known))}",
            field="channel",
        )
        self.channel = channel
        self.known = sorted(known)


class UnknownExperimentError(InputError):
    """An experiment id that is not in the experiment store."""

    def __init__(self, experiment_id: str) -> None:
        super().__init__(f"No experiment with id {experiment_id!r}", field="experiment_id")
        self.experiment_id = experiment_id


class ModelPathError(CopyloopError, FileNotFoundError):
    """A model, adapter or artifact file is missing; the path is in the message."""

    def __init__(self, what: str, path: object) -> None:
        super().__init__(f"{what} does not exist: {path}")
        self.what = what
        self.path = str(path)


class ModelLoadError(CopyloopError):
    """A model or adapter file exists but could not be loaded (corrupt, wrong format)."""

    def __init__(self, what: str, path: object, reason: str) -> None:
        super().__init__(f"{what} could not be loaded from {path}: {reason}")
        self.what = what
        self.path = str(path)
        self.reason = reason


class LLMOutputError(CopyloopError):
    """The LLM kept returning empty or unusable text after retries."""

    def __init__(self, message: str, *, attempts: int, last_output: str | None) -> None:
        super().__init__(f"{message} (after {attempts} attempts; last output: {last_output!r:.200})")
        self.attempts = attempts
        self.last_output = last_output


class TemplateError(CopyloopError):
    """A prompt template is missing or was rendered with a missing variable."""


class RuleRefusal(CopyloopError):
    """A human request that would break a hard rule (banned claim, channel policy)."""

    def __init__(self, request: str, reasons: list[str]) -> None:
        super().__init__("Refused: " + "; ".join(reasons))
        self.request = request
        self.reasons = reasons


class DependencyError(CopyloopError, ImportError):
    """An optional dependency needed by the configured feature is not installed."""

    def __init__(self, package: str, message: str) -> None:
        super().__init__(message)
        self.package = package
