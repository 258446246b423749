"""Where the adtrack hit path spends its core: py-spy on a server under wrk load.

    .venv/bin/python loadtest/profile_hits.py [--endpoint pixel|redirect] [--duration 10]
        [--server uvicorn|granian] [--fsync-ms 200]

Starts a fresh server on core 0 (as bench_hits.py does), drives it with wrk on core 1, and
samples it with `py-spy record --threads --native` (py-spy runs on core 1 too, so it steals a
little from wrk, never from the server). Prints, per thread, the share of samples by
function, self and inclusive, and writes the collapsed stacks (flamegraph input) to
loadtest/results/profile-<endpoint>-<timestamp>.txt. Needs `pip install py-spy` in the venv.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_hits as bench  # noqa: E402 (a sibling script, not a package)


def py_spy() -> str:
    path = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(path).exists():
        sys.exit("py-spy not found: .venv/bin/pip install py-spy")
    return path


def analyse(collapsed: Path, top: int) -> str:
    """Self and inclusive sample shares per function, per thread, from py-spy's raw output."""
    per_thread_total: collections.Counter[str] = collections.Counter()
    self_time: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    incl_time: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0] if frames[0].startswith(("thread", "process")) else "?"
        frames = [f for f in frames if not f.startswith(("thread", "process"))]
        if thread.startswith("process"):
            thread = "?"
        per_thread_total[thread] += count
        if frames:
            self_time[thread][_short(frames[-1])] += count
        for name in {_short(f) for f in frames}:
            incl_time[thread][name] += count
    total = sum(per_thread_total.values()) or 1
    out = []
    for thread, n in per_thread_total.most_common():
        out.append(f"\n## {thread}: {100 * n / total:.1f}% of all samples")
        out.append("self%  incl%  function")
        for name, c in self_time[thread].most_common(top):
            out.append(f"{100 * c / n:5.1f}  {100 * incl_time[thread][name] / n:5.1f}  {name}")
        out.append("-- inclusive --")
        for name, c in incl_time[thread].most_common(top):
            out.append(f"{100 * self_time[thread][name] / n:5.1f}  {100 * c / n:5.1f}  {name}")
    return "\n".join(out)


def _short(frame: str) -> str:
    # "func (path/to/file.py:123)" -> "func (file.py)"; native frames pass through.
    name, _, where = frame.partition(" (")
    if not where:
        return frame
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if "app" in parts else Path(file).name
    return f"{name} ({short})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--endpoint", choices=("pixel", "redirect"), default="pixel")
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--server", choices=("uvicorn", "granian"), default="uvicorn")
    parser.add_argument("--fsync-ms", type=int, default=200)
    parser.add_argument(
        "--rate", type=float, default=0, help="constant rate (rategen.py) instead of wrk's maximum"
    )
    parser.add_argument("--native", action="store_true", help="sample native frames too")
    parser.add_argument(
        "--no-loader",
        action="store_true",
        help="ADTRACK_LOADER_IN_PROCESS=false: the request path alone",
    )
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    spy = py_spy()
    tmp = Path(tempfile.mkdtemp(prefix="adtrack-profile-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    collapsed = bench.RESULTS / f"profile-{args.endpoint}-{args.server}-{stamp}.txt"
    extra = {"ADTRACK_LOADER_IN_PROCESS": "false"} if args.no_loader else {}
    app = bench.Adtrack(tmp, args.server, args.fsync_ms, extra_env=extra).start()
    try:
        url = app.pixel_url() if args.endpoint == "pixel" else app.redirect_url()
        pid = app.proc.pid  # taskset exec()s the server: same pid
        if args.server == "granian":
            # The app runs in granian's worker process, a child of the one we started.
            children = subprocess.run(
                ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
            ).stdout.split()
            pid = int(children[0]) if children else pid
        cmd = [
            "taskset",
            "-c",
            bench.CLIENT_CORE,
            spy,
            "record",
            "--pid",
            str(pid),
            "--threads",
            "--format",
            "raw",
            "--rate",
            "250",
            "--nonblocking",
            "--duration",
            str(args.duration),
            "-o",
            str(collapsed),
        ]
        if args.native:
            cmd.append("--native")
        spy_proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)
        result: dict = {}

        def load() -> None:
            if args.rate:
                result.update(bench.run_rategen(url, args.rate, args.duration, pid))
            else:
                result.update(bench.run_wrk(url, args.duration, pid))

        runner = threading.Thread(target=load)
        runner.start()
        runner.join()
        _, err = spy_proc.communicate(timeout=60)
        if spy_proc.returncode != 0:
            print(err.decode(errors="replace"), file=sys.stderr)
        counts = app.counts() if args.no_loader else app.wait_drained()
    finally:
        app.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.rate:
        print(
            f"load: rategen {args.rate:.0f}/s achieved {result.get('achieved_rate')} "
            f"p99 {result.get('latency_ms', {}).get('p99')} ms"
        )
    else:
        print(
            f"load: wrk {result.get('rps', 0):.0f} req/s, p99 {result.get('p99_ms')} ms, "
            f"{result.get('req_per_cpu_s', 0):.0f} req/CPU-s, cpu {result.get('cpu')}"
        )
    print(f"after drain: {counts}")
    print(analyse(collapsed, args.top))
    print(f"\ncollapsed stacks: {collapsed.relative_to(bench.REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
