"""Run the digits Flower App in Flower's deployment engine, every party its own process
on localhost: a SuperLink, one SuperNode per client (each runs the honest ClientApp on
its own partition of the digits), and the malicious ServerApp submitted with
``flwr run``. Prints the report (rounds, wall time, recall per client).

    python examples/flower_digits/deployment.py [--clients 1] [--samples 200]
        [--queries-per-round 1]

Flower 1.41's SuperNode talks to the SuperLink over HTTP (the Fleet API left gRPC in
this release), without TLS here. Logs go to ``--logs`` (a temporary directory unless
given).
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

APP = Path(__file__).parent


def wait_for_port(port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


def start(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--queries-per-round", type=int, default=1)
    parser.add_argument("--port", type=int, default=18000, help="the SuperLink's port")
    parser.add_argument("--logs", type=Path, default=None)
    parser.add_argument("--timeout", type=float, default=48 * 3600, help="seconds")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))

    logs = args.logs or Path(tempfile.mkdtemp(prefix="flower-digits-"))
    logs.mkdir(parents=True, exist_ok=True)
    home = logs / "flwr-home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_text(
        '[superlink]\ndefault = "lossrecon-local"\n\n'
        f'[superlink.lossrecon-local]\naddress = "127.0.0.1:{args.port}"\ninsecure = true\n'
    )
    env = {**os.environ, "FLWR_HOME": str(home)}
    report = logs / "report.json"
    report.unlink(missing_ok=True)
    link = f"127.0.0.1:{args.port}"
    processes = [
        start(
            [
                "flower-superlink",
                "--insecure",
                "--disable-runtime-dependency-installation",
                "--port",
                str(args.port),
            ],
            logs / "superlink.log",
            env,
        )
    ]
    try:
        wait_for_port(args.port, 60)
        for client in range(args.clients):
            processes.append(
                start(
                    [
                        "flower-supernode",
                        "--insecure",
                        "--superlink",
                        link,
                        "--port",
                        str(args.port + 1 + client),
                        "--node-config",
                        f"partition-id={client} num-partitions={args.clients}",
                    ],
                    logs / f"supernode-{client}.log",
                    env,
                )
            )
        started = time.perf_counter()
        subprocess.run(
            [
                "flwr",
                "run",
                str(APP),
                "lossrecon-local",
                "--run-config",
                f"clients={args.clients} samples={args.samples} "
                f'queries-per-round={args.queries_per_round} report="{report}"',
            ],
            env=env,
            check=True,
        )
        while not report.exists():
            dead = [p.args[0] for p in processes if p.poll() is not None]
            if dead:
                raise RuntimeError(f"{dead} exited; see the logs in {logs}")
            if time.perf_counter() - started > args.timeout:
                raise RuntimeError(f"no report after {args.timeout} s; see the logs in {logs}")
            time.sleep(2)
        result = json.loads(report.read_text())
        if "error" in result:
            raise RuntimeError(f"the ServerApp failed: {result['error']}; logs in {logs}")
        result["wall_seconds_with_startup"] = time.perf_counter() - started
        print(json.dumps(result, indent=2))
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
