# h2lib.py: HTTP/2 and gRPC test helpers on Debian's python3-h2 (a real HTTP/2 client stack): a client for requests and gRPC calls, a raw-frame connection for hostile peers, and a replayer of connection bytes Fluent Bit captured.
import socket
import ssl
import struct
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
GRPC_PATHS = {
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
}


def frame(ftype, flags, sid, payload=b""):
    """One HTTP/2 frame, bytes on the wire."""
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", sid) + payload


def parse_frames(buf):
    """Whole frames at the start of buf: ([(type, flags, stream, payload)], rest)."""
    out, i = [], 0
    while i + 9 <= len(buf):
        n = int.from_bytes(buf[i:i + 3], "big")
        if i + 9 + n > len(buf):
            break
        out.append((buf[i + 3], buf[i + 4], int.from_bytes(buf[i + 5:i + 9], "big") & 0x7FFFFFFF, buf[i + 9:i + 9 + n]))
        i += 9 + n
    return out, buf[i:]


def grpc_frame(msg, compressed=False):
    """A gRPC length-prefixed message."""
    return bytes([1 if compressed else 0]) + struct.pack(">I", len(msg)) + msg


def tls_context():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    return ctx


def connect(port, tls=False, timeout=10):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if tls:
        s = tls_context().wrap_socket(s, server_hostname="localhost")
    return s


class Wire:
    """A raw HTTP/2 connection: send any bytes, read the server's frames (HEADERS decoded)."""

    def __init__(self, port, tls=False, timeout=10):
        self.s = connect(port, tls, timeout)
        self.buf = b""
        self.dec = hpack.Decoder()
        self.eof = False
        self.pending = []  # frames read but not yet returned

    def send(self, data):
        self.s.sendall(data)

    def new_session(self):
        self.dec = hpack.Decoder()

    def read(self, stop=lambda f: False, timeout=5.0):
        """Frames until stop(frame) is true, the server closes, or timeout. A frame is a dict."""
        got, deadline = [], time.time() + timeout
        while True:
            frames, self.buf = parse_frames(self.buf)
            for t, fl, sid, p in frames:
                f = {"type": t, "flags": fl, "sid": sid, "payload": p}
                if t == HEADERS and fl & END_HEADERS:
                    f["headers"] = {k.decode() if isinstance(k, bytes) else k: v.decode() if isinstance(v, bytes) else v
                                    for k, v in self.dec.decode(p[5:] if fl & 0x20 else p)}
                self.pending.append(f)
            while self.pending:
                f = self.pending.pop(0)
                got.append(f)
                if stop(f):
                    return got
            if self.eof or time.time() >= deadline:
                return got
            self.s.settimeout(max(0.01, deadline - time.time()))
            try:
                d = self.s.recv(65536)
            except (socket.timeout, TimeoutError):
                return got
            except (ConnectionResetError, ssl.SSLError, OSError):
                d = b""
            if not d:
                self.eof = True
            self.buf += d

    def closed(self, timeout=3.0):
        """True when the server has closed the connection (after what it still sends)."""
        self.read(timeout=timeout)
        return self.eof

    def close(self):
        self.s.close()


class Raw(Wire):
    """A hand-driven HTTP/2 client: frames as the test writes them (hostile or after GOAWAY,
    where a well-behaved client library would refuse to send)."""

    def __init__(self, port, tls=False, timeout=10, settings=None):
        super().__init__(port, tls, timeout)
        self.enc = hpack.Encoder()
        # Windows wide open (this client reads everything): INITIAL_WINDOW_SIZE and the
        # connection's window at 2^31-1, so answers never wait for WINDOW_UPDATEs.
        if settings is None:
            settings = struct.pack(">HI", 4, 0x7FFFFFFF)
        self.send(PREFACE + frame(SETTINGS, 0, 0, settings) +
                  frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0x7FFFFFFF - 65535)))
        self.read(lambda f: f["type"] == SETTINGS and not f["flags"] & ACK)
        self.send(frame(SETTINGS, ACK, 0))

    def block(self, method, path, extra=()):
        return self.enc.encode([(":method", method), (":scheme", "http"), (":authority", "127.0.0.1"),
                                (":path", path)] + list(extra))

    def headers(self, sid, method, path, extra=(), end=False):
        self.send(frame(HEADERS, END_HEADERS | (END_STREAM if end else 0), sid, self.block(method, path, extra)))

    def data(self, sid, data, end=False):
        self.send(frame(DATA, END_STREAM if end else 0, sid, data))

    def grpc_headers(self, sid, signal, extra=()):
        self.headers(sid, "POST", GRPC_PATHS.get(signal, signal),
                     [("content-type", "application/grpc"), ("te", "trailers")] + list(extra))

    def until_end(self, sid, timeout=5.0):
        """This stream's frames until it ends (END_STREAM or RST_STREAM) or the connection does."""
        frames = self.read(lambda f: f["sid"] == sid and (f["type"] == RST_STREAM or (
            f["type"] in (HEADERS, DATA) and f["flags"] & END_STREAM)), timeout)
        return [f for f in frames if f["sid"] in (sid, 0)]


