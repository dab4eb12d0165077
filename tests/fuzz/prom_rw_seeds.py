#!/usr/bin/python3
# prom_rw_seeds.py: writes the seed corpora of fuzz_prom_rw (WriteRequests: samples, metadata, exemplars, native histograms) and fuzz_decompress_{zstd,snappy} (the Fluent Bit captures plus edge cases) into tests/fuzz/corpus/.
import os
import struct
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "agent"))
import promrw  # noqa: E402
import snappy  # noqa: E402
import zstandard  # noqa: E402

FIX = os.path.join(here, "..", "fixtures", "fluent-bit-5.1.1")


def zz(v):
    return (v << 1) ^ (v >> 63)


def histogram(schema, spans, deltas, count, ms, floats=False):
    h = promrw.field(3, 1, struct.pack("<d", 1.25)) + promrw.field(4, 0, promrw.varint(zz(schema)))
    h += promrw.field(2, 1, struct.pack("<d", count)) if floats else promrw.field(1, 0, promrw.varint(count))
    for off, ln in spans:
        h += promrw.ld(11, promrw.field(1, 0, promrw.varint(zz(off))) + promrw.field(2, 0, promrw.varint(ln)))
        h += promrw.ld(8, promrw.field(1, 0, promrw.varint(zz(off))) + promrw.field(2, 0, promrw.varint(ln)))
    if floats:
        packed = b"".join(struct.pack("<d", d) for d in deltas)
        h += promrw.ld(13, packed) + promrw.ld(10, packed)
    else:
        packed = b"".join(promrw.varint(zz(d)) for d in deltas)
        h += promrw.ld(12, packed) + promrw.ld(9, packed)
    return promrw.ld(4, h + promrw.field(15, 0, promrw.varint(ms)))


def write(corpus, name, data):
    d = os.path.join(here, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    samples = [{"labels": [("__name__", "http_requests_total"), ("method", "GET")], "samples": [(3, 1700000000000)],
                "exemplars": [({"trace_id": "abc"}, 0.2, 1700000000500)]},
               {"labels": [("__name__", "http_requests_total"), ("code", "500")], "samples": [(1, 1700000000000)]},
               {"labels": [("__name__", "temp_bucket"), ("le", "+Inf")], "samples": [(float("nan"), -1)]}]
    meta = [("counter", "http_requests", "Requests", ""), ("histogram", "temp", "T", "celsius")]
    write("prom_rw", "samples", promrw.write_request(samples, meta))
    write("prom_rw", "metadata-only", promrw.write_request([], meta))
    write("prom_rw", "native-int", promrw.ld(1, promrw.label("__name__", "lat") + histogram(1, [(-2, 2), (1, 1)], [2, -1, 1], 6, 1)))
    write("prom_rw", "native-float", promrw.ld(1, promrw.label("__name__", "latf") + histogram(-1, [(0, 3)], [1.5, 0, 2], 3.5, 2, True)))
    write("prom_rw", "empty", b"")
    for f in sorted(os.listdir(FIX)):
        p = os.path.join(FIX, f)
        if f.endswith(".pb.zst") or (f.startswith("http-json-zstd") and f.endswith(".body")):
            write("decompress_zstd", f, open(p, "rb").read())
        if f.startswith("http-json-snappy") and f.endswith(".body"):
            write("decompress_snappy", f, open(p, "rb").read())
    z = zstandard.ZstdCompressor(level=3)
    write("decompress_zstd", "two-frames", z.compress(b"a" * 1000) + z.compress(b"b" * 100))
    write("decompress_zstd", "no-content-size", zstandard.ZstdCompressor(write_content_size=False).compress(b"xy" * 5000))
    write("decompress_zstd", "skippable", b"\x50\x2a\x4d\x18\x03\x00\x00\x00abc" + z.compress(b"hi"))
    write("decompress_zstd", "window-4g", b"\x28\xb5\x2f\xfd\x00\xb0\x09\x00\x00x")
    write("decompress_snappy", "framed", promrw.framed(b"hello " * 20000))
    write("decompress_snappy", "framed-uncompressed", b"\xff\x06\x00\x00sNaPpY\x01\x07\x00\x00" +
          struct.pack("<I", promrw._crc32c(b"abc")) + b"abc")
    write("decompress_snappy", "claims-4g", b"\xff\xff\xff\xff\x0fxxxxxxxx")
    write("decompress_snappy", "raw-prom-rw", snappy.compress(promrw.write_request(samples, meta)))


if __name__ == "__main__":
    main()
