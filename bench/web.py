"""Web benchmarks: server-side latency of the people API and the org drill-down, and API reads under load.

The store is the demo company at `--scale 10` (≈ 1,200 reps; 0.1 with `--quick`), built once with
`services.demo.load_demo` into `bench/data/` (keyed by a hash of the code that shapes it) and copied into
each case's scratch directory, where the setup adds an admin and a manager (the director with the
largest subtree below the top) with API tokens. Latency cases call the ASGI app in-process through
`httpx.ASGITransport`, one request at a time, and time each request (routing, authentication, queries,
rendering); the load case runs a real uvicorn on 127.0.0.1 and 20 concurrent keep-alive clients.
Percentiles and status counts go to `bench/results/<case>[.quick].detail.json` next to the suite's result.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from bench import Context, Measurement, case
from openspm.access.roles import Role
from openspm.services import users
from openspm.services.demo import load_demo
from openspm.settings import Settings
from openspm.store.db import make_engine
from openspm.store.migrate import upgrade
from openspm.store.models import OrgUnit, Person, ReportingLine
from openspm.web.app import create_app
from openspm.web.security import SESSION_COOKIE

DEMO_SCALE = 10.0  # × ctx.scale: 10 in the suite, 0.1 with --quick
REQUESTS = 1_000  # timed requests per series (not scaled: latency needs the same sample size)
WARMUP = 20
CLIENTS = 20
LOAD_REQUESTS = 6_000
LOAD_SECONDS = 30.0
TIMEOUT = 15.0  # a request that takes longer counts as "timeout"
PAGE = 50
PASSWORD = "benchmark passphrase 2025"
ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
RESULTS = Path(__file__).parent / "results"
SHAPING_CODE = ["src/openspm/demo", "src/openspm/services/demo.py", "src/openspm/services/imports.py",
                "src/openspm/store/migrations", "src/openspm/ingest"]  # fmt: skip


# --- the store ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Site:
    url: str
    tokens: dict[str, str]  # "admin" / "manager" → API token
    sessions: dict[str, str]  # "admin" / "manager" → browser session (the cookie's value)
    manager_id: str
    people: dict[str, int]  # role → people in scope (for paging through them)
    units: list[str]  # org units to drill into: the root, the regions, some teams


def _code_hash() -> str:
    digest = hashlib.sha256()
    for entry in SHAPING_CODE:
        for path in sorted((ROOT / entry).rglob("*.py")) if (ROOT / entry).is_dir() else [ROOT / entry]:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def cached_store(scale: float) -> Path:
    """The demo company's store at `scale`, built once (a few minutes at scale 10).

    Its months are left open (no pay is calculated): the web and KPI cases read the sales facts and the
    organisation; the calculation has benchmarks of its own (bench/calc.py).
    """
    path = DATA / f"web_demo_{scale:g}_{_code_hash()}.db"
    if not path.exists():
        DATA.mkdir(exist_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        engine = make_engine(f"sqlite:///{partial}")
        upgrade(engine)
        load_demo(engine, scale=scale, actor="bench", calculate_pay=False)
        with engine.connect() as conn:
            conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        engine.dispose()
        partial.rename(path)
        for stale in DATA.glob(f"web_demo_{scale:g}_*.db"):  # built by older code
            if stale != path:
                stale.unlink()
    return path


def _manager(conn: Any) -> str:
    """The person with the largest current subtree short of the whole company (a regional director)."""
    line = ReportingLine
    sizes = conn.execute(
        select(line.ancestor_id, func.count().label("size")).where(line.end_date.is_(None))
        .group_by(line.ancestor_id).order_by(func.count().desc(), line.ancestor_id)
    ).all()  # fmt: skip
    return str(sizes[1].ancestor_id if len(sizes) > 1 else sizes[0].ancestor_id)


def _units(conn: Any, teams: int = 16) -> list[str]:
    rows = conn.execute(
        select(OrgUnit.org_unit_id, OrgUnit.kind, OrgUnit.parent_id).order_by(OrgUnit.org_unit_id)
    )
    by_kind: dict[str, list[str]] = {}
    for unit_id, kind, parent_id in rows:
        by_kind.setdefault("root" if parent_id is None else kind, []).append(unit_id)
    return by_kind.get("root", []) + by_kind.get("region", []) + by_kind.get("team", [])[:teams]


def prepare(ctx: Context) -> None:
    """Copy the cached store into the workdir and add an admin and a manager with API tokens."""
    target = ctx.workdir / "spm.db"
    shutil.copyfile(cached_store(DEMO_SCALE * ctx.scale), target)
    url = f"sqlite:///{target}"
    engine = make_engine(url)
    tokens: dict[str, str] = {}
    sessions: dict[str, str] = {}
    with engine.begin() as conn:
        manager = _manager(conn)
        for name, role, person in (("admin", Role.ADMIN, None), ("manager", Role.MANAGER, manager)):
            user_id = users.create_user(conn, username=f"bench-{name}", password=PASSWORD, actor="bench",
                                        roles=frozenset({role}), person_id=person)  # fmt: skip
            principal = users.principal_for(conn, user_id)
            tokens[name] = users.create_token(conn, principal, "bench")[1]
            sessions[name] = users.start_session(conn, principal).token
        everyone = conn.execute(select(func.count()).select_from(Person)).scalar_one()
        line = ReportingLine
        current = (
            select(func.count()).select_from(line).where(line.ancestor_id == manager, line.end_date.is_(None))
        )
        subtree = conn.execute(current).scalar_one()
        site = Site(url, tokens, sessions, manager, {"admin": everyone, "manager": subtree}, _units(conn))
    engine.dispose()
    (ctx.workdir / "site.json").write_text(json.dumps(asdict(site)))


def _site(ctx: Context) -> Site:
    return Site(**json.loads((ctx.workdir / "site.json").read_text()))


# --- measuring ---------------------------------------------------------------------------------------------
def summary(latencies: Sequence[float]) -> dict[str, Any]:
    """Count, mean, p50, p95, p99 and max in milliseconds."""
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(1000 * ordered[min(len(ordered) - 1, int(p * len(ordered)))], 2)

    return {"requests": len(ordered), "mean_ms": round(1000 * statistics.fmean(ordered), 2),
            "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99),
            "max_ms": round(1000 * ordered[-1], 2)}  # fmt: skip


async def _timed_series(
    client: httpx.AsyncClient, paths: list[str], token: str, requests: int = REQUESTS, warmup: int = WARMUP
) -> tuple[list[float], Counter[int]]:
    headers = {"Authorization": f"Bearer {token}"}
    for i in range(warmup):
        response = await client.get(paths[i % len(paths)], headers=headers)
        if response.status_code != HTTPStatus.NOT_FOUND:  # a manager's view of a unit outside their scope
            response.raise_for_status()
    latencies, statuses = [], Counter[int]()
    for i in range(requests):
        started = time.perf_counter()
        response = await client.get(paths[i % len(paths)], headers=headers)
        latencies.append(time.perf_counter() - started)
        statuses[response.status_code] += 1
    return latencies, statuses


def _in_process(
    ctx: Context, paths_for: dict[str, list[str]], requests: int = REQUESTS, warmup: int = WARMUP
) -> tuple[dict[str, Any], float]:
    """Time each role's series against the app in-process; return the detail and the summed seconds."""
    site = _site(ctx)
    app = create_app(Settings(database_url=site.url))

    async def run() -> dict[str, Any]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            detail = {}
            for role, paths in paths_for.items():
                latencies, statuses = await _timed_series(client, paths, site.tokens[role], requests, warmup)
                detail[role] = summary(latencies) | {"statuses": dict(statuses), "seconds": sum(latencies)}
            return detail

    try:
        detail = asyncio.run(run())
    finally:
        app.state.engine.dispose()
    return detail, sum(d.pop("seconds") for d in detail.values())


