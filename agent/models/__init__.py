"""Model access: one interface (``ChatModel``) and the backends behind it.

``build_model(settings)`` is the only place that chooses a backend; the rest of the system
codes against ``ChatModel``.
"""

from __future__ import annotations

from agent.models.base import (
    ChatModel,
    ChatRequest,
    ChatResponse,
    Message,
    ModelError,
    ModelOutputInvalid,
    ModelTimeout,
    ModelUnavailable,
    OnDelta,
    ToolCall,
    ToolSpec,
    Usage,
    stream_chat,
)
from agent.models.factory import build_model, shared_model

__all__ = [
    "ChatModel",
    "ChatRequest",
    "ChatResponse",
    "Message",
    "ModelError",
    "ModelOutputInvalid",
    "ModelTimeout",
    "ModelUnavailable",
    "OnDelta",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "build_model",
    "shared_model",
    "stream_chat",
]
