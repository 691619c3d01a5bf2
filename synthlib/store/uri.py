"""Store locations as shown to people: a URI with its password masked, for every display,
log and error."""

from __future__ import annotations

import re

_QUERY_SECRET = re.compile(
    r"([?&;](?:password|tlsCertificateKeyFilePassword|authMechanismProperties)=)[^&;]*", re.I
)


def mask_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for every display, log and error).

    The user information runs from the scheme to the last ``@`` before the host, so a password
    holding an unescaped ``@`` or ``/`` is masked whole; secrets in the query string are too.
    """
    text = uri.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        return _QUERY_SECRET.sub(r"\1***", text)
    head, _, query = rest.partition("?")
    if "@" in head:
        userinfo, _, host = head.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        head = f"{user}:***@{host}" if colon else f"{userinfo}@{host}"
    masked = f"{scheme}://{head}" + (f"?{query}" if query else "")
    return _QUERY_SECRET.sub(r"\1***", masked)


def has_secret(location: object) -> bool:
    """Whether ``location`` (a store setting) holds a password or another secret."""
    return isinstance(location, str) and mask_uri(location) != location.strip()
