"""A real Celery worker for the tests that need one: a subprocess on Redis and the test database.

It runs only where the environment provides the real services, as CI does: ``REDIS_URL`` names
the broker and ``DATABASE_URL`` a PostgreSQL server (the worker has to open the test database from
another process, which SQLite's in-memory test database does not allow). Elsewhere the tests that
use it are skipped, saying what they need.

A test asks for ``celery_worker_process``. That makes the test ``transactional_db``, because the
worker sees only committed rows. It also sends the tasks the test enqueues (``.delay()``) to the
worker's own queue, so nothing else consumes them and the worker consumes nothing else. Tasks given
a queue of their own by ``CELERY_TASK_ROUTES`` would bypass that queue.
Watch for a task's effect with ``wait_for``.

Each test module gets one worker, started when a test first needs it and stopped after the
module's last test. The worker reads its settings from its environment, like a deployed one, so
the test process's ``settings`` fixture does not reach it. To give it settings, override the
module-scoped ``celery_worker_env`` fixture in the test module.

The worker shares the Redis database that ``REDIS_URL`` names. Its short visibility timeout (below)
means it would also hand out again tasks that another worker on that database has been running for
longer than that, so point ``REDIS_URL`` at a Redis that no real worker uses.
"""

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from config.celery_app import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 15
# Redis hands an unacknowledged task out again once it is this old. Here it is seconds, not an
# hour, so a test can see a killed worker's task redelivered; tasks in tests finish well within it.
VISIBILITY_TIMEOUT_SECONDS = 5
_PR_SET_PDEATHSIG = 1


def wait_for(condition, *, timeout=10.0, interval=0.05, description=None):
    """Call ``condition`` until it returns something true, and return that; fail after ``timeout``.

    Each call is a fresh look: a query made outside a transaction sees what the worker committed.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            pytest.fail(f"Gave up after {timeout}s waiting for {description or condition!r}.")
        time.sleep(interval)


def _die_with_parent():
    # Runs in the child before celery starts. If the test run is killed outright (a CI timeout),
    # its finalizers never run; a worker left behind would keep the test database open, and the
    # next run could not drop it. Linux stops the worker when its parent dies.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class LiveWorker:
    """One ``celery worker`` process (with its pool), consuming a queue of its own."""

    def __init__(self, *, queue: str, env: dict[str, str], log_path: Path):
        self.queue = queue
        self.hostname = f"{queue}@localhost"
        self.env = env
        self.log_path = log_path
        self.visibility_timeout = int(env["CELERY_REDIS_VISIBILITY_TIMEOUT"])
        self.process: subprocess.Popen | None = None
        self.killed_at: float | None = None

    def start(self):
        """Start the worker and wait until it answers a ping."""
        command = [
            sys.executable,
            "-m",
            "celery",
            "--app=config",
            "worker",
            f"--queues={self.queue}",
            f"--hostname={self.hostname}",
            "--pool=prefork",
            "--concurrency=2",
            "--loglevel=INFO",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                # Its own process group, so stopping or killing it reaches the pool processes too.
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self.killed_at = None
        wait_for(
            self._answers_ping,
            timeout=READY_TIMEOUT_SECONDS,
            description=f"the worker {self.hostname} to answer a ping",
        )

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self):
        """SIGKILL the worker and its pool at once, as a crashed machine would lose them."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.killed_at = time.monotonic()

    def start_after_visibility_timeout(self):
        """Start the worker once the killed worker's unacknowledged task may be handed out again.

        A starting worker restores messages older than the visibility timeout to their queue.
        """
        time.sleep(max(0.0, self.killed_at + self.visibility_timeout - time.monotonic()))
        self.start()

    def stop(self):
        """Stop the worker warmly (it finishes its task), or kill it if it does not stop in time."""
        if self.process is None:
            return
        if self.is_running():
            self._signal_group(signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._signal_group(signal.SIGKILL)
                self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        # Pool processes that outlived their parent still belong to the group.
        self._signal_group(signal.SIGKILL)

    def delete_queue(self):
        """Remove the worker's queue, its bindings and anything left in it from Redis."""
        with celery_app.connection_for_write() as conn:
            queue = celery_app.amqp.queues[self.queue].bind(conn.default_channel)
            # kombu deletes only the bindings this process has declared itself.
            queue.declare()
            queue.delete()

    def log_tail(self, lines=40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _answers_ping(self) -> bool:
        if self.process.poll() is not None:
            pytest.fail(
                f"The worker exited with {self.process.returncode} while starting:\n"
                f"{self.log_tail()}"
            )
        return bool(celery_app.control.ping(destination=[self.hostname], timeout=0.5))

    def _signal_group(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


def _test_database_url() -> str:
    """Return DATABASE_URL with the test database in place of the one it names."""
    url = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(url._replace(path=f"/{connection.settings_dict['NAME']}"))


@pytest.fixture(scope="module")
def celery_worker_env() -> dict[str, str]:
    """Extra environment for this module's live worker (its settings); override to add some."""
    return {}


@pytest.fixture(scope="module")
def _live_celery_worker(request, celery_worker_env, tmp_path_factory):
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: a real broker")
    if not os.environ.get("DATABASE_URL", "").startswith("postg"):
        pytest.skip("needs DATABASE_URL naming PostgreSQL: a database another process can open")
    request.getfixturevalue("django_db_setup")
    queue = f"live-tests-{uuid.uuid4().hex[:12]}"
    worker = LiveWorker(
        queue=queue,
        env={
            **os.environ,
            "DATABASE_URL": _test_database_url(),
            "CELERY_REDIS_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS),
            **celery_worker_env,
        },
        log_path=tmp_path_factory.mktemp("celery") / f"{queue}.log",
    )
    try:
        yield worker
    finally:
        worker.stop()
        worker.delete_queue()


@pytest.fixture
def celery_worker_process(_live_celery_worker, transactional_db):
    """A live worker for this test, running the tasks the test enqueues."""
    if not _live_celery_worker.is_running():
        _live_celery_worker.start()
    default_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = _live_celery_worker.queue
    try:
        yield _live_celery_worker
    finally:
        celery_app.conf.task_default_queue = default_queue
