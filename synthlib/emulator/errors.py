"""API errors in OpenAI's shape: an HTTP status plus ``{"error": {message, type, param, code}}``."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error the HTTP layer returns as-is: ``status`` and the OpenAI-style ``body()``."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }


def not_found(kind: str, object_id: str, param: str | None = None) -> ApiError:
    """404 for an id the emulator does not hold, worded like OpenAI's."""
    return ApiError(404, f"No such {kind}: '{object_id}'", param=param)


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    """400 for a request whose parameters are wrong."""
    return ApiError(400, message, param=param, code=code)
