"""A real Flower federation on 127.0.0.1 for end-to-end tests: SuperLink, SuperNodes, flwr CLI.

Every process is started in its own session and stopped with its whole tree (Flower starts
SuperExec helpers in sessions of their own, so killing the group alone would leave them).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil

from fedrec.deploy.certs import Certificates

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CONNECTION = "edge"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Federation:
    """Processes of one test federation, all stopped by :meth:`close`."""

    def __init__(self, root: Path, certs: Certificates) -> None:
        self.root, self.certs = root, certs
        self.port = free_port()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}  # the latest process per name
        self.started: list[subprocess.Popen[bytes]] = []
        self.cli_home = root / "cli-home"
        self.cli_home.mkdir(parents=True)
        (self.cli_home / "config.toml").write_text(
            f'[superlink]\ndefault = "{CONNECTION}"\n\n[superlink.{CONNECTION}]\n'
            f'address = "127.0.0.1:{self.port}"\nroot-certificates = "{certs.ca_cert}"\n',
            encoding="utf-8",
        )

    def env(self, home: Path) -> dict[str, str]:
        """Environment of a Flower process with its own ``FLWR_HOME``."""
        home.mkdir(parents=True, exist_ok=True)
        return {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO),
            "FLWR_HOME": str(home),
            "FLWR_DISABLE_RUNTIME_DEPENDENCY_INSTALLATION": "1",
        }

    def start_superlink(self, timeout: float = 60) -> None:
        """Start a SuperLink with TLS and SuperNode authentication; wait for its port."""
        c = self.certs
        self.start(
            "superlink",
            [
                str(BIN / "flower-superlink"),
                *("--ssl-ca-certfile", str(c.ca_cert), "--ssl-certfile", str(c.server_cert)),
                *("--ssl-keyfile", str(c.server_key), "--enable-supernode-auth"),
                *("--port", str(self.port), "--database", str(self.root / "link.db")),
            ],
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            self.check_alive("superlink")
            time.sleep(0.2)
        raise TimeoutError(f"the SuperLink did not open port {self.port} in {timeout} s")

    def flwr(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run the ``flwr`` CLI against this federation's connection."""
        return subprocess.run(
            [str(BIN / "flwr"), *args],
            cwd=REPO,
            env=self.env(self.cli_home),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start_supernode(self, name: str, key: Path, node_config: str, *extra: str) -> None:
        """Start a SuperNode authenticating with ``key`` over TLS."""
        self.start(
            name,
            [
                str(BIN / "flower-supernode"),
                *("--superlink", f"127.0.0.1:{self.port}"),
                *("--root-certificates", str(self.certs.ca_cert)),
                *("--auth-supernode-private-key", str(key)),
                *("--port", str(free_port()), "--node-config", node_config, *extra),
            ],
            home=self.root / f"home-{name}",
        )

    def restart_supernode(
        self, name: str, key: Path, node_config: str, timeout: float = 120
    ) -> float:
        """Start a SuperNode again until the SuperLink lets it in; return the seconds it took.

        A SuperNode that stopped without saying goodbye stays "online" on the SuperLink until
        two 30 s heartbeats are missed (Flower's fixed constants), and until then the SuperLink
        refuses to activate it again: a device's supervisor has to retry, as this does.
        """
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            offset = len(self.log(name)) if (self.root / f"{name}.log").exists() else 0
            self.start_supernode(name, key, node_config)
            while self.procs[name].poll() is None:
                if "SuperNode ID:" in self.log(name)[offset:]:
                    return time.monotonic() - start
                time.sleep(0.5)
            time.sleep(3)
        raise TimeoutError(f"{name} was not let back in within {timeout} s")

    def check_alive(self, name: str) -> None:
        """Fail with the process's log if it has exited."""
        if self.procs[name].poll() is not None:
            raise RuntimeError(f"{name} exited early:\n{self.log(name)[-3000:]}")

    def log(self, name: str) -> str:
        """Return what process ``name`` has logged so far."""
        return (self.root / f"{name}.log").read_text(encoding="utf-8", errors="replace")

    def stop(self, name: str, sig: signal.Signals, timeout: float = 30) -> int:
        """Send ``sig`` to a process's tree and wait for it; return its exit code."""
        _signal_tree(self.procs[name].pid, sig)
        return self.procs[name].wait(timeout=timeout)

    def start(self, name: str, args: list[str], home: Path | None = None) -> None:
        """Start ``args`` as process ``name``, logging to ``<root>/<name>.log``."""
        log = (self.root / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args,
            cwd=REPO,
            env=self.env(home or self.root / f"home-{name}"),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        self.started.append(proc)

    def close(self) -> None:
        """Kill every process this federation started, and their descendants.

        Flower's SuperExec helpers run in sessions of their own and outlive a SuperNode that
        failed to start; they name their parent (``--parent-pid``), so they are found by it.
        """
        ours = {proc.pid for proc in self.started}
        for proc in self.started:
            _signal_tree(proc.pid, signal.SIGKILL)
        for proc in psutil.process_iter(["pid", "cmdline"]):
            args = proc.info["cmdline"] or []
            if "--parent-pid" in args[:-1]:
                parent = args[args.index("--parent-pid") + 1]
                if parent.isdigit() and int(parent) in ours:
                    _signal_tree(proc.info["pid"], signal.SIGKILL)
        for proc in self.started:
            proc.wait(timeout=30)


def _signal_tree(pid: int, sig: signal.Signals) -> None:
    try:
        tree = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for proc in tree:
        try:
            proc.send_signal(sig)
        except psutil.NoSuchProcess:
            continue
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)
