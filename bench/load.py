"""Load generators, each bounded in time: wrk for plain GETs, an aiohttp client for flows, and
a fixed-rate GET load to run beside a flow.

Both give a `Load`: how many units of work were done in how long, latency percentiles, the
answers by status code, and the SQL counts the shop reported (`X-SQL-Statements`,
`X-SQL-Commits`) for the request that is the scenario's point.
"""

import asyncio
import os
import re
import shutil
import statistics
import subprocess
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import ClientError, ClientSession, ClientTimeout, CookieJar, TCPConnector

from checkout.sql_counts import COMMITS_HEADER, STATEMENTS_HEADER

# The CPU seconds used so far by the server a scenario loads; the runner sets it around each
# scenario (bench.servers.Server.cpu_seconds). Each load reads it when its timed part starts
# and ends: CPU per unit of work does not depend on what else the machine is doing.
cpu_meter: Callable[[], float] | None = None


def _cpu_now() -> float | None:
    return cpu_meter() if cpu_meter is not None else None


def _cpu_since(started: float | None) -> float | None:
    return None if started is None else _cpu_now() - started


class WorkDone(Exception):
    """A flow has nothing left to do (no cart, event or order left): its worker stops."""


@dataclass
class Load:
    done: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    statements: list[int] = field(default_factory=list)
    commits: list[int] = field(default_factory=list)
    # wrk reports percentiles itself and no list of latencies.
    p50_ms: float | None = None
    p99_ms: float | None = None
    # The loaded server's CPU seconds over the timed part (see `cpu_meter`), if metered.
    cpu_seconds: float | None = None

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float | None:
        given = self.p50_ms if q == 50 else self.p99_ms if q == 99 else None
        if given is not None or not self.latencies_ms:
            return given
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]

    def cpu_ms_per_unit(self) -> float | None:
        if self.cpu_seconds is None or not self.done:
            return None
        return self.cpu_seconds * 1000 / self.done

    def sql(self) -> tuple[float | None, float | None]:
        """The median statements and commits per measured request."""
        return (statistics.median(self.statements) if self.statements else None,
                statistics.median(self.commits) if self.commits else None)


def ensure_wrk() -> str:
    """wrk's path; installed from Debian's packages when missing (the bench runs as root)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise RuntimeError("wrk is not installed: run `apt-get install wrk` (as root)")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, stdout=subprocess.DEVNULL).returncode != 0:
        # A machine whose package lists were never fetched knows no wrk yet.
        subprocess.run(["apt-get", "update", "-q"], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(install, check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("apt-get installed no wrk")
    return found


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _milliseconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str, seconds: float) -> Load:
    """Read wrk --latency's report."""
    counted = re.search(r"(\d+) requests in", output)
    if counted is None:
        raise RuntimeError(f"wrk said:\n{output}")
    total = int(counted.group(1))
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    statuses = Counter({"2xx/3xx": total - int(bad.group(1)) if bad else total})
    if bad:
        statuses["other"] = int(bad.group(1))
    if errors:
        statuses["socket errors"] = sum(int(n) for n in errors.groups())
    return Load(done=total - (int(bad.group(1)) if bad else 0), seconds=seconds,
                statuses=+statuses,
                p50_ms=_milliseconds(percentiles["50"]) if "50" in percentiles else None,
                p99_ms=_milliseconds(percentiles["99"]) if "99" in percentiles else None)


def wrk(url: str, seconds: float, connections: int = 16, threads: int = 2,
        headers: dict[str, str] | None = None) -> Load:
    """GET `url` for `seconds` over `connections` kept-alive connections."""
    command = [ensure_wrk(), f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    cpu = _cpu_now()
    done = subprocess.run([*command, url], capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    load = parse_wrk(done.stdout, max(1, round(seconds)))
    load.cpu_seconds = _cpu_since(cpu)
    return load


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]
    ms: float

    def sql(self) -> tuple[int, int] | None:
        if STATEMENTS_HEADER not in self.headers:
            return None
        return int(self.headers[STATEMENTS_HEADER]), int(self.headers[COMMITS_HEADER])


class Client:
    """One shopper's browser: its own cookies and one kept-alive connection."""

    def __init__(self, base: str) -> None:
        self.base = base
        # The CSRF token of the client's session, once it has fetched a form.
        self.csrf = ""
        # Flows keep their own count of what this client did (which product is next).
        self.count = 0
        self.jar = CookieJar(unsafe=True)  # cookies for 127.0.0.1, an address
        self.session = ClientSession(cookie_jar=self.jar, timeout=ClientTimeout(total=60),
                                     connector=TCPConnector(limit=1))

    async def request(self, method: str, path: str, **kwargs) -> Answer:
        url = path if path.startswith("http") else self.base + path
        started = time.perf_counter()
        async with self.session.request(method, url, allow_redirects=False, **kwargs) as got:
            text = await got.text(errors="replace")  # a PDF too
            return Answer(got.status, text, dict(got.headers),
                          (time.perf_counter() - started) * 1000)

    async def get(self, path: str, **kwargs) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, data=None, **kwargs) -> Answer:
        return await self.request("POST", path, data=data, **kwargs)

    def set_cookie(self, name: str, value: str) -> None:
        self.jar.update_cookies({name: value})

    def drop_cookie(self, name: str) -> None:
        kept = [(cookie.key, cookie.value) for cookie in self.jar if cookie.key != name]
        self.jar.clear()
        for key, value in kept:
            self.jar.update_cookies({key: value})

    async def close(self) -> None:
        await self.session.close()


