"""Audit (issue 11): the bench now serves the shop from `.venv-serve`, which `make install
VENV=.venv-serve` makes (pip, from the package index) at the start of every half of the run and
of the bench smoke test in `make test` (bench/servers.py `stack`). When that install fails
(no network, a pin that no longer resolves) the run must say why, as `run_flask` and the
PostgreSQL start already do: `check=True` with `capture_output=True` raises a
CalledProcessError whose message holds the command and its exit status only, and pip's reason
is dropped."""

import subprocess

import pytest

from bench import servers

PIP_SAYS = "ERROR: Could not find a version that satisfies the requirement Flask==3.1.3"


def test_a_serve_venv_that_cannot_be_installed_says_why(monkeypatch, tmp_path):
    """FAILS on main (c74bcf3): the error reads "Command '['make', '--no-print-directory',
    'install', 'VENV=.venv-serve']' returned non-zero exit status 2." and nothing more."""
    real_run = subprocess.run

    def no_index(command, **kwargs):
        if command[:3] == ["make", "--no-print-directory", "install"]:
            # What subprocess.run does for a command that fails under check=True.
            error = subprocess.CalledProcessError(2, command, output=b"",
                                                  stderr=PIP_SAYS.encode())
            if kwargs.get("check"):
                raise error
            return subprocess.CompletedProcess(command, 2, b"", PIP_SAYS.encode())
        return real_run(command, **kwargs)

    monkeypatch.setattr(servers.subprocess, "run", no_index)
    with pytest.raises(Exception) as failed, servers.stack("sqlite", tmp_path / "stack"):
        pass
    assert "Could not find a version" in str(failed.value), str(failed.value)
