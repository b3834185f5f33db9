"""The measures endpoint under load: gunicorn with production settings, wrk on loopback, against a floor endpoint
that returns the same 50 rows with .values() and JsonResponse, in the same run."""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_API_PORT", "58123"))
REDIS_PORT = int(os.environ.get("BENCH_REDIS_PORT", "56389"))
CLIENTS = 20
PAGES = 200  # the paging benchmark asks for pages 1 to 200 (the first 10,000 measures) at random


def wait_until_up(url: str, headers: dict, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers)  # noqa: S310 (loopback)
            with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer")


def wrk(url: str, headers: dict, seconds: int, *, warm_up: bool = False, pages: int = 0, mix: str = "",
         timeout_s: int = 2) -> dict:  # fmt: skip
    """wrk against `url`; with `pages`, each request asks for one of the first `pages` pages at random; with `mix`
    (a file, see p95.lua), each request is one of its lines at random. A request unanswered after `timeout_s` counts
    as a timeout. Errors raise unless `warm_up` (or `mix`: the caller reports them)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("make bench needs wrk (Debian: apt-get install wrk)")
    args = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{seconds}s", f"--timeout={timeout_s}s", "-s",
            str(ROOT / "bench" / "p95.lua")]  # fmt: skip
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    env = {**os.environ, "BENCH_PAGES": str(pages), "BENCH_MIX": mix}
    out = subprocess.run([*args, url], capture_output=True, text=True, check=True, env=env).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", out.split("BENCH", 1)[1])}
    if not (warm_up or mix) and (stats["errors"] or stats["status_errors"]):  # a cold first count may time out
        raise RuntimeError(f"wrk saw errors against {url}:\n{out}")
    return {"rps": rps, "p95_ms": stats["p95_us"] / 1000, "p50_ms": stats["p50_us"] / 1000,
            "requests": stats["requests"], "errors": stats["errors"], "status_errors": stats["status_errors"],
            "timeouts": stats["timeouts"]}  # fmt: skip


def server_env(*, workers: int, redis_url: str) -> dict:
    """The environment of gunicorn with production settings (and the benchmark's floor URL), its Redis at
    `redis_url`, and the web statement timeout of production (the benchmark process itself runs without one)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "SECRET_KEY": "bench-" + "x" * 50,
        "REDIS_URL": redis_url,
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": str(workers),
        "WEB_THREADS": "1",
        "LOG_LEVEL": "WARNING",
        # bench.run lifts the statement timeout for its own process (generating a million measures is one long
        # statement) and keeps the web one here, for the servers it starts.
        "DB_STATEMENT_TIMEOUT_MS": os.environ.get("BENCH_WEB_STATEMENT_TIMEOUT_MS", "30000"),
    }


def _serve(env: dict, log) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "ecopark.wsgi", "--config", "gunicorn.conf.py",
         "--bind", f"127.0.0.1:{PORT}", "--access-logfile", "/dev/null"],
        cwd=ROOT, env=env, stdout=log, stderr=log,
    )  # fmt: skip


def _stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


class Servers:
    """gunicorn on PORT with production settings, and the Redis it uses: BENCH_REDIS_URL's (flushed first), or a
    throwaway one on REDIS_PORT. `restart(**env)` serves again with more environment (e.g. the list cache off)."""

    def __init__(self, *, workers: int) -> None:
        self.work = Path(tempfile.mkdtemp(prefix="ecopark-bench-"))
        self.redis = None
        redis_url = os.environ.get("BENCH_REDIS_URL", "")
        if redis_url:
            subprocess.run([shutil.which("redis-cli") or "redis-cli", "-u", redis_url, "flushdb"],  # noqa: S603
                           check=True, capture_output=True)  # fmt: skip
        else:
            self.redis = subprocess.Popen(  # noqa: S603
                [shutil.which("redis-server") or "redis-server", "--port", str(REDIS_PORT), "--save", "",
                 "--dir", str(self.work)],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            redis_url = f"redis://127.0.0.1:{REDIS_PORT}/0"
        self.env = server_env(workers=workers, redis_url=redis_url)
        self.log_path = self.work / "gunicorn.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.server = None

    def start(self, **env: str) -> None:
        if self.server is not None:
            _stop(self.server)
        self.server = _serve({**self.env, **env}, self.log)

    def log_tail(self, chars: int = 3000) -> str:
        self.log.flush()
        return self.log_path.read_text()[-chars:]

    def __enter__(self) -> "Servers":
        return self

    def __exit__(self, *exc) -> None:
        if self.server is not None:
            _stop(self.server)
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.work, ignore_errors=True)


def measure_api(*, seconds: int = 15, workers: int = 4) -> dict:
    """Throughput and latency of the list endpoint (as configured: pages kept in the cache between writes; and with
    that cache off) and of the floor; returns the figures."""
    from ecopark.services import partner_create

    api_key, key = partner_create(name="bench partner", days=1)
    api_key.requests_per_minute = 10_000_000  # the benchmark measures the endpoint, not the throttle
    api_key.save()
    headers = {"X-Forwarded-Proto": "https", "Authorization": f"Bearer {key}"}
    api = f"http://127.0.0.1:{PORT}/api/v1/measures/?page_size=50"
    floor = f"http://127.0.0.1:{PORT}/bench/floor/"
    with Servers(workers=workers) as servers:
        servers.start()
        wait_until_up(api, headers)
        wait_until_up(floor, headers)
        wrk(api, headers, 3, warm_up=True)  # connections, caches, the count
        wrk(floor, headers, 3, warm_up=True)
        floor_1 = wrk(floor, headers, seconds)
        result = wrk(api, headers, seconds)
        floor_2 = wrk(floor, headers, seconds)  # before and after, so that drift on a shared machine shows
        servers.start(API_LIST_CACHE_SECONDS="0")
        wait_until_up(api, headers)
        wrk(api, headers, 3, warm_up=True)
        uncached = wrk(api, headers, seconds)
        # A script paging through the list: no page read twice in a row, so the list cache is no help.
        paged = wrk(api, headers, seconds, pages=PAGES)
        floor_paged = wrk(floor, headers, seconds, pages=PAGES)
    return {"api": result, "uncached": uncached, "floor": {k: (floor_1[k] + floor_2[k]) / 2 for k in floor_1},
            "paged": paged, "floor_paged": floor_paged, "workers": workers, "seconds": seconds}  # fmt: skip
