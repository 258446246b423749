"""Hit-path benchmark: adtrack /p.gif and /c/CODE against nginx measured in the same run.

    .venv/bin/python loadtest/bench_hits.py [--duration 10] [--runs 3] [--server granian|uvicorn]

Servers (nginx, adtrack) are pinned to core 0 and the load generators to core 1, so the
figures are "per core". For each target: wrk max throughput (median of --runs, with min and
max), then p99 at 80% of that rate with a constant-rate generator, then for adtrack the
events/s that reach ClickHouse and a check that every answered hit was loaded. Prints a
markdown table and writes loadtest/results/hits-<timestamp>.json. Run loadtest/setup.sh first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "loadtest" / "results"
RATEGEN = REPO / "loadtest" / "rategen.py"
GEOIP = REPO / ".cache" / "geoip" / "GeoLite2-City.mmdb"
ADMIN_TOKEN = "bench-admin-token"
SERVER_CORE = "0"
CLIENT_CORE = "1"
CONNECTIONS = 64
LOAD_FRACTION = 0.8
# Issue targets for the request path (per core).
TARGET_RPS = 10_000
TARGET_P99_MS = 10.0

# A phone browser on a Chinese portal: what a real pixel or click request carries.
HEADERS = [
    "User-Agent: Mozilla/5.0 (Linux; Android 13; V2227A Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/101.0.4951.74 "
    "Mobile Safari/537.36 VivoBrowser/14.6.1.0",
    "Referer: https://portal.example.cn/news/2024/11/07/local-data-plan.html",
    "Accept: image/avif,image/webp,image/apng,image/*,*/*;q=0.8",
    "Accept-Language: zh-CN,zh;q=0.9,en;q=0.8",
    "Accept-Encoding: gzip, deflate, br",
]


# -- small helpers ------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited ({proc.returncode}):\n{_tail(log)}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port} after {timeout}s:\n{_tail(log)}")


def _tail(path: Path, chars: int = 3000) -> str:
    return path.read_text("utf-8", "replace")[-chars:] if path.exists() else ""


def stop_process(
    proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 30
) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def need(tool: str) -> str:
    sbin = Path("/usr/sbin") / tool
    path = shutil.which(tool) or (str(sbin) if sbin.exists() else None)
    if not path:
        sys.exit(f"{tool} not found: run loadtest/setup.sh first")
    return path


# -- CPU accounting -------------------------------------------------------------------------
# The machine may be shared: other processes can take part of core 0 or 1 during a run. The
# server's own CPU time turns a run into requests per CPU-second, which such sharing barely
# moves, and the per-core busy time shows how much of each core went to something else.
_TICK = os.sysconf("SC_CLK_TCK")


def _proc_cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime, all threads


def tree_cpu_s(root: int) -> float:
    """CPU seconds of a process and its descendants (nginx's worker, granian's worker)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += _proc_cpu_s(pid)
        todo.extend(parents.get(pid, []))
    return total


def _core_busy_s() -> dict[str, float]:
    busy = {}
    for line in Path("/proc/stat").read_text().splitlines():
        name, *values = line.split()
        if name in (f"cpu{SERVER_CORE}", f"cpu{CLIENT_CORE}"):
            ticks = [int(v) for v in values[:8]]
            busy[name] = (sum(ticks) - ticks[3] - ticks[4]) / _TICK  # minus idle, iowait
    return busy


class CpuMeter:
    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid

    def __enter__(self) -> CpuMeter:
        self.t0 = time.monotonic()
        self.server0 = tree_cpu_s(self.pid)
        self.client0 = _children_cpu_s()
        self.cores0 = _core_busy_s()
        return self

    def __exit__(self, *_: object) -> None:
        wall = time.monotonic() - self.t0
        server = tree_cpu_s(self.pid) - self.server0
        client = _children_cpu_s() - self.client0
        cores = {k: v - self.cores0[k] for k, v in _core_busy_s().items()}
        self.result = {
            "wall_s": round(wall, 3),
            "server_cpu_s": round(server, 3),
            "server_core_share": round(server / wall, 3),
            "client_cpu_s": round(client, 3),
            "others_on_server_core_s": round(max(0.0, cores[f"cpu{SERVER_CORE}"] - server), 3),
            "others_on_client_core_s": round(max(0.0, cores[f"cpu{CLIENT_CORE}"] - client), 3),
            "loadavg": Path("/proc/loadavg").read_text().split()[0],
        }


