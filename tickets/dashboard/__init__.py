"""The supervisor's live dashboard: its figures, agents panel and intraday chart (docs/supervisor.md).

Reads only: ``snapshot`` assembles what ``figures``, ``agents`` and ``intraday`` count, for the supervised
teams of ``tickets.access.supervised_team_ids``; ``links`` turns a figure into the inbox list behind it.
"""

from __future__ import annotations

from tickets.dashboard.snapshot import Snapshot, dashboard_snapshot, snapshot_data

__all__ = ["Snapshot", "dashboard_snapshot", "snapshot_data"]
