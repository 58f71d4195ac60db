"""Build the configured model from settings (``SHIPDOC_MODEL__*``); see docs/models.md."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from agent.models.base import ChatModel, ModelError
from agent.models.fetch import KNOWN_MODELS, cached_path
from agent.models.llama_local import LlamaLocalModel
from agent.models.openai_http import OpenAIChatModel
from agent.models.router import CircuitBreaker, Price, Route, RoutedModel
from agent.models.scripted import ScriptedModel
from core.settings import ModelRef, ModelSettings, Settings


def _price(prompt: float | None, completion: float | None) -> Price | None:
    if prompt is None and completion is None:
        return None
    return Price(prompt_per_m=prompt or 0.0, completion_per_m=completion or 0.0)


def _primary(cfg: ModelSettings) -> Route:
    price = _price(cfg.price_prompt_per_m, cfg.price_completion_per_m)
    if cfg.backend == "local":
        if cfg.path is None and cfg.name not in KNOWN_MODELS:
            raise ModelError(
                f"SHIPDOC_MODEL__NAME={cfg.name!r} is not a known local model "
                f"({', '.join(sorted(KNOWN_MODELS))}); set SHIPDOC_MODEL__PATH to a GGUF file"
            )
        path = cfg.path or cached_path(cfg.name, cfg.cache_dir)
        local = LlamaLocalModel(
            path=path,
            name=cfg.name,
            n_ctx=cfg.n_ctx,
            n_threads=cfg.n_threads,
            prefix_states=cfg.prefix_states != "off",
            prefix_dir=cfg.cache_dir / "prefix-states" if cfg.prefix_states == "disk" else None,
        )
        # Retrying a generation on the same CPU gains nothing: no retries in process.
        return Route(local, price, retries=0)
    if cfg.backend == "openai":
        if not cfg.base_url:
            raise ModelError("SHIPDOC_MODEL__BASE_URL is required for the openai backend")
        remote = OpenAIChatModel(
            base_url=cfg.base_url,
            model=cfg.name,
            api_key=cfg.api_key.get_secret_value(),
            structured_output=cfg.structured_output,
            timeout_s=cfg.timeout_s,
        )
        return Route(remote, price, retries=cfg.retries)
    if cfg.script_path is None:
        raise ModelError("SHIPDOC_MODEL__SCRIPT_PATH is required for the scripted backend")
    return Route(ScriptedModel.from_file(cfg.script_path, name=cfg.name), price, retries=0)


def _fallback(cfg: ModelSettings) -> Route | None:
    return _fallback_route(cfg) if cfg.fallback_base_url else None


def _fallback_route(cfg: ModelSettings) -> Route:
    model = OpenAIChatModel(
        base_url=cfg.fallback_base_url,
        model=cfg.fallback_name or cfg.name,
        api_key=cfg.fallback_api_key.get_secret_value(),
        structured_output=cfg.fallback_structured_output,
        timeout_s=cfg.timeout_s,
    )
    price = _price(cfg.fallback_price_prompt_per_m, cfg.fallback_price_completion_per_m)
    return Route(model, price, retries=cfg.retries)


def _routed(cfg: ModelSettings, primary: Route, fallback: Route | None = None) -> RoutedModel:
    """``primary`` (and ``fallback``) behind the router with the configured backoff and a
    circuit breaker of its own (``breaker_failures``, ``breaker_reset_s``): every tier the
    settings build gets them, not only the production model."""
    return RoutedModel(
        primary,
        fallback,
        backoff_s=cfg.retry_backoff_s,
        breaker=CircuitBreaker(cfg.breaker_failures, cfg.breaker_reset_s),
    )


def build_model(settings: Settings) -> ChatModel:
    """The model the settings name, behind the router (retries, fallback, cost)."""
    cfg = settings.model
    return _routed(cfg, _primary(cfg), _fallback(cfg))


def build_ref_model(ref: ModelRef, cfg: ModelSettings) -> ChatModel:
    """A model named by a ``ModelRef`` (reference, shadow candidate, large tier), behind the
    router for its price and tracing (``cfg``'s timeout and breaker), without retries or
    fallback."""
    price = _price(ref.price_prompt_per_m, ref.price_completion_per_m)
    model: ChatModel
    if ref.backend == "scripted":
        if ref.script_path is None:
            raise ModelError(f"model {ref.name!r}: a scripted model needs script_path")
        model = ScriptedModel.from_file(ref.script_path, name=ref.name)
    else:
        if not ref.base_url:
            raise ModelError(f"model {ref.name!r}: base_url is required")
        model = OpenAIChatModel(
            base_url=ref.base_url,
            model=ref.name,
            api_key=ref.api_key.get_secret_value(),
            structured_output=ref.structured_output,
            timeout_s=cfg.timeout_s,
        )
    return _routed(cfg, Route(model, price, retries=0))


def models_by_role(settings: Settings) -> dict[str, ChatModel]:
    """The models a nightly eval compares: production (the primary alone, so that a
    fallback cannot hide its failures), the fallback and the reference when configured."""
    cfg = settings.model
    roles: dict[str, ChatModel] = {"production": _routed(cfg, _primary(cfg))}
    fallback = _fallback(cfg)
    if fallback is not None:
        roles["fallback"] = _routed(cfg, fallback)
    if settings.ops.reference.configured:
        roles["reference"] = build_ref_model(settings.ops.reference, cfg)
    return roles


_SHARED: dict[str, ChatModel] = {}
_SHARED_LOCK = threading.Lock()


def _once(key: str, build: Callable[[], ChatModel]) -> ChatModel:
    with _SHARED_LOCK:
        model = _SHARED.get(key)
        if model is None:
            model = _SHARED[key] = build()
        return model


def shared_model(settings: Settings) -> ChatModel:
    """The process's one model client for these settings, shared by every document and chat
    question: one circuit breaker that sees every failure, one HTTP connection pool, one
    loaded GGUF. The scripted backend (tests) gets a fresh script each time."""
    if settings.model.backend == "scripted":
        return build_model(settings)
    return _once(f"model:{settings.model.model_dump_json()}", lambda: build_model(settings))


def shared_ref_model(ref: ModelRef, cfg: ModelSettings) -> ChatModel:
    """``build_ref_model`` once per process (the large tier of routing, asked per page
    group); a scripted model (tests) gets a fresh script each time."""
    if ref.backend == "scripted":
        return build_ref_model(ref, cfg)
    key = f"ref:{cfg.model_dump_json()}:{ref.model_dump_json()}"
    return _once(key, lambda: build_ref_model(ref, cfg))


def hosted_model(settings: Settings) -> ChatModel | None:
    """The hosted tier of routing: the configured fallback as the primary (no fallback),
    once per process (routing asks for it per page group)."""
    cfg = settings.model
    if not cfg.fallback_base_url:
        return None
    return _once(f"hosted:{cfg.model_dump_json()}", lambda: _routed(cfg, _fallback_route(cfg)))


def _forget_shared_after_fork() -> None:
    # A forked pool process must not share its parent's HTTP connections.
    _SHARED.clear()


os.register_at_fork(after_in_child=_forget_shared_after_fork)
