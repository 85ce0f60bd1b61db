"""The one way JSON from outside becomes Python values: bounded in size and depth, strict in what it takes.

Every body, frame, cursor and callback answer that a client or a provider sends goes through
``json_load``. The parser is pydantic-core's (Rust, no Python recursion, so a deeply nested document
cannot exhaust the interpreter's stack); on top of it the size is checked before parsing and the depth
after, and values that JSON cannot carry back out (NaN, infinities, lone surrogates) are refused, so a
document that is accepted can also be stored and re-sent.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from pydantic_core import from_json


class JsonRejected(ValueError):
    """Not acceptable JSON: ``status`` is 413 for too large, 400 for anything else; ``reason`` says why."""

    def __init__(self, reason: str, *, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def json_load(raw: bytes | str, *, max_bytes: int | None = None, max_depth: int | None = None) -> Any:
    """``raw`` parsed, or ``JsonRejected`` saying why not.

    ``max_bytes`` defaults to ``INBOUND_MAX_BYTES`` and ``max_depth`` to ``JSON_MAX_DEPTH``; a scalar
    is depth 0, ``[]`` and ``{}`` depth 1.
    """
    limit = settings.INBOUND_MAX_BYTES if max_bytes is None else max_bytes
    depth_limit = settings.JSON_MAX_DEPTH if max_depth is None else max_depth
    size = len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else len(raw)
    if size > limit:
        raise JsonRejected(f"JSON of {size} bytes; the limit is {limit}", status=413)
    try:
        value = from_json(raw, allow_inf_nan=False)
    except ValueError as error:
        if "recursion limit" in str(error):
            raise JsonRejected(f"JSON nested deeper than {depth_limit} levels") from None
        raise JsonRejected(f"malformed JSON ({error})") from None
    _check(value, depth_limit)
    return value


def _check(value: Any, depth_limit: int) -> None:
    """Depth within the limit and only finite numbers, walked without recursion."""
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list):
            children = item
        else:
            if isinstance(item, float) and not math.isfinite(item):
                raise JsonRejected("malformed JSON (a number out of range)")
            continue
        if depth + 1 > depth_limit:
            raise JsonRejected(f"JSON nested deeper than {depth_limit} levels")
        pending.extend((child, depth + 1) for child in children)
