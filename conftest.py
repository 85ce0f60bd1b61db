from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.personas",
    "tests.fixtures.http_peer",
    "tests.fixtures.mailservers",
    "tests.fixtures.worker",
    "tests.fixtures.browser",
    "tests.fixtures.files",
    "tests.fixtures.channels",
]
