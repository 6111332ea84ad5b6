"""Attack (issue 11): the bench serves the shop and the baseline from `.venv-serve`, made by
`make install VENV=.venv-serve` at the start of each run (bench/servers.py `stack`).

On a fresh clone that step creates a venv and pip-installs requirements.txt: the first thing
that fails there without a network or a compiler. It runs with capture_output=True and
check=True, so all the bench says is that `make` exited with 2, and pip's (or venv's) reason
is thrown away; `run_flask` beside it puts the command's stderr into its error.
"""

import subprocess

import pytest

from bench import servers


def test_a_failed_serve_venv_install_says_why(tmp_path, monkeypatch):
    """FINDING (low): the reason the serve venv could not be made is lost."""
    (tmp_path / "Makefile").write_text(
        "install:\n"
        "\t@echo 'ERROR: Could not find a version that satisfies Flask==3.1.3' >&2\n"
        "\t@exit 1\n")
    monkeypatch.setattr(servers, "ROOT", tmp_path)
    with pytest.raises(Exception) as raised, servers.stack("sqlite", tmp_path / "run"):
        pass
    assert isinstance(raised.value, subprocess.CalledProcessError | RuntimeError)
    assert "Could not find a version" in str(raised.value)
