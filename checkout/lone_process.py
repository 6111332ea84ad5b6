"""Work done in a short-lived process of its own, never in the web worker that asks for it.

Rendering a PDF (WeasyPrint) and hashing a password (Argon2's 64 MiB) each need memory that a
worker would keep as its peak for the rest of its life, for work that is rare beside the pages
every shopper loads. `run_alone` starts `python -I <script>`, gives it its input on stdin
(never on its command line, where `ps` shows it) and returns what it wrote on stdout; the
process ends with the job and gives all of it back. `-I` runs the script as a lone file: no
`checkout` package (and Flask) to import first, and the script's folder is not put on sys.path
where its neighbours could shadow other modules; it also ignores PYTHONPATH, so the libraries
a script needs must be installed in the interpreter's environment (as `make install` does).
"""

import subprocess
import sys
from pathlib import Path


class LoneProcessFailed(RuntimeError):
    """The process took too long or exited with an error: our fault, answered as a 500."""


def run_alone(script: Path, given: bytes, *, timeout: float, what: str) -> bytes:
    """Run `script` in a process of its own with `given` on stdin; return its stdout.

    `what` names the process in the error: "<what> took longer than …" or "<what> exited
    with <status>: <the last line of its stderr>".
    """
    try:
        done = subprocess.run([sys.executable, "-I", str(script)], input=given,
                              capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoneProcessFailed(f"{what} took longer than {timeout} s") from exc
    if done.returncode != 0:
        problem = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"]
        raise LoneProcessFailed(f"{what} exited with {done.returncode}: {problem[0][:300]}")
    return done.stdout
