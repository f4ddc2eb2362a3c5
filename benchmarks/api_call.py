"""The cost of an API call with a stored token, side by side with a bare httpx.post script.

Against the demo app on loopback, after one sign-in (the scripted user agent approves
``read write`` for the wiki's API), this times, interleaved round-robin:

- ``python -c "import httpx"``                      (the floor of any httpx tool)
- a bare ``httpx.post(URL, json=..., headers={"Authorization": "Bearer <token>"})`` script,
  with the very token agentfetch stored (``agentfetch auth token``)
- ``agentfetch URL --json-body ...``                (the same POST: token found in the store,
  sent, the JSON answer pretty-printed)

and, in one process, ``Fetcher.request("POST", ...)`` against ``httpx.Client.post`` with the
same token (the SDK's own overhead, without interpreter start-up). Target: the CLI call within
1.2x the bare script (issue 11).

    python benchmarks/api_call.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET = 1.2
BODY = {"title": "Benchmark page", "markdown": "x" * 200}


def _time(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    return time.perf_counter() - started


def _in_process(url: str, token: str, rounds: int) -> tuple[float, float]:
    import httpx

    from agentfetch import Fetcher

    with httpx.Client() as client, Fetcher(consent="deny") as fetcher:
        for _ in range(3):  # warm connections and imports
            client.post(url, json=BODY, headers={"Authorization": f"Bearer {token}"})
            fetcher.request("POST", url, json=BODY)
        bare, ours = [], []
        for _ in range(rounds * 10):
            started = time.perf_counter()
            client.post(url, json=BODY, headers={"Authorization": f"Bearer {token}"}).json()
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = fetcher.request("POST", url, json=BODY)
            ours.append(time.perf_counter() - started)
            assert answer.status == 201, answer.status
    return statistics.median(bare), statistics.median(ours)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    home = tempfile.mkdtemp(prefix="agentfetch-bench-")
    os.environ.update(AGENTFETCH_HOME=home, AGENTFETCH_STORE="file")
    env = dict(os.environ)
    env.pop("AGENTFETCH_DEBUG", None)

    from agentfetch.demo import DemoConfig, DemoServer
    from agentfetch.demo.useragent import browser_command

    # The console script beside this interpreter (a pyenv shim on PATH would add its own start-up,
    # and could run another checkout); else the module.
    script = Path(sys.executable).with_name("agentfetch")
    agentfetch = [str(script)] if script.exists() else [sys.executable, "-m", "agentfetch"]
    try:
        with DemoServer(DemoConfig(token_lifetime=3600)) as server:
            url = server.origin + "/api/pages"
            login = subprocess.run(
                [*agentfetch, "auth", "login", url, "--scope", "read", "--scope", "write", "--consent", "allow"],
                env=env | {"BROWSER": browser_command(username="alice", background=True)},
                capture_output=True, text=True, timeout=120,
            )
            if login.returncode != 0:
                print(f"sign-in failed: {login.stderr.strip()}")
                return 1
            token = subprocess.run([*agentfetch, "auth", "token", url], env=env, capture_output=True, text=True,
                                   check=True).stdout.strip()
            body = json.dumps(BODY)
            bare_script = (f"import httpx; print(httpx.post({url!r}, json={BODY!r}, "
                           f"headers={{'Authorization': 'Bearer ' + {token!r}}}).text)")
            commands = {
                "import httpx": [sys.executable, "-c", "import httpx"],
                "bare httpx.post script (same token)": [sys.executable, "-c", bare_script],
                "agentfetch URL --json-body (stored token)": [*agentfetch, url, "--json-body", body],
            }
            for argv in commands.values():  # warm the page cache and .pyc files
                _time(argv, env)
            samples: dict[str, list[float]] = {name: [] for name in commands}
            for _ in range(args.rounds):
                for name, argv in commands.items():
                    samples[name].append(_time(argv, env))
            in_bare, in_ours = _in_process(url, token, args.rounds)
            writes = sum(1 for e in server.audit if e.get("event") == "page.created" and e.get("user") == "alice")
    finally:
        shutil.rmtree(home, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in samples.items()}
    floor, bare = medians["import httpx"], medians["bare httpx.post script (same token)"]
    print(f"{'command':44} {'median ms':>10} {'x import httpx':>15} {'x bare script':>14}")
    for name, median in medians.items():
        print(f"{name:44} {median * 1000:10.1f} {median / floor:15.2f} {median / bare:14.2f}")
    print(f"\nin one process: httpx.Client.post {in_bare * 1000:.2f} ms, Fetcher.request {in_ours * 1000:.2f} ms "
          f"({in_ours / in_bare:.2f}x); {writes} pages written as alice")
    ratio = medians["agentfetch URL --json-body (stored token)"] / bare
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"{verdict}: a cached API call is {ratio:.2f}x the bare httpx.post script (target <= {TARGET}x)")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
