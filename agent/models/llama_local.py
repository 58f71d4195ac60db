"""In-process llama.cpp (``llama-cpp-python``): the embedded default model.

The GGUF file is loaded lazily, once per process and per (path, n_ctx, n_threads), behind a
lock; inference holds the same model's lock because a llama.cpp context serves one request
at a time. Each request's stable prefix (its system turn) is prefilled once and restored
from a saved state afterwards (agent/models/prefix_state). Structured output uses
llama.cpp's own form (``json_object`` plus a schema), and tool calls written into the text
are recovered like those of the HTTP backend.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.models.base import (
    ChatRequest,
    ChatResponse,
    ModelError,
    ModelTimeout,
    ModelUnavailable,
    OnDelta,
    Usage,
)
from agent.models.prefix_state import Prefill, PrefixStates, model_id
from agent.models.schema import response_format
from agent.models.wire import (
    content_and_calls,
    messages_to_wire,
    tool_choice_to_wire,
    tools_to_wire,
    wire_tool_calls,
)


@dataclass
class _Loaded:
    llama: Any
    lock: threading.Lock
    load_s: float
    # llama.cpp asks this between compute steps (prompt and generation alike) whether to
    # abort; a request's deadline makes it say yes (``_abort_after``).
    deadline: float = float("inf")
    abort_callback: Any = None
    prefixes: PrefixStates | None = None

    def prefill(self, kwargs: dict[str, Any]) -> Prefill:
        """Serve the request's stable prefix from a saved state (see prefix_state)."""
        return self.prefixes.prepare(kwargs) if self.prefixes is not None else Prefill()

    def watch(self) -> None:
        """Install the abort callback on the model's context (once)."""
        try:
            low = llama_cpp_module().llama_cpp
        except ImportError:
            return

        def should_abort(_data: Any) -> bool:
            return time.monotonic() > self.deadline

        self.abort_callback = low.ggml_abort_callback(should_abort)
        low.llama_set_abort_callback(self.llama.ctx, self.abort_callback, None)


def llama_cpp_module() -> Any:
    """``llama_cpp``, imported without the OCR's OpenMP cap.

    llama.cpp's CPU backend runs its threads through OpenMP (libgomp), which reads
    ``OMP_THREAD_LIMIT`` once, when the library loads. The ``OMP_THREAD_LIMIT=1`` meant for
    Tesseract (tools/parse/tesseract gives it to each OCR process itself) would otherwise
    leave the model one thread whatever ``n_threads`` says: half the speed on 2 cores.
    """
    os.environ.pop("OMP_THREAD_LIMIT", None)
    import llama_cpp

    return llama_cpp


_LOADED: dict[tuple[str, int, int], _Loaded] = {}
_LOAD_LOCK = threading.Lock()


def _threads(n_threads: int) -> int:
    return n_threads if n_threads > 0 else max(1, os.cpu_count() or 1)


def _load(
    path: Path, n_ctx: int, n_threads: int, prefixes: bool = True, prefix_dir: Path | None = None
) -> _Loaded:
    key = (str(path.resolve()), n_ctx, n_threads)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded
        if not path.is_file():
            raise ModelUnavailable(
                f"model file {path} is missing; run `shipdoc model fetch` or set "
                "SHIPDOC_MODEL__PATH"
            )
        try:
            Llama = llama_cpp_module().Llama
        except ImportError as exc:
            raise ModelUnavailable(
                "llama-cpp-python is not installed; install the `local-model` extra "
                "(make install does)"
            ) from exc
        started = time.monotonic()
        try:
            llama = Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                verbose=False,
            )
        except ValueError as exc:
            raise ModelUnavailable(f"llama.cpp could not load {path}: {exc}") from exc
        loaded = _Loaded(llama=llama, lock=threading.Lock(), load_s=time.monotonic() - started)
        if prefixes:
            loaded.prefixes = PrefixStates(
                llama, model_id=model_id(path, n_ctx), directory=prefix_dir
            )
        loaded.watch()
        _LOADED[key] = loaded
        return loaded


def vocab(path: Path) -> Any:
    """The GGUF's tokenizer alone (``vocab_only``: no weights, loads in a second), for
    counting the tokens a prompt or a record costs without running the model."""
    return llama_cpp_module().Llama(model_path=str(path), vocab_only=True, verbose=False)


