"""`make bench`: the shop measured from outside beside a bare Flask baseline, in one run.

`python -m bench` (README "Performance"): servers (`servers`), the baseline app (`baseline`),
the delaying proxy in front of the payment sandbox (`proxy`), load generators (`load`: wrk for
plain GETs, an aiohttp client for flows with cookies and CSRF), the scenarios (`scenarios`) and
the report (`report`: Markdown, JSON and an SVG chart under bench/results/).
"""
