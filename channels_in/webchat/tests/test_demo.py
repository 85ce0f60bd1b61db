"""The demo's web-chat channel: seeded with past chats, embedded by the demo page, shown in the admin."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from channels_in.demo import demo_links, demo_seed
from channels_in.models import ChannelAccount
from channels_in.webchat.demo import DEMO_CHANNEL_KEY, LINKS
from channels_in.webchat.selectors import visitor_catch_up
from tickets.inbound import IdentityKind
from tickets.models import Message


@pytest.mark.django_db
def test_the_demo_has_a_chat_channel_with_two_answered_chats_and_seeds_once() -> None:
    demo_seed()
    demo_seed()

    account = ChannelAccount.objects.get(key=DEMO_CHANNEL_KEY)
    assert account.kind == ChannelAccount.Kind.WEBCHAT
    assert "'self'" in account.config["allowed_origins"]
    # The demo's two live chats; the desk's history (``v-hist…`` visitors) is the reports' business.
    live = Message.objects.filter(channel_account=account, identity__value__startswith="v-demo")
    visitors = set(live.filter(direction="inbound").values_list("identity__value", flat=True))
    assert len(visitors) == 2
    for visitor_id in visitors:
        messages, _ = visitor_catch_up(account=account, visitor_id=visitor_id, marks={})
        assert {message["direction"] for message in messages} == {"in", "out"}
    assert live.count() == 6
    assert all(value.startswith("v-") for value in visitors)
    assert not Message.objects.filter(channel_account=account, identity__kind=IdentityKind.EMAIL).exists()
    assert ("Web-chat demo", "/widget/demo/") in demo_links()
    assert LINKS == [("Web-chat demo", "/widget/demo/")]


@pytest.mark.django_db
def test_the_admin_lists_the_tag_and_links_the_demo_page(client: Client) -> None:
    demo_seed()
    client.force_login(User.objects.get(username="sara"))

    page = client.get("/admin/channels_in/channelaccount/").content.decode()

    assert "data-channel=&quot;demo-chat&quot;" in page
    assert 'href="/widget/demo/"' in page
