"""Audit s5 (low, docs): 5ba35f6 and 72a0bcc left README.md as it was.

- README "Performance" lists the bench's scenarios in a table ("BENCH_SCENARIOS | scenario
  names (below)"), but not floor_webhook and floor_checkout, which `python -m bench` runs.
- README's memory paragraph still says a worker holds "alembic (the readiness probe compares
  the migration heads)" and "Pillow (uploads)" at start, which 5ba35f6 removed (and
  tests/test_memory.py now holds false).
"""

import re

from bench.scenarios import Sizes, all_scenarios
from checkout import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text()


def test_the_readme_scenario_table_names_every_scenario():
    first_cells = re.findall(r"^\| ([^|]*) \|", README, flags=re.MULTILINE)
    listed = {name for cell in first_cells for name in re.findall(r"`([a-z_]+)`", cell)}
    missing = sorted(s.name for s in all_scenarios(Sizes.quick()) if s.name not in listed)
    assert missing == []


def test_the_readme_no_longer_says_workers_hold_alembic_and_pillow():
    assert "alembic (the readiness probe compares the migration heads)" not in README
    assert "Pillow (uploads) and the mounted" not in README
