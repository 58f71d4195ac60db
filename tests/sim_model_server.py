"""A simulated OpenAI-compatible model server for the service tests and bench/service.py.

Standard library only; runs in a thread (``SimServer``) or as a script
(``python tests/sim_model_server.py --port 8081 --latency 0.5``). Each chat completion
waits ``latency`` seconds, then answers like a well-behaved model:

* a structured-output request for an invoice schema gets the invoice printed by
  ``invoice_pdf`` (the invoice number is read back from the prompt); for an invoice
  number ending in ``R`` the buyer's name is one the page does not print (a misread:
  its confidence stays low and the record needs review);
* a classification request gets ``commercial_invoice``;
* a request offering tools (a repair) gets a ``fix_fields`` call that changes nothing;
* anything else (chat) gets an answer citing the first ``[chunk:…]`` / ``[record:…]``
  sources of its context.

``POST /control`` changes latency and failures at run time (``{"latency": 2.0,
"chat_latency": 0.1, "fail_status": 503, "fail_count": 3}``; ``chat_latency`` applies to
requests without schema or tools; ``fail_count`` -1 fails forever; ``token_delay`` is the
pause between the words of a streamed answer); ``GET /stats`` reports requests served and
seconds spent "thinking".

A request with ``"stream": true`` gets its answer as server-sent chunks, one word each,
like any OpenAI-compatible server, and the usage in a last chunk when asked for.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pymupdf

INVOICE_DATE = "2026-11-02"
_INVOICE_NO = re.compile(r"Invoice No:\s*([A-Z0-9][A-Za-z0-9\-/]*)")
MISREAD_BUYER = "Rotterdam Trading Holding NV"
_CITE = re.compile(r"\[(?:chunk|record):[A-Za-z0-9\-]+\]")


def invoice_lines(number: str) -> tuple[str, ...]:
    return (
        "COMMERCIAL INVOICE",
        f"Invoice No: {number}",
        f"Invoice date: {INVOICE_DATE}",
        "Seller: Hanse Export GmbH, Am Sandtorkai 1, 20457 Hamburg, DE",
        "Buyer: Rotterdam Trading BV, Wilhelminakade 10, 3072 AP Rotterdam, NL",
        "Currency: EUR    Incoterm: FOB Hamburg",
        "Description    HS code    Quantity    Unit price    Amount",
        "Steel bolts M10    731815    1000 PCS    0.50    500.00",
        "Total amount due: 500.00 EUR",
    )


def invoice_pdf(number: str) -> bytes:
    """A one-page text-layer invoice; distinct numbers give distinct documents."""
    doc = pymupdf.open()
    page = doc.new_page(width=595, height=842)
    y = 72.0
    for line in invoice_lines(number):
        page.insert_text((56, y), line, fontsize=10, fontname="helv")
        y += 16
    data: bytes = doc.tobytes()
    doc.close()
    return data


def invoice_values(number: str) -> dict[str, Any]:
    return {
        "invoice_number": number,
        "invoice_date": INVOICE_DATE,
        "seller": {
            "name": "Hanse Export GmbH",
            "address": "Am Sandtorkai 1, 20457 Hamburg",
            "country": "DE",
        },
        "buyer": {
            "name": "Rotterdam Trading BV",
            "address": "Wilhelminakade 10, 3072 AP Rotterdam",
            "country": "NL",
        },
        "currency": "EUR",
        "incoterm": "FOB",
        "incoterm_place": "Hamburg",
        "line_items": [
            {
                "description": "Steel bolts M10",
                "hs_code": "731815",
                "quantity": 1000,
                "unit": "PCS",
                "unit_price": 0.5,
                "amount": 500.0,
            }
        ],
        "subtotal": 500.0,
        "total": 500.0,
    }


class Behaviour:
    def __init__(self, latency: float) -> None:
        self.lock = threading.Lock()
        self.latency = latency
        # Latency of plain chat requests (no schema, no tools); None: ``latency``.
        self.chat_latency: float | None = None
        # Seconds between the words of a streamed answer.
        self.token_delay = 0.0
        self.fail_status = 503
        self.fail_count = 0
        self.requests = 0
        self.failures = 0
        self.model_seconds = 0.0

    def take(self, body: dict[str, Any]) -> tuple[float, int | None]:
        """This request's latency and, if it is to fail, its status."""
        with self.lock:
            self.requests += 1
            fail = None
            if self.fail_count != 0:
                fail = self.fail_status
                self.failures += 1
                if self.fail_count > 0:
                    self.fail_count -= 1
            plain = not body.get("response_format") and not body.get("tools")
            latency = self.latency
            if plain and self.chat_latency is not None:
                latency = self.chat_latency
            self.model_seconds += latency
            return latency, fail


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(str(m.get("content") or "") for m in messages)


