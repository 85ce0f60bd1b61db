"""The one JSON loader: sizes, depths and values it refuses, with a reason, never a crash."""

from __future__ import annotations

import pytest

from tickets.jsonload import JsonRejected, json_load


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def test_an_ordinary_document_is_read() -> None:
    assert json_load(b'{"a": [1, 2.5, "x", null, true, {"b": {}}]}') == {
        "a": [1, 2.5, "x", None, True, {"b": {}}]
    }


def test_depth_up_to_the_limit_is_read_and_beyond_it_refused(settings) -> None:  # type: ignore[no-untyped-def]
    settings.JSON_MAX_DEPTH = 5

    assert json_load(nested(5)) == [[[[[]]]]]
    with pytest.raises(JsonRejected, match="deeper than 5 levels") as refused:
        json_load(nested(6))
    assert refused.value.status == 400


@pytest.mark.parametrize("levels", [1_000, 100_000])
def test_a_deeply_nested_document_is_refused_without_exhausting_the_stack(levels: int) -> None:
    for document in (nested(levels), '{"a":' * levels + "1" + "}" * levels):
        with pytest.raises(JsonRejected, match="deeper than"):
            json_load(document)


def test_a_document_over_the_size_limit_is_refused_as_too_large() -> None:
    with pytest.raises(JsonRejected, match="the limit is 10") as refused:
        json_load(b'"' + b"x" * 20 + b'"', max_bytes=10)

    assert refused.value.status == 413


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b'{"a": NaN}', b"[Infinity]", b"[1e999]", b'"\\ud800"', b"\xff\xfe", b"[1] [2]"],
)
def test_what_json_cannot_carry_is_malformed(raw: bytes) -> None:
    with pytest.raises(JsonRejected, match="malformed JSON") as refused:
        json_load(raw)

    assert refused.value.status == 400
