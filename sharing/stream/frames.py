"""An event's websocket frame built once and written straight to each connection's socket.

Why: the fan-out's cost is the send, once per connection (issue 4). Through ASGI every send is
a coroutine of uvicorn's that waits on its flow-control event, encodes the text to UTF-8 again
and has websockets build the frame anew, for each of thousands of connections, although the
bytes on the wire are the same for all of them (server frames are not masked). Here the hub
builds the frame once per audience group and writes it to each socket. Measured with
bench.stream (2 cores): 5,000 subscribers went from 1.4-1.5x the bare `websockets` broadcast to
1.1-1.25x; the hub's loop over 1,000 connections from 18-21 ms to 11-17 ms, about 70% of it now
in the write itself (py-spy), where the kernel hands each frame to its reader.

The shortcut is taken only where it writes exactly what the ASGI send would:
- the connection is served by uvicorn's sans-I/O websockets protocol (`manage.py serve` asks for
  it by name) and negotiated no extension (a compressed connection's frames differ per
  connection; `serve` turns compression off, a client cannot turn it on);
- at each write, the connection is open, has not sent its close, and its socket is not paused
  for writing (uvicorn's flow control: the ASGI send would wait, so the subscriber falls back to
  it and its outbox keeps the order).
Anything else (another ASGI server, a uvicorn that renamed what this reads) gets no writer and
goes through ASGI as before; tests/stream/test_frames.py fails if the pinned uvicorn no
longer gives one, so an upgrade cannot silently drop back to the slow path.
"""

from websockets.frames import Frame, Opcode
from websockets.protocol import State

try:
    from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
except ImportError:  # pragma: no cover - uvicorn is a pinned dependency
    WebSocketsSansIOProtocol = None


def text_frame(text: str) -> bytes:
    """One unmasked, unfragmented text frame, as a server sends it (websockets builds it)."""
    return Frame(Opcode.TEXT, text.encode()).serialize(mask=False, extensions=[])


class FrameWriter:
    """Writes ready frames to one uvicorn websocket connection, when that is what ASGI would do."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol):
        self._protocol = protocol

    def __call__(self, frame: bytes) -> bool:
        """True when the frame was written; False: use the ASGI send (it waits or reports)."""
        protocol = self._protocol
        if (protocol.close_sent or protocol.disconnected or not protocol.writable.is_set()
                or protocol.conn.state is not State.OPEN):
            return False
        protocol.transport.write(frame)
        return True


def frame_writer(send) -> FrameWriter | None:
    """A writer for the connection behind an ASGI `send`, or None where only ASGI will do."""
    protocol = getattr(send, "__self__", None)
    if WebSocketsSansIOProtocol is None or type(protocol) is not WebSocketsSansIOProtocol:
        return None
    if protocol.conn.extensions or getattr(protocol, "transport", None) is None:
        return None
    return FrameWriter(protocol)
