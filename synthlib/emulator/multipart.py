"""Parsing ``multipart/form-data`` uploads (the ``cgi`` module is gone from the standard library).

Only what ``POST /v1/files`` needs: named fields, each with an optional filename and its bytes.
The part headers are read with the ``email`` package, which handles quoting and RFC 2231
encoded filenames.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from .errors import invalid


@dataclass(frozen=True)
class FormPart:
    """One field of a form: its ``name``, the ``filename`` if it is a file, and its bytes."""

    name: str
    filename: str | None
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def boundary_of(content_type: str) -> str:
    """The boundary parameter of a multipart ``Content-Type`` (400 if there is none)."""
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str):
        raise invalid("Expected a multipart/form-data body with a boundary.")
    return boundary


def parse_form(content_type: str, body: bytes) -> dict[str, FormPart]:
    """The fields of a ``multipart/form-data`` body, by name (a later duplicate wins)."""
    delimiter = b"--" + boundary_of(content_type).encode("latin-1")
    fields: dict[str, FormPart] = {}
    start = body.find(delimiter)
    if start < 0:
        raise invalid("Malformed multipart body: no boundary found.")
    start += len(delimiter)
    headers_parser = BytesHeaderParser()
    while not body.startswith(b"--", start):  # "--" after a delimiter closes the body
        end = body.find(b"\r\n" + delimiter, start)
        if end < 0:
            raise invalid("Malformed multipart body: a part is not terminated.")
        part = body[start:end]
        if part.startswith(b"\r\n"):
            part = part[2:]
        split = part.find(b"\r\n\r\n")
        if split < 0:
            head, data = part, b""
        else:
            head, data = part[:split], part[split + 4 :]
        headers = headers_parser.parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, str):
            fields[name] = FormPart(name, headers.get_filename(), data)
        start = end + 2 + len(delimiter)
    return fields
