"""``fleet plan``: what a pull request does to the whole fleet, before it is merged.

The phases are in ``fleet.preview.run``; ``checkout`` makes the two revisions readable,
``compare`` diffs one Application's rendering between them, ``grouping`` shows each distinct
change once, ``model`` is the result (``-o json``, schema ``fleet.plan/v1``), and ``markdown`` and
``terminal`` are its formats for a pull-request comment and for people.

The package is named for what it does (a preview) because "plan" already names the worker's wave
plan (``fleet.waves``, once ``fleet.plan``) and the driver's ``RunPlan``; the command is ``fleet plan``.
"""