def grpc_status_of(frames):
    """(grpc-status, grpc-message) of a stream's frames (trailers or trailers-only HEADERS)."""
    for f in reversed(frames):
        if f["type"] == HEADERS and "grpc-status" in f.get("headers", {}):
            return int(f["headers"]["grpc-status"]), f["headers"].get("grpc-message")
    return None, None


class Response:
    def __init__(self):
        self.headers, self.data, self.trailers, self.reset, self.ended = {}, b"", {}, None, False

    @property
    def status(self):
        return int(self.headers.get(":status", "0"))

    def grpc_status(self):
        """(code, message) from the trailers, or from the headers of a trailers-only answer."""
        src = self.trailers if "grpc-status" in self.trailers else self.headers
        return (int(src["grpc-status"]) if "grpc-status" in src else None), src.get("grpc-message")

    def __repr__(self):
        return "Response(%r, data=%r, trailers=%r, reset=%r)" % (self.headers, self.data[:80], self.trailers, self.reset)


class Client:
    """An HTTP/2 client connection (python-h2) with any number of streams."""

    def __init__(self, port, tls=False, timeout=10, authority="127.0.0.1"):
        self.s = connect(port, tls, timeout)
        self.c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.c.initiate_connection()
        self.authority = authority
        self.streams = {}
        self.pings = []
        self.goaway = None
        self.eof = False
        self.settings_seen = False
        self.flush()

    def flush(self):
        data = self.c.data_to_send()
        if data:
            self.s.sendall(data)

    def request(self, method, path, headers=(), body=b"", end=True):
        sid = self.c.get_next_available_stream_id()
        hdrs = [(":method", method), (":scheme", "http"), (":authority", self.authority), (":path", path)] + list(headers)
        self.c.send_headers(sid, hdrs, end_stream=end and not body)
        self.streams[sid] = Response()
        if body:
            self.send_data(sid, body, end)
        self.flush()
        return sid

    def send_data(self, sid, body, end=True):
        """Send body on stream sid within the flow-control windows (pumps events meanwhile)."""
        off = 0
        while off < len(body):
            room = min(self.c.local_flow_control_window(sid), self.c.max_outbound_frame_size, len(body) - off)
            if room <= 0:
                self.pump(0.2)
                if self.streams[sid].ended or self.streams[sid].reset is not None:
                    return
                continue
            self.c.send_data(sid, body[off:off + room])
            off += room
            self.flush()
        if end:
            self.c.end_stream(sid)
            self.flush()

    def pump(self, timeout=0.5):
        """Read once (up to timeout) and process the events."""
        self.s.settimeout(timeout)
        try:
            d = self.s.recv(65536)
        except (socket.timeout, TimeoutError):
            return
        except (ConnectionResetError, ssl.SSLError, OSError):
            d = b""
        if not d:
            self.eof = True
            return
        try:
            events = self.c.receive_data(d)
        except h2.exceptions.ProtocolError:
            self.eof = True
            return
        for e in events:
            self.on_event(e)
        self.flush()

    def on_event(self, e):
        st = self.streams.get(getattr(e, "stream_id", None))
        if isinstance(e, h2.events.ResponseReceived):
            st.headers = dict(e.headers)
        elif isinstance(e, h2.events.TrailersReceived):
            st.trailers = dict(e.headers)
        elif isinstance(e, h2.events.DataReceived):
            if st is not None:
                st.data += e.data
            self.c.acknowledge_received_data(e.flow_controlled_length, e.stream_id)
        elif isinstance(e, h2.events.StreamEnded) and st is not None:
            st.ended = True
        elif isinstance(e, h2.events.StreamReset) and st is not None:
            st.reset = e.error_code
        elif isinstance(e, h2.events.PingAckReceived):
            self.pings.append(e.ping_data)
        elif isinstance(e, h2.events.ConnectionTerminated):
            self.goaway = e
        elif isinstance(e, h2.events.RemoteSettingsChanged):
            self.settings_seen = True

    def wait(self, sid, timeout=10.0):
        deadline = time.time() + timeout
        st = self.streams[sid]
        while not (st.ended or st.reset is not None or self.eof or self.goaway) and time.time() < deadline:
            self.pump(0.2)
        return st

    def get(self, path, headers=()):
        return self.wait(self.request("GET", path, headers))

    def post(self, path, body, ctype, headers=()):
        return self.wait(self.request("POST", path, [("content-type", ctype)] + list(headers), body))

    def grpc(self, signal_or_path, msg, compressed=False, encoding=None, ctype="application/grpc", raw=None):
        """A unary gRPC call; msg is the serialized request (raw: the whole body as given)."""
        path = GRPC_PATHS.get(signal_or_path, signal_or_path)
        headers = [("content-type", ctype), ("te", "trailers"), ("user-agent", "vivo-test")]
        if encoding:
            headers.append(("grpc-encoding", encoding))
        return self.wait(self.request("POST", path, headers, raw if raw is not None else grpc_frame(msg, compressed)))

    def ping(self, payload=b"vivo1234", timeout=5.0):
        self.c.ping(payload)
        self.flush()
        deadline = time.time() + timeout
        while payload not in self.pings and time.time() < deadline and not self.eof:
            self.pump(0.2)
        return payload in self.pings

    def close(self):
        try:
            self.c.close_connection()
            self.flush()
        except Exception:  # noqa: BLE001 - the connection may be gone already
            pass
        self.s.close()