# Before each run, wait up to this long for both cores to be nearly idle (other people's test
# suites share the machine); set by --quiet-wait.
QUIET = {"wait_s": 60.0, "busy": 0.15}


def wait_quiet() -> dict[str, Any]:
    """Wait (bounded) until both cores are under QUIET["busy"] busy over half a second."""
    started = time.monotonic()
    busy: dict[str, float] = {}
    while True:
        before = _core_busy_s()
        time.sleep(0.5)
        busy = {k: round((v - before[k]) / 0.5, 2) for k, v in _core_busy_s().items()}
        waited = time.monotonic() - started
        if max(busy.values()) < QUIET["busy"]:
            return {"quiet": True, "waited_s": round(waited, 1), "busy_before": busy}
        if waited >= QUIET["wait_s"]:
            return {"quiet": False, "waited_s": round(waited, 1), "busy_before": busy}


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- wrk ----------------------------------------------------------------------------------
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, Any]:
    """requests/s, latency percentiles (ms), totals and errors from `wrk --latency` output."""
    result: dict[str, Any] = {"non_2xx_3xx": 0, "socket_errors": 0}
    for pct in ("50", "75", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)\s*$", output, re.M)
        if match:
            result[f"p{pct}_ms"] = round(_ms(match.group(1)), 3)
    match = re.search(r"^\s*(\d+) requests in ([\d.]+)(\w+),", output, re.M)
    if not match:
        raise ValueError(f"cannot parse wrk output:\n{output}")
    result["requests"] = int(match.group(1))
    result["elapsed_s"] = round(_ms(match.group(2) + match.group(3)) / 1000, 3)
    match = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    result["rps"] = float(match.group(1)) if match else 0.0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if match:
        result["non_2xx_3xx"] = int(match.group(1))
    match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if match:
        result["socket_errors"] = sum(int(g) for g in match.groups())
    result["ok"] = result["requests"] - result["non_2xx_3xx"]
    return result


def run_wrk(url: str, duration: int, server_pid: int | None = None) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        CLIENT_CORE,
        need("wrk"),
        "-t1",
        f"-c{CONNECTIONS}",
        f"-d{duration}s",
        "--latency",
    ]
    for header in HEADERS:
        cmd += ["-H", header]
    cmd.append(url)
    quiet = wait_quiet()
    with CpuMeter(server_pid or os.getpid()) as meter:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed: {done.stderr}\n{done.stdout}")
    return _with_cpu(parse_wrk(done.stdout), meter, server_pid) | {"settle": quiet}


def _with_cpu(result: dict[str, Any], meter: CpuMeter, server_pid: int | None) -> dict[str, Any]:
    if server_pid is not None:
        result["cpu"] = meter.result
        done = result.get("requests", result.get("completed", 0))
        cpu = meter.result["server_cpu_s"]
        result["req_per_cpu_s"] = round(done / cpu, 1) if cpu else 0.0
    return result


