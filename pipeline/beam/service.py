"""A local Beam job service and worker pool: the portable runner's submission path, on 127.0.0.1.

``--beam-config portable`` submits every Beam stage of the pipeline the way a Flink or Spark
cluster receives it: the SDK translates the pipeline to a portable Runner API proto, sends it to
a job service (here Beam's Python ``local_job_service_main``; on a cluster the Flink/Spark job
server) over gRPC, and the job's SDK harnesses run in an external worker pool
(``worker_pool_main``; on a cluster a sidecar of each TaskManager/executor). What DirectRunner
hides -- pickling of every DoFn, artifact staging, workers in other processes that import the
code themselves -- happens here for real.

``start`` launches both servers as child processes in their own session, writes their PIDs and
ports to ``STATE_DIR/beam_service.json`` and waits until both accept connections; ``stop``
ends exactly those PIDs (SIGTERM, then SIGKILL after a grace period) after checking that each
PID still runs the command it was started with.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import Dict, List, Optional

STATE_FILE = "beam_service.json"
HOST = "127.0.0.1"
JOB_SERVICE_MODULE = "apache_beam.runners.portability.local_job_service_main"
WORKER_POOL_MODULE = "apache_beam.runners.worker.worker_pool_main"
DEFAULT_JOB_PORT = 8099       # the ports pipeline/beam/portable.json names
DEFAULT_WORKER_PORT = 50000


@dataclasses.dataclass
class Server:
    """One started server: its PID, port, log file and the command line it runs."""
    name: str
    pid: int
    port: int
    log: str
    argv: List[str]

    @property
    def address(self) -> str:
        return f"{HOST}:{self.port}"


@dataclasses.dataclass
class ServiceState:
    """The job service and worker pool of one state directory."""
    job_service: Server
    worker_pool: Server

    def beam_args(self) -> List[str]:
        """Pipeline options that submit to this job service with this worker pool."""
        return portable_args(self.job_service.address, self.worker_pool.address)


def portable_args(job_endpoint: str, worker_pool: str) -> List[str]:
    """Beam options of the portable runner with an external (already running) worker pool."""
    return ["--runner=PortableRunner", f"--job_endpoint={job_endpoint}",
            "--environment_type=EXTERNAL", f"--environment_config={worker_pool}"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


def _alive(server: Server) -> bool:
    """Whether ``server.pid`` still runs the server's own command (not a reused PID)."""
    try:
        with open(f"/proc/{server.pid}/cmdline", "rb") as fh:
            argv = [a.decode() for a in fh.read().split(b"\0") if a]
    except OSError:
        return False
    return argv[1:] == server.argv[1:]


def read_state(state_dir: str) -> Optional[ServiceState]:
    """The servers recorded in ``state_dir`` (None when nothing was started there)."""
    path = os.path.join(state_dir, STATE_FILE)
    if not os.path.exists(path):
        return None
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    return ServiceState(Server(**data["job_service"]), Server(**data["worker_pool"]))


def status(state_dir: str) -> Dict[str, bool]:
    """{"job_service": alive?, "worker_pool": alive?} of the servers recorded in ``state_dir``."""
    state = read_state(state_dir)
    if state is None:
        return {"job_service": False, "worker_pool": False}
    return {"job_service": _alive(state.job_service), "worker_pool": _alive(state.worker_pool)}


def _launch(name: str, argv: List[str], port: int, state_dir: str) -> Server:
    log = os.path.join(state_dir, f"{name}.log")
    # The worker pool starts each SDK harness as `python -c ...`: this interpreter's folder
    # goes first on PATH so the harnesses import this environment's Beam, TFX and LT4REC.
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(sys.executable),
                                                 os.environ.get("PATH", "")]))
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                cwd=state_dir, env=env)
    return Server(name, proc.pid, port, log, argv)


def _wait_listening(servers: List[Server], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for server in servers:
        while not _listening(server.port):
            if not _alive(server):
                raise RuntimeError(f"Beam {server.name} (pid {server.pid}) exited before "
                                   f"listening on {server.address}; see {server.log}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"Beam {server.name} (pid {server.pid}) not listening on "
                                   f"{server.address} after {timeout_s:.0f} s; see {server.log}")
            time.sleep(0.2)


def start(state_dir: str, job_port: int = DEFAULT_JOB_PORT,
          worker_port: int = DEFAULT_WORKER_PORT, timeout_s: float = 120.0) -> ServiceState:
    """Starts a job service and a worker pool on 127.0.0.1; returns once both listen.

    Args:
      state_dir: where the PIDs, ports, logs and staged artifacts go (created if missing).
      job_port, worker_port: ports to serve on; 0 picks a free one.
      timeout_s: how long to wait for both to listen.

    Raises:
      RuntimeError: servers of ``state_dir`` already run, a port is taken, or a server
        exited early (its log is named).
      TimeoutError: a server did not listen within ``timeout_s``.
    """
    os.makedirs(state_dir, exist_ok=True)
    state_dir = os.path.abspath(state_dir)
    if any(status(state_dir).values()):
        running = read_state(state_dir)
        raise RuntimeError(
            f"Beam servers of {state_dir} already run: job service pid "
            f"{running.job_service.pid} on {running.job_service.address}, worker pool pid "
            f"{running.worker_pool.pid} on {running.worker_pool.address}; stop them first "
            f"(lt4rec beam down --state-dir {state_dir})")
    job_port, worker_port = job_port or free_port(), worker_port or free_port()
    for port in (job_port, worker_port):
        if _listening(port):
            raise RuntimeError(f"port {HOST}:{port} is already in use; choose another "
                               f"(0 picks a free one)")
    staging = os.path.join(state_dir, "staging")
    job = _launch("job_service", [sys.executable, "-m", JOB_SERVICE_MODULE,
                                  f"--port={job_port}", f"--staging_dir={staging}"],
                  job_port, state_dir)
    pool = _launch("worker_pool", [sys.executable, "-m", WORKER_POOL_MODULE,
                                   f"--service_port={worker_port}"], worker_port, state_dir)
    state = ServiceState(job, pool)
    with open(os.path.join(state_dir, STATE_FILE), "w", encoding="utf-8") as fh:
        json.dump(dataclasses.asdict(state), fh, indent=2)
    try:
        _wait_listening([job, pool], timeout_s)
    except Exception:
        stop(state_dir)
        raise
    return state


def _terminate(server: Server, grace_s: float) -> None:
    if not _alive(server):
        return
    os.killpg(server.pid, signal.SIGTERM)  # its own session: the SDK workers it forked too
    deadline = time.monotonic() + grace_s
    while _alive(server) and time.monotonic() < deadline:
        _reap(server.pid)
        time.sleep(0.1)
    if _alive(server):
        os.killpg(server.pid, signal.SIGKILL)
    _reap(server.pid)


def _reap(pid: int) -> None:
    """Collects ``pid``'s exit status if it is our child (so it does not linger as a zombie)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def stop(state_dir: str, grace_s: float = 10.0) -> bool:
    """Stops the servers recorded in ``state_dir`` (only those PIDs); False if none were there."""
    state = read_state(state_dir)
    if state is None:
        return False
    for server in (state.job_service, state.worker_pool):
        _terminate(server, grace_s)
    os.remove(os.path.join(state_dir, STATE_FILE))
    return True
