"""Realtime machinery shared by every websocket and every publisher of live events.

Neutral ground: the agent socket (``tickets.consumers``) and the widget socket
(``channels_in.webchat.consumers``) both stand on it, so it imports neither of them, nor anything of
``tickets`` or ``channels_in`` (``tests/realtime/test_imports.py`` checks). What an event means, who may
hear it and which groups exist is the domain's business; here are the wire and its upkeep:

- ``frames``: how a socket reads, limits and answers its client's frames;
- ``publisher``: the channel-layer sender, callable from sync code in any thread of any process;
- ``leases``: expiring sets of members (presence, collision), in Redis or in process memory;
- ``singleton``: one object per process that survives a fork by being made again.
"""
