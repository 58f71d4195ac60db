"""Stable-prefix states for the in-process llama.cpp backend: each prefix prefilled once.

Every request of a run starts with a system turn that is byte-identical per purpose: the
extraction prompt and output shape of one document type, the classify prompt, the repair
prompt with the tool schemas. llama-cpp-python already re-evaluates only what follows the
longest common prefix with the *previous* prompt, so that system turn is prefilled again
whenever another kind of request came in between (classify before extraction, another
document type, a repair). Here the KV cache of each system turn is kept once it has been
evaluated and restored before a request that starts with it, so that only the rest (the
document) is prefilled. States live in RAM (bounded, least recently used dropped first)
and, when a directory is given, on disk, so a new process starts warm too.

Not ``LlamaRAMCache`` / ``LlamaDiskCache``: ``Llama.save_state`` stores the whole context
after every completion, including the ``n_batch x n_vocab`` float32 scores array (~311 MB
for Qwen's vocabulary), and keys it by prompt plus reply. Here only sequence 0's KV cells
of the prefix are stored (``llama_state_seq_get_data``; ~28 KB a token on the 1.5B model).

The prefix is found by rendering the chat template twice (the request, and its system turn
followed by an empty user turn) and taking the tokens both share: exactly the tokens
llama-cpp-python's own chat handler will send first. Correctness never depends on it:
``Llama.generate`` still compares tokens and evaluates whatever differs.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import logging
import os
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Below this many tokens a prefix costs less to prefill than to look up and restore.
MIN_PREFIX_TOKENS = 64
_DEFAULT_RAM_BYTES = 512 * 1024 * 1024
# Files kept on disk, least recently used removed first (a changed prompt leaves old ones).
MAX_FILES = 32
_MAGIC = b"shipdoc-prefix-v1\n"


@dataclass
class Prefill:
    """What one request cost to prefill: the prompt's tokens and how they were served."""

    prompt_tokens: int = 0
    # Tokens llama.cpp evaluated for this prompt (the rest came from the KV cache).
    evaluated: int = 0
    # The stable prefix of the request and how it was served: "kept" (already in the
    # context), "restored" (from RAM or disk), "saved" (evaluated now, kept for next
    # time), or "" when the request has none (no system turn, template not rendered).
    prefix_tokens: int = 0
    prefix: str = ""


def common_prefix(a: Any, b: Any) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class _Template:
    """The model's own chat template, rendered as llama-cpp-python's default handler does."""

    def __init__(self, llama: Any) -> None:
        from llama_cpp.llama_chat_format import Jinja2ChatFormatter

        self.formatter: Any = None
        text = llama.metadata.get("tokenizer.chat_template")
        if llama.chat_handler is not None or llama.chat_format != "chat_template.default":
            return
        if not text:
            return
        eos, bos = llama.token_eos(), llama.token_bos()
        self.formatter = Jinja2ChatFormatter(
            template=text,
            eos_token=_piece(llama, eos),
            bos_token=_piece(llama, bos),
            stop_token_ids=[eos],
        )

    def tokens(self, llama: Any, kwargs: dict[str, Any]) -> tuple[list[int], int] | None:
        """The prompt tokens of a chat request and the length of its stable prefix."""
        messages = kwargs["messages"]
        if self.formatter is None or not messages or messages[0].get("role") != "system":
            return None
        extra = {"tools": kwargs.get("tools"), "tool_choice": kwargs.get("tool_choice")}
        try:
            prompt = self.formatter(messages=messages, **extra).prompt
            probe = self.formatter(
                messages=[messages[0], {"role": "user", "content": ""}], **extra
            ).prompt
        except Exception:  # a template that cannot render: no prefix reuse, never a failure
            log.debug("chat template did not render; prefix states off", exc_info=True)
            return None
        full = _tokenize(llama, prompt)
        return full, common_prefix(full, _tokenize(llama, probe))


def _piece(llama: Any, token: int) -> str:
    return llama.detokenize([token], special=True).decode("utf-8", "ignore") if token >= 0 else ""


def _tokenize(llama: Any, text: str) -> list[int]:
    # As the chat handler does: the template writes its own BOS (``added_special``).
    return list(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True))


