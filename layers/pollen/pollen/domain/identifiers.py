"""One grammar for the ids callers choose (customers, orders, refunds, lines).

An id must be addressable by every route that names it: it lands in a URL path segment and in a
DynamoDB key. So: 1 to 128 characters of ``A-Z a-z 0-9 . _ - : @ +``, starting with a letter or a
digit. That rules out what a route can never address (``/``, ``?``, ``#``, ``%``, whitespace,
non-ASCII such as ``c£1``, and the path segments ``.`` and ``..``) and the key separator ``#``.
Shopify's numeric ids, UUIDs, ULIDs and ``cust_42``-style ids all fit.
"""

from __future__ import annotations

from typing import Annotated, Final

from pydantic import StringConstraints

ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9._:@+-]{0,127}$"

Identifier = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN)]
