"""A scoring worker paired with a method host: ``run --jobs N`` for a method that predicts in its own process.

A method built from a name predicts in a host that never sees the ground truth (:mod:`mattebench.methods.host`).
In a pool of N, each of the N scoring workers (:mod:`mattebench.runs.executors.process`) gets a host of its own:
the worker loads the sample (photo, matte, trimap), sends the host the request, reads the answer and scores it,
so that loading and scoring, which at PPM-100's sizes take as long as a small network's prediction (and with the
breakdown columns several times longer), run N at a time instead of in the driver alone. The host is the same
process as in a serial run: it is started by the driver (so that the driver can stop it), from the same fork
server, and only its pipe is handed to the worker. What the host may send is read as in the driver: a JSON
header and raw array bytes (:func:`mattebench.methods.host.read_answer`), nothing unpickled.

Between the two, the worker tells the driver what became of the host: ready (with the host's own ready header,
which the driver reads as it reads a host's in a serial run), a build error (the factory's own error), gone
while building, gone while predicting, or misbehaving (a protocol error). The driver turns these into the same
errors and rows as a serial run and replaces the pair. ``--timeout`` bounds a unit of work in the pair (loading,
predicting and scoring a sample), as for every scoring worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mattebench.errors import HostProtocolError
from mattebench.methods.host import read_answer, read_header, received_said
from mattebench.scoring.scorer import Answer, Prepared

# What a worker tells the driver about its host (the first item of the message).
HOST_READY = "host_ready"  # (HOST_READY, pid, the host's ready header)
HOST_BUILD_ERROR = "host_build_error"  # (kind, the host's build_error header)
HOST_GONE_BUILDING = "host_gone_building"  # (kind,)
HOST_GONE = "host_gone"  # (kind, sample id): the host died while predicting it
HOST_MISBEHAVED = "host_misbehaved"  # (kind, sample id, why)


@dataclass
class HostLink:
    """The worker's end of its host's pipe: the same reading as the driver's :class:`~mattebench.runs.executors.
    hosts.HostPool`, for one host and one request at a time."""

    conn: Any

    # EOFError from any method here: the host's pipe closed, i.e. the host died (the driver reads how from its
    # exit code). HostProtocolError: it sent what it may not.
    def wait_ready(self) -> dict[str, Any]:
        """The host's ``ready`` or ``build_error`` header (its chatter on the way goes to this process's capture)."""
        while True:
            head = self._header()
            if head["kind"] in ("ready", "build_error"):
                return head
            if head["kind"] != "chatter":
                raise HostProtocolError(f"the method's process sent an unexpected {head['kind']!r} message")
            received_said(head)

    def ask(self, prepared: Prepared) -> Answer:
        """Send the request and read messages until its answer."""
        try:
            self.conn.send(prepared.request)
        except (BrokenPipeError, EOFError, OSError) as exc:
            raise EOFError("the method's process is gone") from exc
        while True:
            head = self._header()
            if head["kind"] == "chatter":
                received_said(head)
                continue
            if head["kind"] != "answer":
                raise HostProtocolError(f"the method's process sent an unexpected {head['kind']!r} message")
            try:
                return read_answer(self.conn, head, prepared.request)
            except (EOFError, OSError) as exc:
                raise EOFError("the method's process is gone") from exc

    def stop(self) -> None:
        """Ask the host to end (it also ends when this pipe closes)."""
        try:
            self.conn.send(None)
        except (BrokenPipeError, EOFError, OSError):
            pass
        self.conn.close()

    def _header(self) -> dict[str, Any]:
        try:
            return read_header(self.conn)
        except (EOFError, OSError) as exc:
            raise EOFError("the method's process is gone") from exc
