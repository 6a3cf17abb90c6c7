"""The operator's library: what every ``meterpipe`` command does, as functions returning data.

The CLI (``meterpipe.cli``) parses options, calls these and prints what they return; the demo
calls them too. Everything reaches AWS (or localcloud) through boto3 clients of a
:class:`~meterpipe.ops.pipeline.Pipeline`:

- ``pipeline``: :func:`connect` a target and find the deployed names and ARNs;
- ``dates``: dates, months, ranges and times as operators type them;
- ``ingest``: readings and customers into the lake (both layouts), skipping unchanged files;
- ``runs``: a processing date's daily_rollup executions, starting a run, waiting for runs;
- ``backfill``: planning (``--dry-run``, ``--only-missing``), starting and watching backfills;
- ``redrive``: RedriveExecution where AWS allows it, else a fresh run, per failed day;
- ``history``: one line per processing date, and one execution's timeline;
- ``calendar``: a month of days by the status of their latest run;
- ``rollups``: the rollup table read by key condition;
- ``schedule``: the daily schedule (show, enable, disable; fire on localcloud).
"""

from __future__ import annotations

from meterpipe.ops.pipeline import Deployment, Pipeline, connect

__all__ = ["Deployment", "Pipeline", "connect"]