def write_detail(ctx: Context, name: str, detail: dict[str, Any]) -> None:
    RESULTS.mkdir(exist_ok=True)
    suffix = ".quick" if ctx.scale < 1 else ""
    document = {"case": name, "demo_scale": DEMO_SCALE * ctx.scale, **detail}
    (RESULTS / f"{name}{suffix}.detail.json").write_text(json.dumps(document, indent=2) + "\n")


def _people_pages(total: int) -> list[str]:
    pages = max(1, -(-total // PAGE))
    return [f"/api/v1/people?limit={PAGE}&offset={PAGE * (i % pages)}" for i in range(pages)]


# --- cases ---------------------------------------------------------------------------------------------
@case("web_people_api", setup=prepare)
def people_api(ctx: Context) -> Measurement:
    """Server-side latency of GET /api/v1/people (pages of 50) in-process, admin and manager, 1,000 each."""
    site = _site(ctx)
    pages = {role: _people_pages(site.people[role]) for role in ("admin", "manager")}
    detail, seconds = _in_process(ctx, pages)
    write_detail(ctx, "web_people_api", {"in_scope": site.people, "manager": site.manager_id, **detail})
    return Measurement(REQUESTS * len(detail), seconds)


@case("web_org_drilldown", setup=prepare)
def org_drilldown(ctx: Context) -> Measurement:
    """Server-side latency of the org drill-down page (/org/{unit}, `org_view`): admin, manager, 1,000 each.

    The same units through the API (/api/v1/org-units/{unit}) as the admin go to the detail file too.
    """
    site = _site(ctx)
    paths = [f"/org/{unit}" for unit in site.units]
    api_paths = [f"/api/v1/org-units/{unit}" for unit in site.units]
    detail, seconds = _in_process(ctx, {"admin": paths, "manager": paths})
    api_detail, _ = _in_process(ctx, {"admin": api_paths})
    write_detail(ctx, "web_org_drilldown", {"units": site.units, "page": detail, "api": api_detail})
    return Measurement(REQUESTS * len(detail), seconds)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _serve(url: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    factory = "openspm.web.app:create_app"
    options = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    command = [sys.executable, "-m", "uvicorn", "--factory", factory, *options]
    with log.open("wb") as errors:
        server = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, "SPM_DATABASE_URL": url}, stderr=errors
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("uvicorn did not start within 30 s")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=15)
    except subprocess.TimeoutExpired:  # requests still stuck in the server; it is only a benchmark's server
        server.kill()
        server.wait()


async def _load(base: str, credentials: dict[str, Any], paths: list[str]) -> dict[str, Any]:
    """`CLIENTS` workers on keep-alive connections, until LOAD_REQUESTS are done or LOAD_SECONDS pass."""
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=TIMEOUT, **credentials) as client:
        for path in paths[:WARMUP]:
            await client.get(path)
        latencies, statuses, counter = [], Counter[str](), itertools.count()
        deadline = time.perf_counter() + LOAD_SECONDS

        async def worker() -> None:
            while (i := next(counter)) < LOAD_REQUESTS and time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status = str((await client.get(paths[i % len(paths)])).status_code)
                except httpx.TimeoutException:
                    status = "timeout"
                except httpx.TransportError as exc:  # the server dropped the connection
                    status = type(exc).__name__
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        elapsed = time.perf_counter() - started
    ok = statuses.get("200", 0)
    return {"seconds": round(elapsed, 3), "requests_per_second": round(ok / elapsed, 1),
            "statuses": dict(statuses), **summary(latencies)}  # fmt: skip


