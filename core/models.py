"""Database models (SQLAlchemy 2). Schema changes go through Alembic in ``migrations/``."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

JsonType = JSON().with_variant(JSONB(), "postgresql")


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every database: SQLite hands stored values back
    naive, which the API would then send without an offset (not an RFC 3339 date-time).

    Values going in (stored times and the bounds compared with them) are converted to UTC
    first (naive means UTC): SQLite keeps the wall-clock time and drops the offset, so a
    bound such as ``01:00+02:00`` would otherwise compare as ``01:00`` UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonType, list[Any]: JsonType}


class DocumentStatus(enum.StrEnum):
    RECEIVED = "received"
    PARSING = "parsing"
    PARSED = "parsed"
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    REJECTED = "rejected"
    FAILED = "failed"


class PageMethod(enum.StrEnum):
    TEXT = "text"
    OCR = "ocr"
    FAILED = "failed"


class Document(Base):
    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    filename: Mapped[str] = mapped_column(String(512))
    media_type: Mapped[str | None] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    page_count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), index=True, default=DocumentStatus.RECEIVED)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Per-page failures of an otherwise good document: [{"page": n, "code": ..., "message": ...}]
    page_errors: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)

    pages: Mapped[list[Page]] = relationship(
        back_populates="document", cascade="all, delete-orphan", order_by="Page.number"
    )


class Page(Base):
    __tablename__ = "pages"
    __table_args__ = (UniqueConstraint("document_id", "number", name="uq_pages_document_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(10))
    text: Mapped[str] = mapped_column(Text, default="")
    width: Mapped[float] = mapped_column(Float, default=0.0)
    height: Mapped[float] = mapped_column(Float, default=0.0)
    rotation: Mapped[int] = mapped_column(Integer, default=0)
    ocr_confidence: Mapped[float | None] = mapped_column(Float)
    # [{"text": str, "x0": float, "y0": float, "x1": float, "y1": float, "conf": float|None}]
    words: Mapped[list[Any]] = mapped_column(default=list)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)

    document: Mapped[Document] = relationship(back_populates="pages")


# --- extraction: records, agent runs, tool calls (issue 5) ---------------------------------


class RecordStatus(enum.StrEnum):
    EXTRACTED = "extracted"
    NEEDS_REVIEW = "needs_review"
    FAILED = "failed"
    # A re-extraction grouped the pages differently; kept (not deleted) for its reviews.
    SUPERSEDED = "superseded"


class Record(Base):
    """One structured record: a page group of a document, typed by ``doc_type``."""

    __tablename__ = "records"
    __table_args__ = (
        UniqueConstraint("document_id", "page_first", name="uq_records_document_page_first"),
        # The dashboard's table: newest first, filtered by status or type (0008_i11).
        # id breaks ties, so that newest-first pages read the index in order (0009_i11).
        Index(
            "ix_records_created_at",
            "created_at",
            "id",
            postgresql_include=["status", "doc_type"],
        ),
        Index(
            "ix_records_status_created_at",
            "status",
            "created_at",
            "id",
            postgresql_include=["doc_type"],
        ),
        Index(
            "ix_records_doc_type_created_at",
            "doc_type",
            "created_at",
            "id",
            postgresql_include=["status"],
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    page_first: Mapped[int] = mapped_column(Integer)
    page_last: Mapped[int] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(40), index=True)
    schema_version: Mapped[str] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(20), index=True)
    # [{"code": ..., "field": ..., "message": ...}]
    issues: Mapped[list[Any]] = mapped_column(default=list)
    # {"field.path": {"page": n, "text": ...}}
    provenance: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # {"field.path": 0.0-1.0}
    confidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What we propose, never printed: {"line_items[0].hs_code": [{"code", "title", "score",
    # "source"}]}. Shown to the reviewer; never part of ``data`` and never blocks a status.
    suggestions: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=dict)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("agent_runs.id", ondelete="SET NULL"))
    # Bumped by every review: a save that names an older version is refused (two reviewers).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class AgentRun(Base):
    """One bounded agent run over one page group; always ends with an ``outcome``."""

    __tablename__ = "agent_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    page_first: Mapped[int] = mapped_column(Integer, default=1)
    page_last: Mapped[int] = mapped_column(Integer, default=1)
    doc_type: Mapped[str | None] = mapped_column(String(40))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    requests: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    # extracted | needs_review | failed (and "running" while in progress)
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    cost: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    # Routing by complexity (agent/routing.py): the tier chosen and the features it saw.
    route_tier: Mapped[str | None] = mapped_column(String(20))
    route_features: Mapped[dict[str, Any] | None] = mapped_column()
    # Requests answered by the fallback, their cost, and what the failed primary attempts
    # cost before it (both kept: a fallback never hides the spend that led to it).
    fallback_requests: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    fallback_cost: Mapped[float | None] = mapped_column(Float)
    failed_primary_cost: Mapped[float | None] = mapped_column(Float)

    tool_calls: Mapped[list[ToolCallRow]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="ToolCallRow.seq"
    )


class ToolCallRow(Base):
    """One tool call the model made during a run (or the pipeline made on its behalf)."""

    __tablename__ = "tool_calls"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("agent_runs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str | None] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result_summary: Mapped[str] = mapped_column(Text, default="")
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)

    run: Mapped[AgentRun] = relationship(back_populates="tool_calls")


# --- service: API keys, reviews, jobs, chat (issue 6) --------------------------------------


class Role(enum.StrEnum):
    VIEWER = "viewer"
    UPLOADER = "uploader"
    OPERATOR = "operator"
    ADMIN = "admin"


class ApiKey(Base):
    """An API key; only the sha256 of the token is stored (the token is shown once)."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the token, to tell keys apart in listings and logs.
    prefix: Mapped[str] = mapped_column(String(16))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RecordReview(Base):
    """A reviewer's approval or correction; the record's own data stays the original."""

    __tablename__ = "record_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id", ondelete="CASCADE"), index=True)
    # approve | correct
    action: Mapped[str] = mapped_column(String(20))
    # {"field.path": value} before and after, for the fields this review changed.
    original: Mapped[dict[str, Any]] = mapped_column(default=dict)
    corrected: Mapped[dict[str, Any]] = mapped_column(default=dict)
    comment: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class JobState(enum.StrEnum):
    PENDING = "pending"  # row written, not yet handed to the queue
    QUEUED = "queued"
    RUNNING = "running"
    RETRYING = "retrying"
    DONE = "done"
    FAILED = "failed"


