"""Supervisors' reports: filters (``filters``), the roll-ups behind them (``rollup``), the figures
(``figures``) and their CSV rows (``export``). Every figure reads the roll-ups of
``tickets/models/reporting.py``, never the messages; docs/reports.md says what each one means.
"""
