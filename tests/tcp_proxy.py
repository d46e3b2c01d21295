"""A tiny TCP proxy on 127.0.0.1 that a test can stop and restart, to simulate a database outage.

``stop()`` closes the listener and every forwarded connection, so clients see their connections drop
and new connections refused, exactly as when a server goes away; ``start()`` listens again on the
same port. Setting ``silent`` swallows every byte without closing anything, like a link that went
dead without a reset. One background thread per running proxy forwards bytes with ``selectors``.

It also counts network round trips: ``round_trips`` grows by one each time a client sends after
having last heard from the server (or sends first), which is one request/response exchange for the
synchronous drivers the store uses. ``drop_connections()`` ends every forwarded connection but
keeps listening, as a server restart or a killed connection does to a pool; ``cut_before`` /
``cut_after`` drop a connection when the client sends bytes containing a marker (``b"COMMIT"``),
before forwarding them, or after (the server's reply to them is swallowed and the connection
dropped), so the client cannot know whether its commit happened.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
from types import TracebackType

_CHUNK = 65536
_JOIN_TIMEOUT_S = 5.0


class TcpProxy:
    """Forwards connections from ``127.0.0.1:port`` (ephemeral unless given) to ``target``."""

    def __init__(self, target_host: str, target_port: int, port: int = 0) -> None:
        self.target = (target_host, target_port)
        self.port = port
        self._thread: threading.Thread | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self.accepted = 0
        self.silent = threading.Event()
        self.round_trips = 0
        self.cut_before: bytes | None = None
        self.cut_after: bytes | None = None
        self.cuts = 0
        self._clients: set[socket.socket] = set()
        self._client_spoke_last: dict[socket.socket, bool] = {}
        self._cut_on_reply: set[socket.socket] = set()

    def start(self) -> TcpProxy:
        """Listen (again) on ``self.port`` and forward in a background thread."""
        assert self._thread is None, "already running"
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._serve, args=(listener, self._wake_r), name="tcp-proxy", daemon=True
        )
        self._thread.start()
        return self

    def drop_connections(self) -> None:
        """End every forwarded connection (RST), keep listening; returns once they are closed."""
        assert self._wake_w is not None and self._thread is not None, "not running"
        self._dropped = threading.Event()
        self._wake_w.send(b"d")
        assert self._dropped.wait(_JOIN_TIMEOUT_S), "the proxy did not drop its connections"

    def stop(self) -> None:
        """Close the listener and every connection, then wait for the thread to finish."""
        if self._thread is None:
            return
        assert self._wake_w is not None
        self._wake_w.send(b"x")
        self._thread.join(_JOIN_TIMEOUT_S)
        assert not self._thread.is_alive(), "the proxy thread did not stop"
        self._wake_w.close()
        self._thread = None

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _serve(self, listener: socket.socket, wake: socket.socket) -> None:
        selector = selectors.DefaultSelector()
        selector.register(listener, selectors.EVENT_READ, "accept")
        selector.register(wake, selectors.EVENT_READ, "stop")
        peers: dict[socket.socket, socket.socket] = {}
        try:
            while True:
                for key, _ in selector.select():
                    sock = key.fileobj
                    assert isinstance(sock, socket.socket)
                    if key.data == "stop":
                        if wake.recv(1) == b"d":
                            for end in list(peers):
                                peers.pop(end, None)
                                self._forget(end)
                                _close(end, selector)
                            self._dropped.set()
                            continue
                        return
                    if key.data == "accept":
                        self._accept(listener, selector, peers)
                    elif sock in peers:  # not dropped by an earlier event of this batch
                        self._forward(sock, selector, peers)
        finally:
            for sock in [listener, wake, *peers]:
                _close(sock, selector)
            selector.close()

    def _accept(
        self,
        listener: socket.socket,
        selector: selectors.BaseSelector,
        peers: dict[socket.socket, socket.socket],
    ) -> None:
        client, _ = listener.accept()
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        self.accepted += 1
        self._clients.add(client)
        self._client_spoke_last[client] = False
        for sock in (client, upstream):
            sock.setblocking(False)
            selector.register(sock, selectors.EVENT_READ, "data")
        peers[client], peers[upstream] = upstream, client

    def _forward(
        self,
        sock: socket.socket,
        selector: selectors.BaseSelector,
        peers: dict[socket.socket, socket.socket],
    ) -> None:
        other = peers[sock]
        try:
            data = sock.recv(_CHUNK)
            if data and self.silent.is_set():
                return  # swallowed: neither side hears from the other, nothing is closed
            if data:
                from_client = sock in self._clients
                client = sock if from_client else other
                if from_client and not self._client_spoke_last.get(client, False):
                    self.round_trips += 1
                self._client_spoke_last[client] = from_client
                cut = self._cut(data) if from_client else None
                if not from_client and client in self._cut_on_reply:
                    cut = "reply"  # the server answered what it was sent: the client never hears
                if cut == "after":
                    self._cut_on_reply.add(client)
                if cut in (None, "after"):
                    other.setblocking(True)  # simple back-pressure: the tests move little data
                    other.sendall(data)
                    other.setblocking(False)
                    return
                self.cuts += 1
        except OSError:
            pass
        for end in (sock, other):  # one side closed or failed (or was cut): drop the pair
            peers.pop(end, None)
            self._forget(end)
            _close(end, selector)

    def _cut(self, data: bytes) -> str | None:
        """Whether these client bytes end the connection: "before" or "after" forwarding them."""
        if self.cut_before is not None and self.cut_before in data:
            self.cut_before = None
            return "before"
        if self.cut_after is not None and self.cut_after in data:
            self.cut_after = None
            return "after"
        return None

    def _forget(self, sock: socket.socket) -> None:
        self._clients.discard(sock)
        self._client_spoke_last.pop(sock, None)
        self._cut_on_reply.discard(sock)


def _close(sock: socket.socket, selector: selectors.BaseSelector) -> None:
    with contextlib.suppress(KeyError, ValueError):
        selector.unregister(sock)
    with contextlib.suppress(OSError):
        # RST rather than FIN, like a vanished server, so the client cannot half-read a reply.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
