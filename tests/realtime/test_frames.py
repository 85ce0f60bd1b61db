"""Socket frames are read by the one bounded loader: refused with an error code, never a crash."""

from __future__ import annotations

import pytest

from realtime.frames import FrameError, frame_parse
from tickets.jsonload import json_load


def test_a_frame_is_one_json_object_with_a_type() -> None:
    assert frame_parse('{"type": "ping", "ref": 1}', max_chars=100, load=json_load) == {
        "type": "ping",
        "ref": 1,
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"type": "ping", "x": ' + "[" * 1500 + "]" * 1500 + "}", "bad_frame"),
        ('{"type": "ping", "x": ' + "[" * 40 + "]" * 40 + "}", "bad_frame"),
        ('{"type": "ping", "x": NaN}', "bad_frame"),
        ("x" * 5000, "frame_too_large"),
    ],
)
def test_deep_malformed_or_large_frames_are_refused_with_a_code(text: str, code: str) -> None:
    with pytest.raises(FrameError) as refused:
        frame_parse(text, max_chars=4096, load=json_load)

    assert refused.value.code == code
