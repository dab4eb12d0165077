#!/usr/bin/python3
# grpc_seeds.py: writes the seed corpus of fuzz_grpc (tests/fuzz/corpus/grpc/): every gRPC message Fluent Bit 5.1.1 sent, gzip-compressed ones, and the edge cases (truncated, two messages, a 4 GB prefix, a bad flag). The first byte selects the grpc-encoding (0 none, 1 identity, 2 gzip, 3 zstd, 4 snappy, 5 br).
import glob
import gzip
import os
import struct

import snappy  # Debian python3-snappy
import zstandard  # Debian python3-zstandard

here = os.path.dirname(os.path.abspath(__file__))
fixtures = os.path.join(here, "..", "fixtures", "fluent-bit-5.1.1")
out = os.path.join(here, "corpus", "grpc")
os.makedirs(out, exist_ok=True)


def frame(msg, flag=0):
    return bytes([flag]) + struct.pack(">I", len(msg)) + msg


def put(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


seen = set()
for path in sorted(glob.glob(os.path.join(fixtures, "otlp-*-grpc-*.grpc"))):
    with open(path, "rb") as f:
        body = f.read()
    if body in seen:
        continue
    seen.add(body)
    name = os.path.basename(path)[:-5]
    put(name, b"\x00" + body)
    put(name + "-gzip", b"\x02" + frame(gzip.compress(body[5:], mtime=0), 1))
    put(name + "-zstd", b"\x03" + frame(zstandard.ZstdCompressor(write_content_size=True).compress(body[5:]), 1))
    put(name + "-snappy", b"\x04" + frame(snappy.compress(body[5:]), 1))
msg = frame(b"\x0a\x02\x08\x01")
put("truncated", b"\x00" + msg[:-1])
put("two-messages", b"\x00" + msg + msg)
put("prefix-4gb", b"\x00\x00\xff\xff\xff\xff" + b"\x0a" * 16)
put("flag-2", b"\x00\x02" + msg[1:])
put("compressed-no-encoding", b"\x01" + frame(b"abc", 1))
put("zstd-truncated", b"\x03" + frame(b"\x28\xb5\x2f\xfd", 1))
put("br", b"\x05" + frame(b"\x0b\x02\x80", 1))
put("empty", b"\x00")
