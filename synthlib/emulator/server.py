"""HTTP in front of :class:`~.api.Api`, with the standard library's threading server.

``/v1/...`` routes need ``Authorization: Bearer <any non-empty key>`` (401 otherwise) and may
fail transiently (429/500) before doing anything when configured to. Every authorised ``/v1``
response carries ``openai-organization`` and ``openai-project`` headers; the project is
``proj_emulator`` for every key, or with ``isolate_projects`` ``proj_`` + a blake2b hash of the
key (the key is never stored or logged), and then a key sees only its project's files and
batches. Faults on the wire, drawn per call from (seed, call number), never capped:

* ``lost_reply_rate`` — a successful ``POST``/``DELETE`` (upload, create, cancel, delete) takes
  effect, then its answer is replaced, per ``lost_reply_mode``, by a 500, 502 or 504 with an
  OpenAI-style error body (``"5xx"``), by closing the connection without a response byte
  (``"drop"``), or by either (``"mixed"``);
* ``stale_read_rate`` — ``GET /v1/batches/{id}``, ``/v1/files/{id}`` and
  ``/v1/files/{id}/content`` answer OpenAI's 404 although the object exists;
* ``stale_status_rate`` — ``GET /v1/batches/{id}`` of a batch that has ended answers it as a
  lagging replica would: ``in_progress``, without result files or finished counts;
* ``duplicate_create_rate`` — a create takes effect twice (a proxy retried it): the first
  batch's answer is lost, the client gets the second's.

``clock_offset_seconds`` shifts every time the API reports (the ``*_at`` fields of files and
batches, the ``Date`` header) as a server clock that runs ahead (or behind) would.

Anthropic's Message Batches API (:mod:`.anthropic_batches`) is served under
``/v1/messages/batches``: ``POST`` (create), ``GET`` (list), ``GET /{id}``, ``POST /{id}/cancel``,
``DELETE /{id}`` and ``GET /{id}/results`` (JSONL). These routes take the key in ``x-api-key``
or as ``Authorization: Bearer`` (what recent ``anthropic`` SDKs send; 401
``authentication_error`` without either) and need an ``anthropic-version`` header; every error
they answer is Anthropic-shaped (``{"type": "error", "error": {"type", "message"}, "request_id"}``,
plus a ``request-id`` header), the transient 429/500s and lost replies included. The same wire
faults apply: lost replies on create, cancel and delete; stale 404s on retrieve and results;
stale ``in_progress`` statuses on retrieve; duplicate creates; the clock's offset.

Google's Gemini Batch API (:mod:`.gemini_batches`) is served under ``/v1beta`` (and ``/v1``, the
``google-genai`` SDK's default version, for requests carrying ``x-goog-api-key``), with the
resumable uploads under ``/upload/{v}/files`` and downloads under ``/download/{v}/files``. These
routes take the key in ``x-goog-api-key`` (or a ``key`` parameter): without one they answer 403
``PERMISSION_DENIED``, with one not in ``api_keys`` 400 ``INVALID_ARGUMENT`` (reason
``API_KEY_INVALID``), as Google does; an upload URL needs no key. Every error they answer is
Google-shaped (``{"error": {"code", "message", "status"}}``). The same wire faults apply, drawn
by the same code (:class:`_Side` describes each provider's routes to it): lost replies on
uploads (the chunks: starting a resumable upload makes only a session, which has no effect to
lose an answer over), create, cancel and deletes; stale reads on ``GET files/{id}``, downloads
(403, or ``gemini_missing_file_status``) and ``GET batches/{id}`` (404); stale
``BATCH_STATE_RUNNING`` statuses on ``GET batches/{id}``; duplicate creates; the clock's offset
on every ``createTime``/``updateTime``/``endTime``/``expirationTime``.

Admin routes, without auth or faults:

* ``GET /_emulator/config`` — the configuration; ``POST`` a JSON object of changes to apply;
* ``GET /_emulator/ledger`` — ``{"object": "list", "data": [billed request, ...]}``;
* ``GET /_emulator/health`` — ``{"ok": true}``.

Responses use HTTP/1.1 keep-alive with exact ``Content-Length``; request bodies may be sent with
``Content-Length`` or chunked.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import json
import re
import socket
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .anthropic_batches import AnthropicError, MessageBatches, rfc3339
from .api import Api
from .config import DEFAULT_PROJECT, ORGANIZATION
from .errors import ApiError, invalid, not_found
from .faults import SERVER_ERROR_MESSAGE, TransientFaults, WireFaults, hits
from .gemini_batches import GeminiBatches, GoogleError, batch_not_found, file_not_found
from .multipart import boundary_of, parse_form

Reply = tuple[int, Any]  # (status, JSON-ready object or raw bytes)


class _DropConnection(Exception):
    """Close the connection without sending any response (a lost reply)."""


def project_of(key: str) -> str:
    """The project a bearer key belongs to when projects are isolated."""
    return "proj_" + hashlib.blake2b(key.encode("utf-8"), digest_size=12).hexdigest()


class EmulatorHTTPServer(ThreadingHTTPServer):
    """Serves one :class:`Api`.

    It tracks open connections, so :meth:`close_connections` can end keep-alive connections that
    would otherwise outlive the server, and requests in flight, so :meth:`wait_idle` can let them
    finish their state writes before the state directory is released.
    """

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], api: Api) -> None:
        self.api = api
        # Anthropic's batches share the state directory (ledger included), settings and clock.
        self.message_batches = MessageBatches(api._state, lambda: api.config, api._clock)
        self.gemini = GeminiBatches(api._state, lambda: api.config, api._clock)
        self.transient = TransientFaults()
        self.wire = WireFaults()
        # the batches a retrying proxy made (``duplicate_create_rate``), whose answer was lost
        self.duplicates: list[str] = []
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        self._in_flight = 0
        self._idle = threading.Condition()
        super().__init__(address, _Handler)

    @contextlib.contextmanager
    def request_in_flight(self) -> Iterator[None]:
        with self._idle:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no request is being handled; False if ``timeout`` seconds pass first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                connection.shutdown(socket.SHUT_RDWR)


_ID = r"(?P<id>[A-Za-z0-9_\-.]+)"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "synthlib-emulator"
    # Headers and body leave in two writes; with Nagle on, a keep-alive client's delayed ACK
    # would hold every body back about 40 ms.
    disable_nagle_algorithm = True
    server: EmulatorHTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read stderr
        pass

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header: the emulator's clock, offset as configured."""
        api = self.server.api
        now = api._clock() + api.config.clock_offset_seconds if timestamp is None else timestamp
        return email.utils.formatdate(now, usegmt=True)

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    # -- plumbing ------------------------------------------------------------------------------

    def _handle(self) -> None:
        with self.server.request_in_flight():
            self._respond()

    def _respond(self) -> None:
        headers: dict[str, str] = {}
        self._reply_headers: dict[str, str] = {}  # extra headers of a successful reply
        self._project: str | None = None  # the caller's, once authorised
        self._scope: str | None = None  # the project the Api filters by (None: no filter)
        try:
            body = self._read_body()
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            status, payload = self._route(split.path, query, body)
            headers = self._reply_headers
        except _DropConnection:
            self.close_connection = True
            return
        except ApiError as exc:
            status, payload, headers = exc.status, exc.body(), exc.headers
        except Exception:
            traceback.print_exc(file=sys.stderr)
            error = ApiError(500, SERVER_ERROR_MESSAGE, type="server_error")
            status, payload = error.status, error.body()
        if self._project is not None:
            headers = {
                "openai-organization": ORGANIZATION,
                "openai-project": self._project,
                **headers,
            }
        self._send(status, payload, headers)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: Any, headers: dict[str, str]) -> None:
        if isinstance(payload, bytes):
            data, content_type = payload, "application/octet-stream"
        else:
            data, content_type = json.dumps(payload).encode("utf-8"), "application/json"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-request-id", "req_" + uuid.uuid4().hex)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, body: bytes) -> Any:
        if not body.strip():
            return {}
        try:
            return json.loads(body)
        except ValueError:
            raise invalid(
                "We could not parse the JSON body of your request. (HINT: This likely means you "
                "aren't using your HTTP library correctly.)"
            ) from None

    def _fingerprint(self, body: bytes) -> str:
        # What makes a retry "the same request": method, path with query, and body. Clients
        # pick a fresh multipart boundary for every attempt, so it is left out of the body.
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/"):
            with contextlib.suppress(ApiError):
                body = body.replace(boundary_of(content_type).encode("latin-1"), b"")
        digest = hashlib.blake2b(body, digest_size=16).hexdigest()
        return f"{self.command} {self.path} {digest}"

    def _authorize(self) -> str:
        """The bearer key of the request (401 without one)."""
        header = self.headers.get("Authorization")
        if not header:
            raise ApiError(
                401,
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
            )
        scheme, _, key = header.partition(" ")
        accepted = self.server.api.config.api_keys
        if (
            scheme.lower() != "bearer"
            or not key.strip()
            or (accepted and key.strip() not in accepted)
        ):
            raise ApiError(401, "Incorrect API key provided.", code="invalid_api_key")
        return key.strip()

    # -- routing -------------------------------------------------------------------------------

    def _route(self, path: str, query: dict[str, str], body: bytes) -> Reply:
        api = self.server.api
        if path.startswith("/_emulator/"):
            return self._admin(api, path, body)
        if _is_gemini(path, query, self.headers):
            return self._gemini(path, query, body)
        if path == "/v1/messages/batches" or path.startswith("/v1/messages/batches/"):
            return self._anthropic(path, query, body)
        if path.startswith("/v1/") or path == "/v1":
            config = api.config
            key = self._authorize()
            self._project = project_of(key) if config.isolate_projects else DEFAULT_PROJECT
            # None lets the Api show every object: projects only separate keys when isolated.
            self._scope = self._project if config.isolate_projects else None
            call = self.server.wire.next_call()
            self.server.transient.check(config, lambda: self._fingerprint(body))
            reply = self._dispatch(_OPENAI, path, query, body, call)
            if reply is not None:
                return reply
        raise ApiError(404, f"Invalid URL ({self.command} {path})")

    def _dispatch(
        self, side: _Side, path: str, query: dict[str, str], body: bytes, call: int
    ) -> Reply | None:
        """Run the ``side``'s route matching this request, with the wire faults drawn for
        ``call`` (the same for every provider); None when no route matches."""
        config = self.server.api.config
        for method, pattern, action in side.routes:
            match = pattern.fullmatch(path)
            if not match or method != self.command:
                continue
            ids = {k: unquote(v) for k, v in match.groupdict().items()}
            target = side.target(self.server)
            stale = side.stale_reads.get(action)
            if stale is not None and self.server.wire.stale_read(config, call):
                raise stale(self, ids)
            if action is side.create and _duplicate_create(config, call):
                _, first = action(self, target, query, body, **ids)  # the proxy's first try
                self.server.duplicates.append(side.created_id(first))
            status, payload = action(self, target, query, body, **ids)
            if action is side.get and _stale_status(config, call):
                payload = side.lagging(payload)
            if method in ("POST", "DELETE") and not _starts_upload(action, query):
                lost = self.server.wire.lost_reply(config, call)
                if lost == "drop":
                    raise _DropConnection
                if lost is not None:
                    raise WireFaults.lost_reply_error(int(lost))
            return status, side.shift(payload, config.clock_offset_seconds)
        return None

    def _anthropic(self, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Route a Message Batches call; every error leaves in Anthropic's shape."""
        try:
            return self._anthropic_route(path, query, body)
        except (_DropConnection, AnthropicError):
            raise
        except ApiError as exc:  # transient faults, lost replies, bad JSON: same failure
            raise AnthropicError.from_api_error(exc) from None
        except Exception:
            traceback.print_exc(file=sys.stderr)
            raise AnthropicError(500, "Internal server error (emulated)") from None

    def _anthropic_route(self, path: str, query: dict[str, str], body: bytes) -> Reply:
        config = self.server.api.config
        # The docs put the key in x-api-key; recent SDKs send it as a bearer token.
        key = (self.headers.get("x-api-key") or "").strip()
        scheme, _, bearer = (self.headers.get("Authorization") or "").partition(" ")
        if not key and scheme.lower() == "bearer":
            key = bearer.strip()
        if not key:
            raise AnthropicError(401, "x-api-key header is required")
        if config.api_keys and key not in config.api_keys:
            raise AnthropicError(401, "invalid x-api-key")
        if not self.headers.get("anthropic-version"):
            raise AnthropicError(400, "anthropic-version: header is required")
        # As for OpenAI keys: isolated projects stand in for Anthropic's workspaces.
        self._scope = project_of(key) if config.isolate_projects else None
        call = self.server.wire.next_call()
        self.server.transient.check(config, lambda: self._fingerprint(body))
        reply = self._dispatch(_ANTHROPIC, path, query, body, call)
        if reply is None:
            raise AnthropicError(404, f"Not found: {self.command} {path}")
        self._reply_headers["request-id"] = "req_" + uuid.uuid4().hex[:24]
        return reply

    def _gemini(self, path: str, query: dict[str, str], body: bytes) -> Reply:
        """Route a Gemini call; every error leaves in Google's shape."""
        try:
            return self._gemini_route(path, query, body)
        except (_DropConnection, GoogleError):
            raise
        except ApiError as exc:  # transient faults, lost replies: same failure
            raise GoogleError.from_api_error(exc) from None
        except Exception:
            traceback.print_exc(file=sys.stderr)
            raise GoogleError(500, "Internal error encountered. (emulated)") from None

    def _gemini_route(self, path: str, query: dict[str, str], body: bytes) -> Reply:
        config = self.server.api.config
        # The upload URL is the credential of an upload: the SDK sends no key to it.
        if not (path.startswith("/upload/") and "upload_id" in query):
            key = (self.headers.get("x-goog-api-key") or query.get("key") or "").strip()
            if not key:
                raise GoogleError(
                    403,
                    "Method doesn't allow unregistered callers (callers without established "
                    "identity). Please use API Key or other form of API consumer identity to "
                    "call this API.",
                )
            if config.api_keys and key not in config.api_keys:
                raise GoogleError(
                    400,
                    "API key not valid. Please pass a valid API key.",
                    details=[
                        {
                            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": "API_KEY_INVALID",
                            "domain": "googleapis.com",
                            "metadata": {"service": "generativelanguage.googleapis.com"},
                        }
                    ],
                )
            # As for OpenAI keys: isolated projects stand in for Google Cloud projects.
            self._scope = project_of(key) if config.isolate_projects else None
        call = self.server.wire.next_call()
        self.server.transient.check(config, lambda: self._fingerprint(body))
        reply = self._dispatch(_GEMINI, path, query, body, call)
        if reply is None:
            raise GoogleError(404, f"Method not found: {self.command} {path}")
        return reply

    def _origin(self) -> str:
        """``http://host:port`` as the client addressed this server (for ``results_url``)."""
        host = self.headers.get("Host")
        if not host:
            address, port = self.server.server_address[:2]
            host = f"{address!s}:{port}"
        return f"http://{host}"

    def _admin(self, api: Api, path: str, body: bytes) -> Reply:
        if path == "/_emulator/health" and self.command == "GET":
            return 200, {"ok": True}
        if path == "/_emulator/ledger" and self.command == "GET":
            return 200, {"object": "list", "data": api.ledger()}
        if path == "/_emulator/config" and self.command == "GET":
            return 200, api.config.to_dict()
        if path == "/_emulator/config" and self.command == "POST":
            changes = self._json(body)
            if not isinstance(changes, dict):
                raise invalid("Send a JSON object of settings to change.")
            try:
                return 200, api.configure(**changes).to_dict()
            except (ValueError, TypeError) as exc:
                raise invalid(str(exc)) from None
        raise ApiError(404, f"Invalid URL ({self.command} {path})")

    # -- endpoints -----------------------------------------------------------------------------

    def _create_file(self, api: Api, query: dict[str, str], body: bytes) -> Reply:
        form = parse_form(self.headers.get("Content-Type", ""), body)
        upload, purpose = form.get("file"), form.get("purpose")
        if upload is None:
            raise invalid("Missing required parameter: 'file'.", param="file")
        if purpose is None:
            raise invalid("Missing required parameter: 'purpose'.", param="purpose")
        return 200, api.create_file(
            upload.filename or "upload", purpose.text(), upload.data, project=self._scope
        )

    def _list_files(self, api: Api, query: dict[str, str], body: bytes) -> Reply:
        return 200, api.list_files(
            after=query.get("after"),
            limit=_int(query, "limit"),
            order=query.get("order", "desc"),
            purpose=query.get("purpose"),
            project=self._scope,
        )

    def _get_file(self, api: Api, query: dict[str, str], body: bytes, id: str) -> Reply:
        return 200, api.get_file(id, project=self._scope)

    def _delete_file(self, api: Api, query: dict[str, str], body: bytes, id: str) -> Reply:
        return 200, api.delete_file(id, project=self._scope)

    def _file_content(self, api: Api, query: dict[str, str], body: bytes, id: str) -> Reply:
        return 200, api.file_content(id, project=self._scope)

    def _create_batch(self, api: Api, query: dict[str, str], body: bytes) -> Reply:
        return 200, api.create_batch(self._json(body), project=self._scope)

    def _list_batches(self, api: Api, query: dict[str, str], body: bytes) -> Reply:
        return 200, api.list_batches(
            after=query.get("after"), limit=_int(query, "limit"), project=self._scope
        )

    def _get_batch(self, api: Api, query: dict[str, str], body: bytes, id: str) -> Reply:
        return 200, api.get_batch(id, project=self._scope)

    def _cancel_batch(self, api: Api, query: dict[str, str], body: bytes, id: str) -> Reply:
        return 200, api.cancel_batch(id, project=self._scope)

    # -- Anthropic Message Batches -------------------------------------------------------------

    def _create_message_batch(
        self, batches: MessageBatches, query: dict[str, str], body: bytes
    ) -> Reply:
        return 200, batches.create(body, origin=self._origin(), project=self._scope)

    def _list_message_batches(
        self, batches: MessageBatches, query: dict[str, str], body: bytes
    ) -> Reply:
        return 200, batches.list(
            origin=self._origin(),
            after_id=query.get("after_id"),
            before_id=query.get("before_id"),
            limit=_int(query, "limit"),
            project=self._scope,
        )

    def _get_message_batch(
        self, batches: MessageBatches, query: dict[str, str], body: bytes, id: str
    ) -> Reply:
        return 200, batches.retrieve(id, origin=self._origin(), project=self._scope)

    def _cancel_message_batch(
        self, batches: MessageBatches, query: dict[str, str], body: bytes, id: str
    ) -> Reply:
        return 200, batches.cancel(id, origin=self._origin(), project=self._scope)

    def _delete_message_batch(
        self, batches: MessageBatches, query: dict[str, str], body: bytes, id: str
    ) -> Reply:
        return 200, batches.delete(id, project=self._scope)

    def _message_batch_results(
        self, batches: MessageBatches, query: dict[str, str], body: bytes, id: str
    ) -> Reply:
        return 200, batches.results(id, project=self._scope)

    # -- Gemini Batch API ----------------------------------------------------------------------

    def _gemini_upload(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str
    ) -> Reply:
        """``POST /upload/{v}/files``: start a resumable upload, or take a chunk of one."""
        upload_id = query.get("upload_id")
        if upload_id is None:
            if self.headers.get("X-Goog-Upload-Protocol", "").lower() != "resumable" or (
                self.headers.get("X-Goog-Upload-Command", "").lower() != "start"
            ):
                raise GoogleError(
                    400, "The emulator takes resumable uploads only (X-Goog-Upload-Command: start)."
                )
            new_id = gemini.start_upload(
                self._json(body) if body.strip() else {},
                size=self.headers.get("X-Goog-Upload-Header-Content-Length"),
                mime_type=self.headers.get("X-Goog-Upload-Header-Content-Type"),
                project=self._scope,
            )
            url = f"{self._origin()}/upload/{v}/files?upload_id={new_id}&upload_protocol=resumable"
            self._reply_headers.update(
                {
                    "x-goog-upload-url": url,
                    "x-goog-upload-control-url": url,
                    "x-goog-upload-status": "active",
                    "x-goog-upload-chunk-granularity": str(8 * 1024 * 1024),
                }
            )
            return 200, b""
        try:
            status, payload = gemini.upload_chunk(
                upload_id,
                command=self.headers.get("X-Goog-Upload-Command", "upload"),
                offset=self.headers.get("X-Goog-Upload-Offset"),
                data=body,
                origin=self._origin(),
                version=v,
            )
        except GoogleError as exc:
            exc.headers.setdefault("x-goog-upload-status", "final")  # the SDK stops at once
            raise
        self._reply_headers["x-goog-upload-status"] = status
        return 200, payload if payload is not None else b""

    def _gemini_list_files(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str
    ) -> Reply:
        return 200, gemini.list_files(
            origin=self._origin(),
            version=v,
            page_size=_google_int(query, "pageSize"),
            page_token=query.get("pageToken"),
            project=self._scope,
        )

    def _gemini_get_file(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.get_file(id, origin=self._origin(), version=v, project=self._scope)

    def _gemini_delete_file(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.delete_file(id, project=self._scope)

    def _gemini_download(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.download_file(id, project=self._scope)

    def _gemini_create_batch(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, model: str
    ) -> Reply:
        try:
            params = json.loads(body) if body.strip() else {}
        except ValueError:
            raise GoogleError(400, "Invalid JSON payload received.") from None
        return 200, gemini.create_batch(model, params, project=self._scope)

    def _gemini_list_batches(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str
    ) -> Reply:
        return 200, gemini.list_batches(
            page_size=_google_int(query, "pageSize"),
            page_token=query.get("pageToken"),
            project=self._scope,
        )

    def _gemini_get_batch(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.get_batch(id, project=self._scope)

    def _gemini_cancel_batch(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.cancel_batch(id, project=self._scope)

    def _gemini_delete_batch(
        self, gemini: GeminiBatches, query: dict[str, str], body: bytes, v: str, id: str
    ) -> Reply:
        return 200, gemini.delete_batch(id, project=self._scope)


def _is_gemini(path: str, query: dict[str, str], headers: Any) -> bool:
    """Whether a request is for the Gemini API: by its path (``/v1beta/``, ``/upload/``,
    ``/download/``, a ``:method`` suffix) or, under ``/v1/`` (the SDK's default version, shared
    with OpenAI's paths), by Google's key header or ``key`` parameter."""
    if path.startswith(("/v1beta/", "/upload/", "/download/")):
        return True
    if not path.startswith("/v1/") or path.startswith("/v1/messages/"):
        return False
    return (
        ":" in path
        or bool(headers.get("x-goog-api-key"))
        or bool(headers.get("x-goog-api-client"))
        or "key" in query
    )


def _google_int(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise GoogleError(400, f"Invalid value for {name}: {query[name]!r}.") from None


def _duplicate_create(config: Any, call: int) -> bool:
    """Whether this create takes effect twice (a proxy retried it; the first answer is lost)."""
    return hits(config.duplicate_create_rate, config.seed, "duplicate_create", call)


def _stale_status(config: Any, call: int) -> bool:
    """Whether this read of a batch answers as a replica that has not seen it end."""
    return hits(config.stale_status_rate, config.seed, "stale_status", call)


_ENDED_AT = ("finalizing_at", "completed_at", "failed_at", "expired_at", "cancelled_at")
_OPENAI_ENDED = frozenset({"completed", "failed", "expired", "cancelled"})


def _lagging_batch(batch: Any) -> Any:
    """An ended OpenAI batch as a lagging replica shows it: still ``in_progress``."""
    if not isinstance(batch, dict) or batch.get("status") not in _OPENAI_ENDED:
        return batch
    total = (batch.get("request_counts") or {}).get("total", 0)
    return {
        **batch,
        "status": "in_progress",
        "output_file_id": None,
        "error_file_id": None,
        "errors": None,
        "request_counts": {"total": total, "completed": 0, "failed": 0},
        **dict.fromkeys(_ENDED_AT),
    }


def _lagging_message_batch(batch: Any) -> Any:
    """An ended Message Batch as a lagging replica shows it: still ``in_progress``."""
    if not isinstance(batch, dict) or batch.get("processing_status") != "ended":
        return batch
    counts = batch.get("request_counts") or {}
    total = sum(int(v or 0) for v in counts.values())
    return {
        **batch,
        "processing_status": "in_progress",
        "ended_at": None,
        "results_url": None,
        "request_counts": {
            "processing": total,
            "succeeded": 0,
            "errored": 0,
            "canceled": 0,
            "expired": 0,
        },
    }


def _lagging_operation(operation: Any) -> Any:
    """An ended Gemini batch as a lagging replica shows it: still running, no output."""
    if not isinstance(operation, dict) or not operation.get("done"):
        return operation
    metadata = {
        k: v
        for k, v in (operation.get("metadata") or {}).items()
        if k not in ("output", "endTime", "batchStats", "state")
    }
    total = (operation.get("metadata") or {}).get("batchStats", {}).get("requestCount", "0")
    metadata["batchStats"] = {"requestCount": total, "pendingRequestCount": total}
    metadata["state"] = "BATCH_STATE_RUNNING"
    return {"name": operation.get("name"), "metadata": metadata}


_GEMINI_TIME_FIELDS = frozenset({"createTime", "updateTime", "endTime", "expirationTime"})


def _shift_gemini_times(payload: Any, offset: float) -> Any:
    """A Gemini ``payload`` with every reported time (RFC 3339, at any depth) moved."""
    if not offset:
        return payload
    if isinstance(payload, list):
        return [_shift_gemini_times(item, offset) for item in payload]
    if not isinstance(payload, dict):
        return payload
    out = {}
    for key, value in payload.items():
        if key in _GEMINI_TIME_FIELDS and isinstance(value, str):
            value = rfc3339(_parse_rfc3339(value) + offset)
        else:
            value = _shift_gemini_times(value, offset)
        out[key] = value
    return out


# Times the API reports: epoch seconds (OpenAI) or RFC 3339 strings (Anthropic).
_TIME_FIELDS = frozenset(
    {
        "created_at",
        "expires_at",
        "in_progress_at",
        "finalizing_at",
        "completed_at",
        "failed_at",
        "expired_at",
        "cancelling_at",
        "cancelled_at",
        "ended_at",
        "archived_at",
        "cancel_initiated_at",
    }
)


def _shift_times(payload: Any, offset: float) -> Any:
    """``payload`` with every reported time moved by ``offset`` seconds (a list's items too)."""
    if not offset or not isinstance(payload, dict):
        return payload
    out = {}
    for key, value in payload.items():
        if key == "data" and isinstance(value, list):
            value = [_shift_times(item, offset) for item in value]
        elif key in _TIME_FIELDS and isinstance(value, int | float):
            value = int(value + offset)
        elif key in _TIME_FIELDS and isinstance(value, str):
            value = rfc3339(_parse_rfc3339(value) + offset)
        out[key] = value
    return out


def _parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _int(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise invalid(f"Invalid '{name}': expected an integer.", param=name) from None


_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
    ("GET", re.compile(r"/v1/files"), _Handler._list_files),
    ("POST", re.compile(r"/v1/files"), _Handler._create_file),
    ("GET", re.compile(rf"/v1/files/{_ID}"), _Handler._get_file),
    ("DELETE", re.compile(rf"/v1/files/{_ID}"), _Handler._delete_file),
    ("GET", re.compile(rf"/v1/files/{_ID}/content"), _Handler._file_content),
    ("GET", re.compile(r"/v1/batches"), _Handler._list_batches),
    ("POST", re.compile(r"/v1/batches"), _Handler._create_batch),
    ("GET", re.compile(rf"/v1/batches/{_ID}"), _Handler._get_batch),
    ("POST", re.compile(rf"/v1/batches/{_ID}/cancel"), _Handler._cancel_batch),
]


_ANTHROPIC_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
    ("POST", re.compile(r"/v1/messages/batches"), _Handler._create_message_batch),
    ("GET", re.compile(r"/v1/messages/batches"), _Handler._list_message_batches),
    ("GET", re.compile(rf"/v1/messages/batches/{_ID}"), _Handler._get_message_batch),
    ("POST", re.compile(rf"/v1/messages/batches/{_ID}/cancel"), _Handler._cancel_message_batch),
    ("DELETE", re.compile(rf"/v1/messages/batches/{_ID}"), _Handler._delete_message_batch),
    ("GET", re.compile(rf"/v1/messages/batches/{_ID}/results"), _Handler._message_batch_results),
]

_V = r"(?P<v>v1beta|v1)"
_GEMINI_ROUTES: list[tuple[str, re.Pattern[str], Callable[..., Reply]]] = [
    ("POST", re.compile(rf"/upload/{_V}/files"), _Handler._gemini_upload),
    ("GET", re.compile(rf"/{_V}/files"), _Handler._gemini_list_files),
    ("GET", re.compile(rf"/{_V}/files/{_ID}"), _Handler._gemini_get_file),
    ("DELETE", re.compile(rf"/{_V}/files/{_ID}"), _Handler._gemini_delete_file),
    ("GET", re.compile(rf"/{_V}/files/{_ID}:download"), _Handler._gemini_download),
    ("GET", re.compile(rf"/download/{_V}/files/{_ID}:download"), _Handler._gemini_download),
    (
        "POST",
        re.compile(rf"/{_V}/models/(?P<model>[A-Za-z0-9_\-.]+):batchGenerateContent"),
        _Handler._gemini_create_batch,
    ),
    ("GET", re.compile(rf"/{_V}/batches"), _Handler._gemini_list_batches),
    ("GET", re.compile(rf"/{_V}/batches/{_ID}"), _Handler._gemini_get_batch),
    ("POST", re.compile(rf"/{_V}/batches/{_ID}:cancel"), _Handler._gemini_cancel_batch),
    ("DELETE", re.compile(rf"/{_V}/batches/{_ID}"), _Handler._gemini_delete_batch),
]

StaleRead = Callable[[_Handler, dict[str, str]], ApiError]


def _starts_upload(action: Callable[..., Reply], query: dict[str, str]) -> bool:
    """Whether a call starts a Gemini resumable upload: it makes a session, not a file, so a
    lost answer to it is no different from a failure before anything was done."""
    return action is _Handler._gemini_upload and "upload_id" not in query


@dataclass(frozen=True)
class _Side:
    """One provider's routes and what the shared wire faults need to know of them: which
    reads may go stale (and the error they then answer), which route creates a batch (and the
    id in its answer), which reads a batch (and how a lagging replica shows it), and how
    reported times are shifted by ``clock_offset_seconds``."""

    routes: list[tuple[str, re.Pattern[str], Callable[..., Reply]]]
    target: Callable[[EmulatorHTTPServer], Any]
    stale_reads: dict[Callable[..., Reply], StaleRead]
    create: Callable[..., Reply]
    created_id: Callable[[Any], str]
    get: Callable[..., Reply]
    lagging: Callable[[Any], Any]
    shift: Callable[[Any, float], Any]


def _gemini_file_gone(handler: _Handler, ids: dict[str, str]) -> ApiError:
    return file_not_found(ids["id"], handler.server.api.config.gemini_missing_file_status)


_OPENAI = _Side(
    routes=_ROUTES,
    target=lambda server: server.api,
    stale_reads={
        _Handler._get_file: lambda h, ids: not_found("File", ids["id"]),
        _Handler._file_content: lambda h, ids: not_found("File", ids["id"]),
        _Handler._get_batch: lambda h, ids: not_found("Batch", ids["id"]),
    },
    create=_Handler._create_batch,
    created_id=lambda batch: batch["id"],
    get=_Handler._get_batch,
    lagging=_lagging_batch,
    shift=_shift_times,
)
_ANTHROPIC = _Side(
    routes=_ANTHROPIC_ROUTES,
    target=lambda server: server.message_batches,
    stale_reads={
        action: lambda h, ids: AnthropicError(404, f"Message Batch '{ids['id']}' not found.")
        for action in (_Handler._get_message_batch, _Handler._message_batch_results)
    },
    create=_Handler._create_message_batch,
    created_id=lambda batch: batch["id"],
    get=_Handler._get_message_batch,
    lagging=_lagging_message_batch,
    shift=_shift_times,
)
_GEMINI = _Side(
    routes=_GEMINI_ROUTES,
    target=lambda server: server.gemini,
    stale_reads={
        _Handler._gemini_get_file: _gemini_file_gone,
        _Handler._gemini_download: _gemini_file_gone,
        _Handler._gemini_get_batch: lambda h, ids: batch_not_found(ids["id"]),
    },
    create=_Handler._gemini_create_batch,
    created_id=lambda operation: operation["name"],
    get=_Handler._gemini_get_batch,
    lagging=_lagging_operation,
    shift=_shift_gemini_times,
)