class LlamaLocalModel:
    """A GGUF model run in this process."""

    backend = "llama_cpp"

    def __init__(
        self,
        *,
        path: Path,
        name: str,
        n_ctx: int = 8192,
        n_threads: int = 0,
        prefix_states: bool = True,
        prefix_dir: Path | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.n_ctx = n_ctx
        self.n_threads = _threads(n_threads)
        # Stable prefixes prefilled once (prefix_state); kept in prefix_dir between
        # processes (None: in RAM only). Fixed by the first model object that loads the file.
        self.prefix_states = prefix_states
        self.prefix_dir = prefix_dir

    def _loaded(self) -> _Loaded:
        return _load(self.path, self.n_ctx, self.n_threads, self.prefix_states, self.prefix_dir)

    def load(self) -> float:
        """Load the model now (it loads on first use otherwise); returns the load seconds."""
        return self._loaded().load_s

    def request_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        """The keyword arguments of ``create_chat_completion`` for ``request``."""
        kwargs: dict[str, Any] = {
            "messages": messages_to_wire(request.messages, arguments_as_object=True),
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.tools:
            # Sent even with tool_choice "none": the tools are part of the prompt's stable
            # prefix, and an unchanged prefix is served from llama.cpp's cache.
            kwargs["tools"] = tools_to_wire(request.tools, "json_object")
            choice = tool_choice_to_wire(request)
            if choice == "required" and len(request.tools) == 1:
                # llama-cpp-python constrains only a named tool; one tool means that one.
                choice = {"type": "function", "function": {"name": request.tools[0].name}}
            kwargs["tool_choice"] = choice
        if request.json_schema is not None:
            kwargs["response_format"] = response_format(
                "json_object", request.json_schema, request.json_schema_name
            )
        return kwargs

    def chat(self, request: ChatRequest) -> ChatResponse:
        loaded = self._loaded()
        kwargs = self.request_kwargs(request)
        with loaded.lock:
            started = time.monotonic()
            with self._deadline(loaded, request, started):
                prefill = loaded.prefill(kwargs)
                result = loaded.llama.create_chat_completion(**kwargs, stream=False)
            latency = time.monotonic() - started
        self._in_time(request, latency)
        return self._response(request, result, latency, prefill)

    def stream(self, request: ChatRequest, on_delta: OnDelta) -> ChatResponse:
        """A plain-text answer streamed token by token as llama.cpp samples it."""
        loaded = self._loaded()
        kwargs = self.request_kwargs(request)
        parts: list[str] = []
        first: float | None = None
        finish: str | None = None
        # A person waits: the deadline counts from the question, a wait for the model (busy
        # with another request) included; the abort callback ends prompt and generation.
        started = time.monotonic()
        if not loaded.lock.acquire(timeout=request.timeout_s):
            raise ModelTimeout(f"{self.name}: busy for the whole {request.timeout_s:g} s limit")
        try:
            with self._deadline(loaded, request, started):
                prefill = loaded.prefill(kwargs)
                for chunk in loaded.llama.create_chat_completion(**kwargs, stream=True):
                    choice = chunk["choices"][0]
                    text = (choice.get("delta") or {}).get("content") or ""
                    if text:
                        first = first if first is not None else time.monotonic() - started
                        parts.append(text)
                        on_delta(text)
                    finish = choice.get("finish_reason") or finish
                latency = time.monotonic() - started
                # Streamed chunks carry no usage; the context holds prompt + completion tokens.
                total = int(getattr(loaded.llama, "n_tokens", 0))
        finally:
            loaded.lock.release()
        self._in_time(request, latency)
        completion = len(parts)
        prompt = max(total - completion, 0)
        return ChatResponse(
            content="".join(parts),
            usage=Usage(
                prompt_tokens=prompt,
                completion_tokens=completion,
                cached_prompt_tokens=_cached(prefill, prompt),
            ),
            model=self.name,
            backend=self.backend,
            latency_s=latency,
            finish_reason=finish,
            first_token_s=first,
        )

    @contextmanager
    def _deadline(self, loaded: _Loaded, request: ChatRequest, started: float) -> Iterator[None]:
        """Arm the abort callback for ``request`` and turn llama.cpp's errors into ours."""
        loaded.deadline = started + request.timeout_s
        try:
            yield
        except ValueError as exc:
            # Prompt longer than the context, unknown tool named, bad schema.
            raise ModelError(f"{self.name}: {exc}") from exc
        except RuntimeError as exc:
            raise self._aborted(loaded, request, exc) from exc
        finally:
            loaded.deadline = float("inf")

    def _aborted(self, loaded: _Loaded, request: ChatRequest, exc: RuntimeError) -> ModelError:
        """llama_decode returned "aborted": past the deadline, the abort callback did it."""
        if time.monotonic() <= loaded.deadline:
            return ModelError(f"{self.name}: {exc}")
        loaded.llama.reset()  # the context's cache may hold a half-evaluated prompt
        return ModelTimeout(f"{self.name}: interrupted at the {request.timeout_s:g} s limit")

    def _in_time(self, request: ChatRequest, latency_s: float) -> None:
        # Aborted between tokens, llama.cpp may end the reply as if it were complete.
        if latency_s > request.timeout_s:
            raise ModelTimeout(
                f"{self.name}: took {latency_s:.1f} s, above the {request.timeout_s:g} s limit"
            )

    def _response(
        self, request: ChatRequest, result: Any, latency_s: float, prefill: Prefill
    ) -> ChatResponse:
        choice = result["choices"][0]
        message = choice.get("message") or {}
        calls = wire_tool_calls(message.get("tool_calls"))
        content, calls, errors = content_and_calls(request, message.get("content") or "", calls)
        usage = result.get("usage") or {}
        return ChatResponse(
            content=content,
            tool_calls=calls,
            tool_call_errors=errors,
            usage=Usage(
                prompt_tokens=int(usage.get("prompt_tokens", 0)),
                completion_tokens=int(usage.get("completion_tokens", 0)),
                cached_prompt_tokens=_cached(prefill, int(usage.get("prompt_tokens", 0))),
            ),
            model=self.name,
            backend=self.backend,
            latency_s=latency_s,
            finish_reason=choice.get("finish_reason"),
        )


def _cached(prefill: Prefill, prompt_tokens: int) -> int:
    """Prompt tokens served from the context or a saved prefix state, not prefilled."""
    if prefill.prompt_tokens != prompt_tokens:
        return 0  # the template was not rendered as llama-cpp-python did: claim nothing
    return prompt_tokens - prefill.evaluated