class PrefixStates:
    """Saved KV states of stable prompt prefixes for one loaded model."""

    def __init__(
        self,
        llama: Any,
        *,
        model_id: str,
        directory: Path | None = None,
        max_bytes: int = _DEFAULT_RAM_BYTES,
    ) -> None:
        self.llama = llama
        self.model_id = model_id
        self.directory = directory
        self.max_bytes = max_bytes
        self.template = _Template(llama)
        self._ram: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def prepare(self, kwargs: dict[str, Any]) -> Prefill:
        """Put the request's stable prefix into the context (kept, restored or evaluated now)
        and say what the prompt will cost. The caller holds the model's lock."""
        llama = self.llama
        found = self.template.tokens(llama, kwargs)
        if found is None:
            return Prefill()
        full, size = found
        have = common_prefix(llama.input_ids[: llama.n_tokens], full)
        out = Prefill(prompt_tokens=len(full), prefix_tokens=size)
        if size >= MIN_PREFIX_TOKENS and size < len(full):
            prefix = full[:size]
            if have >= size:
                out.prefix = "kept"
            elif self._restore(prefix):
                out.prefix = "restored"
                have = size
            else:
                self._evaluate(prefix, have)  # prefilled as part of this request
                self._save(prefix)
                out.prefix = "saved"
        # llama.cpp re-evaluates one token when the whole prompt is cached.
        out.evaluated = max(len(full) - have, 1)
        return out

    def key(self, prefix: list[int]) -> str:
        digest = hashlib.sha256(self.model_id.encode())
        digest.update(b"\0".join(str(t).encode() for t in prefix))
        return digest.hexdigest()[:32]

    def _evaluate(self, prefix: list[int], have: int) -> None:
        llama = self.llama
        start = min(have, len(prefix))
        llama.n_tokens = start
        llama.eval(prefix[start:])  # removes the cells after ``start`` first

    def _save(self, prefix: list[int]) -> None:
        from llama_cpp import llama_cpp as low

        ctx = self.llama.ctx
        size = int(low.llama_state_seq_get_size(ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(low.llama_state_seq_get_data(ctx, buffer, size, 0))
        if written <= 0:
            return
        data = ctypes.string_at(buffer, written)
        key = self.key(prefix)
        self._remember(key, data)
        self._write(key, data)

    def _restore(self, prefix: list[int]) -> bool:
        key = self.key(prefix)
        data = self._recall(key)
        if data is None:
            data = self._read(key)
            if data is None:
                return False
            self._remember(key, data)
        from llama_cpp import llama_cpp as low

        llama = self.llama
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        llama.n_tokens = 0
        llama._ctx.kv_cache_seq_rm(-1, 0, -1)  # no public form in 0.3.x
        if int(low.llama_state_seq_set_data(llama.ctx, buffer, len(data), 0)) != len(data):
            # Another build or model layout: forget it and evaluate the prefix instead.
            log.warning("prefix state %s did not load; evaluating the prefix", key)
            self._forget(key)
            llama._ctx.kv_cache_seq_rm(-1, 0, -1)
            return False
        llama.input_ids[: len(prefix)] = prefix
        llama.n_tokens = len(prefix)
        # The logits are those of whatever ran last: the next decode must refresh them.
        llama._requires_eval = True
        return True

    # RAM: least recently used first out, bounded by bytes.
    def _recall(self, key: str) -> bytes | None:
        with self._lock:
            data = self._ram.get(key)
            if data is not None:
                self._ram.move_to_end(key)
            return data

    def _remember(self, key: str, data: bytes) -> None:
        with self._lock:
            self._ram[key] = data
            self._ram.move_to_end(key)
            while sum(len(v) for v in self._ram.values()) > self.max_bytes and len(self._ram) > 1:
                self._ram.popitem(last=False)

    def _forget(self, key: str) -> None:
        with self._lock:
            self._ram.pop(key, None)
        if self.directory is not None:
            (self.directory / f"{key}.kv").unlink(missing_ok=True)

    # Disk: one file per prefix, written atomically; a damaged file is a miss.
    def _read(self, key: str) -> bytes | None:
        if self.directory is None:
            return None
        path = self.directory / f"{key}.kv"
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        if not raw.startswith(_MAGIC):
            path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: pruned last
        return raw[len(_MAGIC) :]

    def _write(self, key: str, data: bytes) -> None:
        if self.directory is None:
            return
        tmp: str | None = None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".part")
            with os.fdopen(fd, "wb") as out:
                out.write(_MAGIC)
                out.write(data)
            os.replace(tmp, self.directory / f"{key}.kv")
            tmp = None
            self._prune()
        except OSError:
            log.warning("could not write prefix state %s under %s", key, self.directory)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _prune(self) -> None:
        assert self.directory is not None
        files = sorted(self.directory.glob("*.kv"), key=lambda p: p.stat().st_mtime_ns)
        for old in files[:-MAX_FILES]:
            old.unlink(missing_ok=True)


def model_id(path: Path, n_ctx: int) -> str:
    """What a saved state depends on: the model file, the context size, the library build."""
    import llama_cpp

    stat = path.stat()
    version = getattr(llama_cpp, "__version__", "?")
    return f"{path.name}:{stat.st_size}:{stat.st_mtime_ns}:{n_ctx}:{version}"
