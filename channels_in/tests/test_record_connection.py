"""Recording an event skips the per-request health check and survives a connection the server dropped."""

from __future__ import annotations

import psycopg2
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_in.models import ChannelAccount, InboundEvent
from channels_in.tests.test_inbound import record as recorded

pytestmark = pytest.mark.django_db(transaction=True)


def record(account: ChannelAccount, message_id: str) -> int:
    return recorded(account, event_id=message_id).pk


def a_new_request() -> None:
    # What Django does when a request starts: the next statement would be preceded by a health check.
    connection.close_if_unusable_or_obsolete()


def test_a_kept_connection_records_without_a_health_check_first(
    api_channel: ChannelAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    record(api_channel, "warm")
    checks: list[bool] = []
    is_usable = connection.is_usable
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(True) or is_usable())
    a_new_request()
    with CaptureQueriesContext(connection) as queries:
        record(api_channel, "m-1")
    assert checks == []
    # The INSERT is the first statement; what follows is the (eager, in tests) filing task's.
    assert queries.captured_queries[0]["sql"].startswith("INSERT")

    # Any other request's first statement is still checked.
    a_new_request()
    InboundEvent.objects.count()
    assert checks == [True]


def test_a_connection_the_server_dropped_is_replaced_and_the_event_recorded_once(
    api_channel: ChannelAccount,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("terminates a PostgreSQL backend")
    record(api_channel, "warm")
    backend = connection.connection.get_backend_pid()
    a_new_request()
    with psycopg2.connect(**connection.get_connection_params()) as admin, admin.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
    admin.close()

    event_id = record(api_channel, "m-1")

    assert connection.connection.get_backend_pid() != backend
    stored = InboundEvent.objects.filter(provider_event_id="m-1").values_list("pk", flat=True)
    assert list(stored) == [event_id]
