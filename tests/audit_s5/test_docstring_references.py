"""Audit s5 (low): code_heads's docstring (checkout/services/operations.py, 5ba35f6) says
"tests/test_worker_imports.py holds the two to the same answer"; no such file exists: the test
that holds code_heads to Alembic's heads is tests/test_operations.py
(test_the_code_heads_are_alembics_*)."""

import re

from checkout import PROJECT_ROOT


def test_the_test_files_named_in_the_changed_modules_exist():
    for module in ("checkout/services/operations.py", "checkout/deferred_migrate.py"):
        source = (PROJECT_ROOT / module).read_text()
        for named in re.findall(r"tests/[\w/]+\.py", source):
            assert (PROJECT_ROOT / named).is_file(), f"{module} names {named}"