@case("web_api_concurrent", setup=prepare)
def api_concurrent(ctx: Context) -> Measurement:
    """Requests/s of GET /api/v1/people as a manager: 20 concurrent clients, uvicorn on 127.0.0.1.

    Once signed in with a session cookie (the measured series) and once with an API token, whose every
    use writes `last_used_at` (on SQLite that write contends for the one database lock).
    """
    site = _site(ctx)
    port, log = _free_port(), ctx.workdir / "uvicorn.log"
    server = _serve(site.url, port, log)
    paths = _people_pages(site.people["manager"])
    base = f"http://127.0.0.1:{port}"
    try:
        session = asyncio.run(_load(base, {"cookies": {SESSION_COOKIE: site.sessions["manager"]}}, paths))
        token = asyncio.run(
            _load(base, {"headers": {"Authorization": f"Bearer {site.tokens['manager']}"}}, paths)
        )
    finally:
        _stop(server)
    locked = log.read_text(errors="replace").count("OperationalError) database is locked")
    write_detail(ctx, "web_api_concurrent", {"path": "/api/v1/people?limit=50 (manager)", "clients": CLIENTS,
                                             "session_cookie": session, "api_token": token,
                                             "server_errors_database_is_locked": locked})  # fmt: skip
    return Measurement(session["statuses"].get("200", 0), session["seconds"])