def sessions_of(capture):
    """Split connection bytes Fluent Bit wrote into sessions (each begins with a preface),
    each a list of raw frames; frames are found by their lengths, so a preface is only seen
    where a frame ends."""
    out, i = [], 0
    while i < len(capture):
        if capture.startswith(PREFACE, i):
            out.append([])
            i += len(PREFACE)
            continue
        n = int.from_bytes(capture[i:i + 3], "big")
        out[-1].append(capture[i:i + 9 + n])
        i += 9 + n
    return out


def replay(port, capture, tls=False):
    """Send captured connection bytes the way Fluent Bit does: per session the preface and its
    SETTINGS, then wait for the server's SETTINGS, then the rest, then wait for stream 1 to
    end. Returns one dict per session: settings (the server sent SETTINGS), response
    headers, data, trailers, frames."""
    w = Wire(port, tls)
    results = []
    for sess in sessions_of(capture):
        w.new_session()
        w.send(PREFACE + sess[0])
        frames = w.read(lambda f: f["type"] == SETTINGS and not f["flags"] & ACK)
        r = {"settings": any(f["type"] == SETTINGS and not f["flags"] & ACK for f in frames), "headers": {},
             "data": b"", "trailers": {}, "frames": frames}
        results.append(r)
        if len(sess) == 1:
            continue  # a session Fluent Bit started but never used (the capture ended)
        w.send(b"".join(sess[1:]))
        frames = w.read(lambda f: f["sid"] == 1 and f["flags"] & END_STREAM and f["type"] in (HEADERS, DATA)
                        or f["type"] in (GOAWAY, RST_STREAM))
        r["frames"] += frames
        for f in frames:
            if f["type"] == HEADERS and f["sid"] == 1:
                if r["headers"]:
                    r["trailers"] = f["headers"]
                else:
                    r["headers"] = f["headers"]
            elif f["type"] == DATA and f["sid"] == 1:
                r["data"] += f["payload"]
    w.close()
    return results