def run_rategen(
    url: str, rate: float, duration: int, server_pid: int | None = None
) -> dict[str, Any]:
    cmd = [
        "taskset",
        "-c",
        CLIENT_CORE,
        sys.executable,
        str(RATEGEN),
        "--url",
        url,
        "--rate",
        f"{rate:.0f}",
        "--duration",
        str(duration),
        "--connections",
        str(CONNECTIONS),
    ]
    for header in HEADERS:
        cmd += ["-H", header]
    quiet = wait_quiet()
    with CpuMeter(server_pid or os.getpid()) as meter:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration + 60, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"rategen failed: {done.stderr}")
    return _with_cpu(json.loads(done.stdout), meter, server_pid) | {"settle": quiet}


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rps = [r["rps"] for r in runs]
    median_run = sorted(runs, key=lambda r: r["rps"])[len(runs) // 2]
    return {
        "rps_median": round(statistics.median(rps), 1),
        "rps_min": round(min(rps), 1),
        "rps_max": round(max(rps), 1),
        "p50_ms_median": round(statistics.median(r.get("p50_ms", 0) for r in runs), 3),
        "p99_ms_median": round(statistics.median(r.get("p99_ms", 0) for r in runs), 3),
        "req_per_cpu_s_median": round(
            statistics.median(r.get("req_per_cpu_s", 0) for r in runs), 1
        ),
        "server_core_share_min": min(r.get("cpu", {}).get("server_core_share", 0) for r in runs),
        "others_on_cores_s_max": max(
            r.get("cpu", {}).get("others_on_server_core_s", 0)
            + r.get("cpu", {}).get("others_on_client_core_s", 0)
            for r in runs
        ),
        "runs_started_quiet": sum(1 for r in runs if r.get("settle", {}).get("quiet")),
        "median_run": median_run,
        "runs": runs,
    }


# -- nginx --------------------------------------------------------------------------------
NGINX_CONF = """\
daemon off;
master_process on;
worker_processes 1;
worker_cpu_affinity 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    keepalive_requests 1000000;
    server_tokens off;
    server {{
        listen 127.0.0.1:{port_log};
        access_log {tmp}/access.log combined;
        location = /p.gif {{ empty_gif; }}
        location /c/ {{ return 302 https://example.com/landing?adt_cid=x; }}
    }}
    server {{
        listen 127.0.0.1:{port_nolog};
        access_log off;
        location = /p.gif {{ empty_gif; }}
        location /c/ {{ return 302 https://example.com/landing?adt_cid=x; }}
    }}
}}
"""


class Nginx:
    """One nginx, one worker on core 0: a server with the access log on, one with it off."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp / "nginx"
        self.port_log = free_port()
        self.port_nolog = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> Nginx:
        self.tmp.mkdir(parents=True)
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(tmp=self.tmp, port_log=self.port_log, port_nolog=self.port_nolog)
        )
        log = self.tmp / "stderr.log"
        self.proc = subprocess.Popen(
            [
                "taskset",
                "-c",
                SERVER_CORE,
                need("nginx"),
                "-p",
                str(self.tmp),
                "-c",
                str(conf),
                "-e",
                str(self.tmp / "error.log"),
            ],
            stdout=open(log, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port_log, self.proc, 10, log)
        wait_port(self.port_nolog, self.proc, 10, log)
        return self

    def url(self, path: str, log: bool = True) -> str:
        return f"http://127.0.0.1:{self.port_log if log else self.port_nolog}{path}"

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGQUIT, timeout=10)

    @staticmethod
    def version() -> str:
        done = subprocess.run([need("nginx"), "-v"], capture_output=True, text=True, check=False)
        return (done.stderr or done.stdout).strip()


# -- adtrack ------------------------------------------------------------------------------
@dataclass
class Adtrack:
    """A fresh adtrack server (uvicorn or granian) on core 0 with its own data directory."""

    tmp: Path
    server: str
    fsync_ms: int
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    catalog: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Adtrack:
        data = Path(
            tempfile.mkdtemp(prefix=f"adtrack-{self.server}-fsync{self.fsync_ms}-", dir=self.tmp)
        )
        self.log_path = data / "server.log"
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("ADTRACK_") and not k.startswith("GRANIAN_")
        }
        env.update(
            {
                "ADTRACK_DATA_DIR": str(data),
                "ADTRACK_HOST": "127.0.0.1",
                "ADTRACK_PORT": str(self.port),
                "ADTRACK_ADMIN_TOKEN": ADMIN_TOKEN,
                "ADTRACK_SPOOL_FSYNC_MS": str(self.fsync_ms),
                "PYTHONUNBUFFERED": "1",
            }
        )
        if GEOIP.is_file():
            env["ADTRACK_GEOIP_DB"] = str(GEOIP)
        env.update(self.extra_env)
        # `adtrack serve`: the core process (store, loader, API) and the edge process it
        # starts inherit the pinning, so the whole server shares core 0.
        cmd = [sys.executable, "-m", "app.cli", "serve", "--http", self.server]
        self.proc = subprocess.Popen(
            ["taskset", "-c", SERVER_CORE, *cmd],
            cwd=REPO,
            env=env,
            stdout=open(self.log_path, "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        wait_port(self.port, self.proc, 90, self.log_path)
        deadline = time.monotonic() + 60
        health: dict[str, Any] = {}
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"{self.base}/healthz", timeout=2)
                health = response.json()
                if response.status_code == 200:
                    break
            except (httpx.HTTPError, ValueError):
                pass
            time.sleep(0.2)
        else:
            raise RuntimeError(
                f"adtrack ({self.server}) not healthy — did its lifespan run? "
                f"last /healthz: {health}\n{_tail(self.log_path)}"
            )
        self.health = health
        self.seed()
        return self

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.base, timeout=30, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )

    def seed(self) -> None:
        with self.admin() as http:

            def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
                response = http.post(f"/api/v1/{path}", json=body)
                response.raise_for_status()
                return response.json()

            adv = post("advertisers", {"name": "China Mobile Inner Mongolia"})
            cmp_ = post("campaigns", {"name": "Data plan Q4", "advertiser_id": adv["id"]})
            post("partners", {"id": "nmg-portal", "name": "Hohhot Portal Co."})
            site = post(
                "sites",
                {
                    "name": "Hohhot City Portal",
                    "partner": "nmg-portal",
                    "domain": "portal.example.cn",
                    "channel": "local_portal",
                },
            )
            link = post(
                "links",
                {
                    "campaign_id": cmp_["id"],
                    "site_key": site["site_key"],
                    "landing_url": "https://shop.example.cn/q4/data?from=portal",
                    "placement_id": "home-banner",
                    "creative_id": "banner-300x250",
                },
            )
        self.catalog = {"advertiser": adv, "campaign": cmp_, "site": site, "link": link}
        # The hit path reads a cached catalog: wait until the new link answers 302.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            response = httpx.get(self.redirect_url(), timeout=5)
            if response.status_code == 302:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("the seeded link never became visible to the hit path")
        if self.extra_env.get("ADTRACK_LOADER_IN_PROCESS", "true") != "false":
            self.wait_drained(30)

    def pixel_url(self) -> str:
        site, cmp_ = self.catalog["site"], self.catalog["campaign"]
        query = urlencode(
            {
                "s": site["site_key"],
                "e": "impression",
                "c": cmp_["id"],
                "pl": "home-banner",
                "cr": "banner-300x250",
                "url": "https://portal.example.cn/news/2024/11/07/local-data-plan.html?from=home",
                "ref": "https://www.baidu.com/s?wd=%E5%91%BC%E5%92%8C%E6%B5%A9%E7%89%B9",
                "utm_source": "nmg-portal",
                "utm_medium": "display",
                "utm_campaign": "q4-data-plan",
                "vid": "v.8f3a2c91d0e4",
                "sr": "1080x2340",
                "lang": "zh-CN",
            }
        )
        return f"{self.base}/p.gif?{query}"

    def redirect_url(self) -> str:
        code = self.catalog["link"]["code"]
        return f"{self.base}/c/{code}?utm_source=nmg-portal&utm_medium=banner"

    def counts(self) -> dict[str, int]:
        with self.admin() as http:
            status = http.get("/api/v1/ingest/status").json()
            metrics = http.get("/metrics").text
        hits = sum(
            float(v) for v in re.findall(r"^adtrack_hits_total\{[^}]*\} (\S+)$", metrics, re.M)
        )
        return {
            "events": int(sum(status["events_by_type"].values())),
            "rejects": int(status["rejects"]),
            "spool_bytes": int(status["spool"]["bytes"]),
            "spooled_hits": int(hits),
        }

    def wait_drained(self, timeout: float = 120) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            if counts["spool_bytes"] == 0:
                return counts
            if time.monotonic() > deadline:
                raise RuntimeError(f"spool not drained after {timeout}s: {counts}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.proc, signal.SIGTERM, timeout=60)


def granian_loop() -> str:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return "asyncio"
    return "uvloop"


def measure_load(app: Adtrack, load: Any) -> dict[str, Any]:
    """Run `load()` and follow its hits into ClickHouse: events/s from load start to drain."""
    before = app.wait_drained()
    started = time.monotonic()
    result = load()
    load_end = time.monotonic()
    after = app.wait_drained()
    drained = time.monotonic()
    loaded = after["events"] - before["events"]
    rejected = after["rejects"] - before["rejects"]
    spooled = after["spooled_hits"] - before["spooled_hits"]
    answered_ok = result["ok"]
    return {
        **result,
        "loaded_events": loaded,
        "loaded_rejects": rejected,
        "spooled_hits": spooled,
        "load_s": round(load_end - started, 3),
        "drain_after_load_s": round(drained - load_end, 3),
        "events_per_s_to_clickhouse": round(loaded / (drained - started), 1),
        # wrk counts only completed responses; requests still in flight when it stops may
        # have been stored too, so up to one per connection more is expected, never fewer.
        "loaded_minus_answered": loaded - answered_ok,
        "nothing_lost": (
            spooled == loaded
            and rejected == 0
            and 0 <= loaded - answered_ok <= result.get("in_flight_slack", CONNECTIONS)
        ),
    }


def rategen_as_load(url: str, rate: float, duration: int, server_pid: int) -> dict[str, Any]:
    result = run_rategen(url, rate, duration, server_pid)
    statuses = result["statuses"]
    result["ok"] = sum(v for k, v in statuses.items() if k.startswith(("2", "3")))
    result["in_flight_slack"] = result["in_flight_at_end"] + result["errors"]
    result["p50_ms"] = result["latency_ms"].get("p50", 0)
    result["p99_ms"] = result["latency_ms"].get("p99", 0)
    return result


# -- the benchmark ------------------------------------------------------------------------
def bench(args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="adtrack-bench-"))
    results: dict[str, Any] = {"nginx": {}, "adtrack": {}}
    nginx = Nginx(tmp).start()
    try:
        targets = {
            "nginx_gif_log": nginx.url("/p.gif", log=True),
            "nginx_gif_nolog": nginx.url("/p.gif", log=False),
            "nginx_302_log": nginx.url("/c/abc123", log=True),
        }
        for name, url in targets.items():
            runs = []
            for i in range(args.runs):
                runs.append(run_wrk(url, args.duration, nginx.proc.pid))
                _say(f"{name} run {i + 1}: {_brief(runs[-1])}")
            results["nginx"][name] = summarize(runs)
        for fsync_ms in args.fsync_ms:
            key = f"{args.server}_fsync{fsync_ms}"
            _say(f"starting adtrack ({args.server}, ADTRACK_SPOOL_FSYNC_MS={fsync_ms})")
            app = Adtrack(tmp, args.server, fsync_ms).start()
            section: dict[str, Any] = {
                "server": args.server,
                "fsync_ms": fsync_ms,
                "lifespan_ran": app.health.get("status") == "ok",
            }
            try:
                section["pixel"] = bench_endpoint(app, nginx, "pixel", args)
                section["redirect"] = bench_endpoint(app, nginx, "redirect", args)
            finally:
                app.stop()
            section["server_log_tail"] = _tail(app.log_path, 2000)
            results["adtrack"][key] = section
    finally:
        nginx.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return results


def bench_endpoint(
    app: Adtrack, nginx: Nginx, endpoint: str, args: argparse.Namespace
) -> dict[str, Any]:
    """wrk max rate (--runs times), then the constant-rate p99 at 80% and its nginx floor."""
    url = app.pixel_url() if endpoint == "pixel" else app.redirect_url()
    pid = app.proc.pid
    label = f"{app.server}_fsync{app.fsync_ms} {endpoint}"
    runs = []
    for i in range(args.runs):
        run = measure_load(app, lambda: run_wrk(url, args.duration, pid))
        runs.append(run)
        _say(
            f"{label} run {i + 1}: {_brief(run)}, {run['events_per_s_to_clickhouse']:.0f} "
            f"ev/s to CH, loaded {run['loaded_events']} answered {run['ok']}"
        )
    summary = summarize(runs)
    summary["events_per_s_median"] = statistics.median(
        r["events_per_s_to_clickhouse"] for r in runs
    )
    summary["nothing_lost"] = all(r["nothing_lost"] for r in runs)
    rate = max(1.0, summary["rps_median"] * LOAD_FRACTION)
    fixed = measure_load(app, lambda: rategen_as_load(url, rate, args.duration, pid))
    summary["at_80pct"] = fixed
    _say(
        f"{label} @ {rate:.0f} req/s: achieved {fixed['achieved_rate']}, p50 "
        f"{fixed['p50_ms']} ms p99 {fixed['p99_ms']} ms (send lag p99 "
        f"{fixed['send_lag_ms'].get('p99')} ms), core share {fixed['cpu']['server_core_share']}"
    )
    # The criterion: p99 at 80% of the 10k req/s target, whatever the maximum was.
    target_rate = TARGET_RPS * LOAD_FRACTION
    at_target = measure_load(app, lambda: rategen_as_load(url, target_rate, args.duration, pid))
    summary["at_target_80pct"] = at_target
    _say(
        f"{label} @ {target_rate:.0f} req/s (80% of target): achieved "
        f"{at_target['achieved_rate']}, p50 {at_target['p50_ms']} ms p99 "
        f"{at_target['p99_ms']} ms"
    )
    # The same generator at the same rate against nginx: the latency it adds by itself.
    ref = nginx.url("/p.gif" if endpoint == "pixel" else "/c/abc123", log=True)
    floor = run_rategen(ref, rate, args.duration, nginx.proc.pid)
    summary["generator_floor_nginx"] = floor
    _say(f"  generator floor (nginx @ same rate): p99 {floor['latency_ms'].get('p99')} ms")
    return summary


def _brief(run: dict[str, Any]) -> str:
    cpu = run.get("cpu", {})
    return (
        f"{run['rps']:.0f} req/s ({run.get('req_per_cpu_s', 0):.0f}/CPU-s, core share "
        f"{cpu.get('server_core_share')}, others {cpu.get('others_on_server_core_s')}"
        f"+{cpu.get('others_on_client_core_s')} s, quiet before: "
        f"{run.get('settle', {}).get('quiet')}) p99 {run.get('p99_ms')} ms"
    )


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _fmt_rps(s: dict[str, Any]) -> str:
    return f"{s['rps_median']:,.0f} ({s['rps_min']:,.0f}–{s['rps_max']:,.0f})"


def markdown(results: dict[str, Any], args: argparse.Namespace) -> str:
    ng = results["nginx"]
    refs = {"gif": ng["nginx_gif_log"], "302": ng["nginx_302_log"]}
    lines = [
        f"Servers on core {SERVER_CORE}, load on core {CLIENT_CORE}; wrk -t1 -c{CONNECTIONS} "
        f"-d{args.duration}s --latency, median of {args.runs} (min–max). req/CPU-s: requests "
        "per second of the server's own CPU time (robust to other load on the machine). "
        "core share: the lowest share of core 0 the server got in a run. p99@80%: constant "
        "rate, latency from the due time (rategen.py); floor = same generator, same rate, "
        "against nginx.",
        "",
        "| target | req/s median (min–max) | req/CPU-s | p50 ms | p99 ms | vs nginx req/s "
        "| vs nginx req/CPU-s | core share | p99 ms @80% of max (achieved/s; floor) "
        f"| p99 ms @{TARGET_RPS * LOAD_FRACTION:,.0f}/s | events/s to CH | all loaded |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratios(s: dict[str, Any], ref: dict[str, Any]) -> str:
        by_cpu = (
            s["req_per_cpu_s_median"] / ref["req_per_cpu_s_median"]
            if ref["req_per_cpu_s_median"]
            else 0
        )
        return f"{s['rps_median'] / ref['rps_median']:.3f} | {by_cpu:.3f}"

    for name, label, ref in (
        ("nginx_gif_log", "nginx empty_gif, log on", "gif"),
        ("nginx_gif_nolog", "nginx empty_gif, log off", "gif"),
        ("nginx_302_log", "nginx return 302, log on", "302"),
    ):
        s = ng[name]
        lines.append(
            f"| {label} | {_fmt_rps(s)} | {s['req_per_cpu_s_median']:,.0f} | "
            f"{s['p50_ms_median']} | {s['p99_ms_median']} | {ratios(s, refs[ref])} | "
            f"{s['server_core_share_min']:.2f} | – | – | – | – |"
        )
    for key, section in results["adtrack"].items():
        for endpoint, ref in (("pixel", "gif"), ("redirect", "302")):
            s = section[endpoint]
            fixed = s["at_80pct"]
            floor = s["generator_floor_nginx"]["latency_ms"].get("p99")
            loaded = (
                "yes"
                if s["nothing_lost"]
                and fixed["nothing_lost"]
                and s["at_target_80pct"]["nothing_lost"]
                else "NO"
            )
            lines.append(
                f"| adtrack {endpoint} ({key}) | {_fmt_rps(s)} | "
                f"{s['req_per_cpu_s_median']:,.0f} | {s['p50_ms_median']} | "
                f"{s['p99_ms_median']} | {ratios(s, refs[ref])} | "
                f"{s['server_core_share_min']:.2f} | {fixed['p99_ms']} "
                f"({fixed['achieved_rate']:,.0f}/s; {floor}) | "
                f"{s['at_target_80pct']['p99_ms']} | "
                f"{s['events_per_s_median']:,.0f} | {loaded} |"
            )
    lines += [
        "",
        f"Targets: ≥ {TARGET_RPS:,} req/s per core for pixel and redirect, p99 < "
        f"{TARGET_P99_MS:g} ms at 80% of that rate.",
    ]
    for key, section in results["adtrack"].items():
        verdicts = []
        for endpoint in ("pixel", "redirect"):
            s = section[endpoint]
            ok = s["rps_median"] >= TARGET_RPS and s["at_target_80pct"]["p99_ms"] < TARGET_P99_MS
            verdicts.append(f"{endpoint} {'meets' if ok else 'misses'} it")
        lifespan = "" if section["lifespan_ran"] else " — LIFESPAN DID NOT RUN"
        lines.append(f"- {key}: {', '.join(verdicts)}{lifespan}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="granian")
    parser.add_argument(
        "--fsync-ms",
        type=int,
        nargs="+",
        default=[200, 0],
        help="ADTRACK_SPOOL_FSYNC_MS values to run (default: 200 0)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, data)")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=QUIET["wait_s"],
        help="seconds to wait before each run for both cores to be idle",
    )
    args = parser.parse_args(argv)
    QUIET["wait_s"] = args.quiet_wait
    if (os.cpu_count() or 1) < 2:
        sys.exit("needs two cores: one for the server, one for the load generator")
    need("wrk")
    need("nginx")
    started = time.strftime("%Y%m%d-%H%M%S")
    results = bench(args)
    table = markdown(results, args)
    report = {
        "started": started,
        "args": vars(args),
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "nginx": Nginx.version(),
            "cpu_model": _cpu_model(),
        },
        "load_generators": {
            "max_rate": "wrk (Debian) -t1 -c64 --latency, taskset -c 1",
            "fixed_rate": "loadtest/rategen.py (asyncio/uvloop, open loop, CO-corrected): "
            "Debian has no wrk2 or oha",
        },
        **results,
        "table_md": table,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"hits-{started}.json"
    out.write_text(json.dumps(report, indent=2))
    print(table)
    print(f"\nwrote {out.relative_to(REPO)}")
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