# A flow: one unit of work for a client; it returns the answer of the request that is the
# scenario's point (its latency and SQL counts are the ones reported), or None.
Flow = Callable[[Client], Awaitable[Answer | None]]
Prepare = Callable[[Client], Awaitable[None]]


async def _closed_loop(base: str, flow: Flow, concurrency: int, seconds: float,
                       prepare: Prepare | None, time_flows: bool) -> Load:
    load = Load(done=0, seconds=0.0)
    clients = [Client(base) for _ in range(concurrency)]
    try:
        if prepare is not None:
            await asyncio.gather(*(prepare(client) for client in clients))
        cpu = _cpu_now()
        started = time.perf_counter()
        deadline = started + seconds
        finished = [started]

        async def worker(client: Client) -> None:
            while time.perf_counter() < deadline:
                flow_started = time.perf_counter()
                try:
                    answer = await flow(client)
                except WorkDone:
                    return
                flow_ms = (time.perf_counter() - flow_started) * 1000
                finished[0] = max(finished[0], time.perf_counter())
                if answer is None:
                    load.done += 1
                    continue
                # As wrk's figure: an answer of 400 or more did no work (its status is kept).
                if answer.status < 400:
                    load.done += 1
                load.statuses[answer.status] += 1
                load.latencies_ms.append(flow_ms if time_flows else answer.ms)
                counted = answer.sql()
                if counted is not None:
                    load.statements.append(counted[0])
                    load.commits.append(counted[1])

        await asyncio.gather(*(worker(client) for client in clients))
        load.cpu_seconds = _cpu_since(cpu)
        # A flow that ran out of work ends early: the rate is over the time work was done.
        load.seconds = max(finished[0] - started, 1e-6)
    finally:
        await asyncio.gather(*(client.close() for client in clients))
    return load


def closed_loop(base: str, flow: Flow, *, concurrency: int, seconds: float,
                prepare: Prepare | None = None, time_flows: bool = False) -> Load:
    """Run `concurrency` clients doing `flow` back to back for `seconds` (or until no work
    is left); latencies are the flow's request (or the whole flow, `time_flows`)."""
    return asyncio.run(_closed_loop(base, flow, concurrency, seconds, prepare, time_flows))


def closed_loop_async(base: str, flow: Flow, *, concurrency: int, seconds: float,
                      prepare: Prepare | None = None, time_flows: bool = False
                      ) -> Awaitable[Load]:
    """The same, as a coroutine to run beside another load."""
    return _closed_loop(base, flow, concurrency, seconds, prepare, time_flows)


async def fixed_rate_async(url: str, *, rate: float, seconds: float) -> Load:
    """GET `url` `rate` times a second for `seconds`, whatever the answers' pace (open loop).

    A load that waits for each answer (wrk, the closed loop) takes whatever the server has
    left: beside a flow it measures how the two share the machine. At a fixed rate the work
    asked is the same in every run, and each latency counts from when its request was due,
    so a server that falls behind shows it in the percentiles instead of asking for less.
    """
    load = Load(done=0, seconds=seconds)
    interval = 1 / rate
    async with ClientSession(timeout=ClientTimeout(total=30),
                             connector=TCPConnector(limit=64)) as session:
        async def one(due: float) -> None:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            try:
                async with session.get(url, allow_redirects=False) as got:
                    await got.read()
                    status = got.status
            except (ClientError, TimeoutError) as exc:
                load.statuses[type(exc).__name__] += 1
                return
            load.statuses[status] += 1
            if status < 400:
                load.done += 1
            load.latencies_ms.append((time.perf_counter() - due) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(one(started + n * interval)
                               for n in range(round(rate * seconds))))
    return load