def _reply(body: dict[str, Any]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = body.get("messages", [])
    text = _text(messages)
    content = ""
    calls: list[dict[str, Any]] = []
    fmt = body.get("response_format") or {}
    if fmt:
        schema = json.dumps(fmt)
        if "doc_type" in schema and "invoice_number" not in schema:
            content = json.dumps({"doc_type": "commercial_invoice"})
        else:
            # the document comes after the instructions, which may quote the label too
            found = _INVOICE_NO.findall(text)
            values = invoice_values(found[-1] if found else "INV-0")
            if values["invoice_number"].endswith("R"):
                values["buyer"]["name"] = MISREAD_BUYER
            content = json.dumps(values)
    elif body.get("tools"):
        calls = [
            {
                "id": f"call_{time.monotonic_ns()}",
                "type": "function",
                "function": {"name": "fix_fields", "arguments": json.dumps({"fields": {}})},
            }
        ]
    else:
        cited = list(dict.fromkeys(_CITE.findall(text)))[:2]
        content = (
            "Based on the sources: " + " ".join(cited)
            if cited
            else "The sources do not answer this question."
        )
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if calls:
        message["tool_calls"] = calls
    prompt = len(text) // 4
    completion = max(1, len(content) // 4)
    return {
        "id": f"sim-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "sim"),
        "choices": [
            {"index": 0, "message": message, "finish_reason": "tool_calls" if calls else "stop"}
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def make_handler(behaviour: Behaviour) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            value: dict[str, Any] = json.loads(raw or b"{}")
            return value

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._send(200, {"object": "list", "data": [{"id": "sim", "object": "model"}]})
            elif self.path == "/stats":
                with behaviour.lock:
                    self._send(
                        200,
                        {
                            "requests": behaviour.requests,
                            "failures": behaviour.failures,
                            "model_seconds": behaviour.model_seconds,
                        },
                    )
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/control":
                with behaviour.lock:
                    for key in (
                        "latency",
                        "chat_latency",
                        "fail_status",
                        "fail_count",
                        "token_delay",
                    ):
                        if key in body:
                            setattr(behaviour, key, body[key])
                self._send(200, {"ok": True})
                return
            if not self.path.endswith("/chat/completions"):
                self._send(404, {"error": {"message": "not found"}})
                return
            latency, fail = behaviour.take(body)
            time.sleep(latency)
            if fail is not None:
                self._send(fail, {"error": {"message": "simulated failure", "type": "server"}})
                return
            if body.get("stream"):
                self._stream(body, _reply(body))
            else:
                self._send(200, _reply(body))

        def _stream(self, body: dict[str, Any], reply: dict[str, Any]) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True
            base = {k: reply[k] for k in ("id", "created", "model")}
            base["object"] = "chat.completion.chunk"
            text = reply["choices"][0]["message"].get("content") or ""
            words = re.findall(r"\S+\s*|\s+", text)
            for n, word in enumerate(words):
                if n and behaviour.token_delay:
                    time.sleep(behaviour.token_delay)
                delta = {"content": word} if n else {"role": "assistant", "content": word}
                self._event({**base, "choices": [{"index": 0, "delta": delta}]})
            self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
            if (body.get("stream_options") or {}).get("include_usage"):
                self._event({**base, "choices": [], "usage": reply["usage"]})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _event(self, payload: dict[str, Any]) -> None:
            self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
            self.wfile.flush()

    return Handler


class SimServer:
    """The simulator on 127.0.0.1 in a background thread; ``url`` ends in ``/v1``."""

    def __init__(self, latency: float = 0.0, port: int = 0) -> None:
        self.behaviour = Behaviour(latency)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), make_handler(self.behaviour))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def url(self) -> str:
        return self.base + "/v1"

    def __enter__(self) -> SimServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--latency", type=float, default=0.5)
    args = parser.parse_args()
    with SimServer(args.latency, args.port) as server:
        print(f"simulated model at {server.url}", flush=True)
        server.thread.join()


if __name__ == "__main__":
    main()
