"""A private PgBouncer in transaction pooling mode in front of the test PostgreSQL server.

Each ``PgBouncer`` writes its own config and auth file into a fresh directory, listens on a free
loopback port (never the package's 6432) and forwards every database name to the same name on the
PostgreSQL server, so throwaway databases work through it unchanged. Debian's ``pgbouncer`` refuses
to run as root, so under root it drops to the ``postgres`` user (``-u``).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Final

from sqlalchemy.engine import URL, make_url

PGBOUNCER: Final = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
START_TIMEOUT_S: Final = 15.0

#: The PgBouncer test URLs handed out, mapped to the server URLs they front (see ``direct_url``).
_FRONTED: dict[str, URL] = {}


def pgbouncer_problem() -> str | None:
    """Why no PgBouncer can be started here, or ``None``."""
    if not os.path.exists(PGBOUNCER):
        return "pgbouncer is not installed (apt-get install pgbouncer; .ci/run does)"
    return None


def pgbouncer_version() -> tuple[int, ...]:
    """The installed PgBouncer's version, e.g. ``(1, 18, 0)``."""
    output = subprocess.run(
        [PGBOUNCER, "--version"], capture_output=True, text=True, check=True, timeout=10
    ).stdout
    first = output.split()[1]  # "PgBouncer 1.18.0"
    return tuple(int(part) for part in first.split(".") if part.isdigit())


def direct_url(url: URL) -> URL:
    """The PostgreSQL URL behind a PgBouncer test URL (any other URL unchanged)."""
    return _FRONTED.get(url.render_as_string(hide_password=False), url)


class PgBouncer:
    """One PgBouncer process: ``start()``, ``url_for(server_url)``, ``stop()`` (or ``with``)."""

    def __init__(
        self,
        server_host: str = "127.0.0.1",
        server_port: int = 5432,
        *,
        password: str | None = None,
    ) -> None:
        """``password``: PgBouncer itself checks it for the user ``postgres`` (md5), as a deployed
        one does; without it, it trusts every client."""
        self.server = (server_host, server_port)
        self.password = password
        self.port = 0
        self.directory: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> PgBouncer:
        """Write the config, start the process and wait until it accepts connections."""
        self.directory = Path(tempfile.mkdtemp(prefix="zts-pgbouncer-"))
        run_as = _unprivileged_user()
        self.port = _free_port()
        config = self.directory / "pgbouncer.ini"
        users = self.directory / "userlist.txt"
        users.write_text(f'"postgres" "{self.password or ""}"\n')
        config.write_text(
            "[databases]\n"
            f"* = host={self.server[0]} port={self.server[1]}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.port}\n"
            "unix_socket_dir =\n"
            f"auth_type = {'trust' if self.password is None else 'md5'}\n"
            f"auth_file = {users}\n"
            "pool_mode = transaction\n"
            "max_client_conn = 500\n"
            "default_pool_size = 20\n"
            "server_login_retry = 1\n"
            f"logfile = {self.directory / 'pgbouncer.log'}\n"
            f"pidfile = {self.directory / 'pgbouncer.pid'}\n"
        )
        command = [PGBOUNCER, str(config)]
        if run_as is not None:
            uid, gid = run_as
            os.chmod(self.directory, 0o755)
            for path in (config, users):
                os.chmod(path, 0o644)
            os.chown(self.directory, uid, gid)
            command = [PGBOUNCER, "-u", pwd.getpwuid(uid).pw_name, str(config)]
        self._process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        self._wait_until_listening()
        return self

    def url_for(self, server_url: URL) -> URL:
        """The same database as ``server_url``, reached through this PgBouncer."""
        fronted = server_url.set(host="127.0.0.1", port=self.port)
        _FRONTED[fronted.render_as_string(hide_password=False)] = server_url
        return fronted

    def log(self) -> str:
        """PgBouncer's own log so far (for failure messages)."""
        if self.directory is None:
            return ""
        path = self.directory / "pgbouncer.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        """Stop the process (ours alone) and remove its directory."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._process = None
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                stderr = self._process.stderr.read().decode(errors="replace")  # type: ignore[union-attr]
                raise RuntimeError(f"pgbouncer exited at start: {stderr}\n{self.log()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1),
            ):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"pgbouncer did not listen within {START_TIMEOUT_S} s")


def pgbouncer_url(server_url: str | URL, bouncer: PgBouncer) -> URL:
    """Convenience: ``bouncer.url_for`` for a URL given as text."""
    return bouncer.url_for(make_url(server_url))


def _unprivileged_user() -> tuple[int, int] | None:
    """PgBouncer will not run as root: the ``postgres`` user's ids when we are root, else ``None``."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam("postgres")
    except KeyError:
        entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
