#!/usr/bin/env python3
"""Independent consumer for the end-to-end tests: reads a topic from the beginning with
confluent-kafka (its own librdkafka) and decodes every value with fastavro and the schema file
alone (not with Tombolo's decoder). Prints one JSON object per message:
{"key", "partition", "offset", "headers", "framing", "schema_id", "value"} (and "raw", the
value's bytes in hex, with --raw; a tombstone's value is null). Exits non-zero if any value
fails to decode.

    consume.py --brokers 127.0.0.1:9092 --topic tombolo.person.v1 --schema schemas/person.avsc

--schema may be given more than once (a topic written under several schema versions): a
single-object frame is read with the schema whose fingerprint it carries, a registry frame with
the last schema given.
"""
import argparse, io, json, struct, sys, time

import fastavro
from confluent_kafka import Consumer, KafkaException, TopicPartition


def crc64_avro(data: bytes) -> int:
    empty = 0xC15D213AA4D7A795
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (empty & -(fp & 1))
        table.append(fp)
    fp = empty
    for b in data:
        fp = (fp >> 8) ^ table[(fp ^ b) & 0xFF]
    return fp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--brokers", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--schema", required=True, action="append")
    ap.add_argument("--raw", action="store_true", help="also print each value's bytes in hex")
    ap.add_argument("--idle", type=float, default=60.0, help="give up after this many seconds without progress")
    a = ap.parse_args()
    schemas = {}
    for path in a.schema:
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        canonical = fastavro.schema.to_parsing_canonical_form(raw)
        schema = fastavro.parse_schema(raw)
        schemas[struct.pack("<Q", crc64_avro(canonical.encode("utf-8")))] = schema

    # Generous timeouts: the local test broker can stall for tens of seconds under load.
    c = Consumer({"bootstrap.servers": a.brokers, "group.id": f"tombolo-e2e-{time.time_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "api.version.request.timeout.ms": 60000, "socket.timeout.ms": 120000})
    md = None
    for attempt in range(6):
        try:
            md = c.list_topics(a.topic, timeout=30)
            break
        except KafkaException as e:
            if attempt == 5:
                raise
            print(f"metadata: {e}; retrying", file=sys.stderr)
            time.sleep(2)
    if a.topic not in md.topics or md.topics[a.topic].error is not None:
        print(f"topic {a.topic} not found", file=sys.stderr)
        return 2
    parts = [TopicPartition(a.topic, p, 0) for p in md.topics[a.topic].partitions]
    # Read up to each partition's high watermark as it is now, then stop.
    remaining = {}
    for tp in parts:
        for attempt in range(10):
            try:
                low, high = c.get_watermark_offsets(tp, timeout=30)
                break
            except KafkaException as e:  # a busy broker: ask again
                if attempt == 9:
                    raise
                print(f"watermarks of {tp.partition}: {e}; retrying", file=sys.stderr)
                time.sleep(1)
        if high > low:
            remaining[tp.partition] = high
    c.assign(parts)
    bad = 0
    last = time.time()
    while remaining and time.time() - last < a.idle:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            print(f"error: {m.error()}", file=sys.stderr)
            continue
        last = time.time()
        if m.partition() in remaining and m.offset() + 1 >= remaining[m.partition()]:
            del remaining[m.partition()]
        v = m.value()
        try:
            if v is None:
                framing, schema_id, value = None, None, None
            else:
                if v[:2] == b"\xc3\x01":
                    if v[2:10] not in schemas:
                        raise ValueError("fingerprint does not match any schema file given")
                    framing, schema_id, body, writer = "single_object", None, v[10:], schemas[v[2:10]]
                elif v[:1] == b"\x00":
                    framing, schema_id, body, writer = "registry", struct.unpack(">I", v[1:5])[0], v[5:], schema
                else:
                    raise ValueError("unknown framing")
                value = fastavro.schemaless_reader(io.BytesIO(body), writer)
        except Exception as e:  # noqa: BLE001 - report every undecodable message
            bad += 1
            print(f"undecodable message at {m.partition()}:{m.offset()}: {e}", file=sys.stderr)
            continue
        headers = {k: (val.decode() if val is not None else None) for k, val in (m.headers() or [])}
        out = {"key": m.key().decode() if m.key() else None, "partition": m.partition(), "offset": m.offset(),
               "headers": headers, "framing": framing, "schema_id": schema_id, "value": value}
        if a.raw:
            out["raw"] = v.hex() if v is not None else None
        print(json.dumps(out, ensure_ascii=False))
    c.close()
    if remaining:
        print(f"gave up with partitions unread: {remaining}", file=sys.stderr)
        return 3
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