class Job(Base):
    """Idempotency and attempt bookkeeping of one unit of queued work (``key`` is unique)."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(20), index=True, default=JobState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    worker: Mapped[str | None] = mapped_column(String(200))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    # Seconds of the last attempt per stage: {"parse_s": 0.2, "extract_s": 3.1}
    timings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    queued_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class ChatMessage(Base):
    """One turn of a chat conversation; assistant turns keep the chunks and records cited."""

    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(64), index=True)
    role: Mapped[str] = mapped_column(String(20))
    content: Mapped[str] = mapped_column(Text, default="")
    citations: Mapped[list[Any]] = mapped_column(default=list)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


# --- events, webhooks (issue 15) -----------------------------------------------------------

# SQLite gives rowid aliases (autoincrement) only to INTEGER primary keys.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """One state change, in commit order: the change feed and the source of webhooks.

    ``id`` is the feed's cursor; on PostgreSQL ids are handed out under a transaction-scoped
    lock held until commit (core/events.py), so a higher id never becomes visible before a
    lower one and a reader that has seen id N never later finds an event below N.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # The Standard Webhooks ``webhook-id``: stable across retries and replays.
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    # What the event is about; no foreign keys: an event outlives a deleted record.
    document_id: Mapped[int | None] = mapped_column(Integer, index=True)
    record_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebhookEndpoint(Base):
    """A receiver registered by an admin; secrets sign every delivery (Standard Webhooks)."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), default="")
    # Event types delivered; empty means every type.
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    # The admin key that registered the endpoint.
    api_key_id: Mapped[int | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    secret: Mapped[str] = mapped_column(String(100))
    # After a rotation the old secret also signs until ``previous_secret_until``.
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, onupdate=utcnow)


class DeliveryState(enum.StrEnum):
    PENDING = "pending"  # waiting for next_attempt_at (first try or a retry)
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # every scheduled attempt used, or the endpoint was refused


class WebhookDelivery(Base):
    """One event owed to one endpoint; retried until it succeeds or the schedule ends."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("events.id", ondelete="CASCADE"),
        index=True,
    )
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Stored, so a restarted worker picks up the schedule where it was.
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # True for a manual replay (a second delivery of the same event id).
    replay: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class WebhookAttempt(Base):
    """One HTTP request of a delivery: the delivery log."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"),
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"),
        index=True,
    )
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    response_excerpt: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)


# --- production ops: shadow runs, nightly evals (issue 13) ---------------------------------


class ShadowRun(Base):
    """A candidate model's run on a document the primary already finished, and the
    field-level diff against the primary's record (never shown to users, never written
    to records)."""

    __tablename__ = "shadow_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    record_id: Mapped[int | None] = mapped_column(Integer)
    doc_type: Mapped[str] = mapped_column(String(40))
    route_tier: Mapped[str | None] = mapped_column(String(20))
    primary_model: Mapped[str] = mapped_column(String(200))
    candidate_model: Mapped[str] = mapped_column(String(200))
    # ok | failed
    status: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    primary_latency_s: Mapped[float | None] = mapped_column(Float)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float)
    record: Mapped[dict[str, Any] | None] = mapped_column()
    # [{"field": "line_items[].amount", "key": ..., "outcome": exact|equivalent|different|...}]
    fields: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class EvalResult(Base):
    """One model's score on the golden sample in one nightly batch."""

    __tablename__ = "eval_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    batch: Mapped[str] = mapped_column(String(40))
    # production | fallback | reference
    role: Mapped[str] = mapped_column(String(20))
    model: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(64))
    files: Mapped[int] = mapped_column(Integer, default=0)
    documents: Mapped[int] = mapped_column(Integer, default=0)
    accuracy: Mapped[float] = mapped_column(Float, default=0.0)
    f1: Mapped[float] = mapped_column(Float, default=0.0)
    by_doc_type: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Mean file accuracy per routing tier the files were given ({"local_small": 0.93, ...}).
    by_tier: Mapped[dict[str, Any] | None] = mapped_column()
    cost: Mapped[float | None] = mapped_column(Float)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)


class WebSession(Base):
    """A signed-in browser (app/web): the cookie holds a random token, stored here hashed."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    api_key_id: Mapped[int] = mapped_column(
        ForeignKey("api_keys.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
