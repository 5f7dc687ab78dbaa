"""``fleet serve``: Fleet as a long-running service (issue 11).

One process runs scheduled runs (an interval with jitter, or a cron expression in a time zone),
Git webhooks that trigger a run of the Applications a push touched, an HTTP API, Prometheus
metrics and the web UI (``fleet.web``, when installed), over the shared status store and its run
lock. See ``fleet.serve.server`` for the process, ``fleet.serve.context`` for what the UI gets.
"""
