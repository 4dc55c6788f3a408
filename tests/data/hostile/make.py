"""Writes the hostile Parquet fixtures of tests/bad_input.rs from basic.csv.

Each file holds basic.csv's rows in a column type that other writers
(pyarrow, pandas, DuckDB, Spark) produce, so that a test can compare the
answer with basic.csv's own or name the expected error. Run from this folder:
`python3 make.py` (needs pyarrow). The files are small and committed.
"""

import csv
import datetime as dt
import decimal

import pyarrow as pa
import pyarrow.parquet as pq

with open("../basic.csv", newline="") as f:
    rows = list(csv.DictReader(f))


def instant(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def base():
    return {
        "session_id": pa.array([int(r["session_id"]) for r in rows], pa.int64()),
        "user_id": pa.array([int(r["user_id"]) for r in rows], pa.int64()),
        "user_name": pa.array([r["user_name"] for r in rows]),
        "client_guid": pa.array([r["client_guid"] for r in rows]),
        "client_name": pa.array([r["client_name"] for r in rows]),
        "timestamp": pa.array([instant(r["timestamp"]) for r in rows], pa.timestamp("us", "UTC")),
        "kind": pa.array([r["kind"] or None for r in rows]),
    }


def write(name, cols):
    pq.write_table(pa.table(cols), name)


# Small unsigned ids: accepted, the same answer as basic.csv.
cols = base()
cols["session_id"] = cols["session_id"].cast(pa.uint8())
cols["user_id"] = cols["user_id"].cast(pa.uint16())
write("ids_u8_u16.parquet", cols)

cols = base()
cols["session_id"] = cols["session_id"].cast(pa.int8())
cols["user_id"] = cols["user_id"].cast(pa.int16())
write("ids_i8_i16.parquet", cols)

# Decimal ids: refused, naming the column and its type.
cols = base()
cols["session_id"] = pa.array(
    [decimal.Decimal(r["session_id"]) for r in rows], pa.decimal128(12, 0)
)
write("ids_decimal.parquet", cols)

# A fixed-offset zone on the timestamp column (pyarrow keeps it in the
# file's Arrow schema): the instants are UTC all the same.
cols = base()
cols["timestamp"] = cols["timestamp"].cast(pa.timestamp("us", "+05:30"))
write("ts_zone_0530.parquet", cols)

# Timestamps as dictionary-encoded (categorical) text.
cols = base()
cols["timestamp"] = pa.array([r["timestamp"] for r in rows]).dictionary_encode()
write("ts_categorical.parquet", cols)

# Native timestamps beyond years 1-9999: the 4th row (0-based 3) is bad.
BIG = 2**63 - 1
# (Nanoseconds cannot leave the range: every int64 is within 1677-2262.)
for unit, value in [("us", BIG), ("ms", BIG // 7), ("s", 2**52)]:
    cols = base()
    raw = cols["timestamp"].cast(pa.int64()).to_pylist()
    scale = {"s": 10**-6, "ms": 10**-3, "us": 1, "ns": 10**3}[unit]
    raw = [int(v * scale) for v in raw]
    raw[3] = value
    cols["timestamp"] = pa.array(raw, pa.int64()).cast(pa.timestamp(unit, "UTC"))
    write(f"ts_out_of_range_{unit}.parquet", cols)
