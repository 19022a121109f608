import { test } from "node:test";
import assert from "node:assert/strict";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { decodeDuration, decodeIntOrString, decodeMicroTime, decodeTime, goDuration } from "./apimachinery-types.js";

test("durations print as Go's time.Duration.String()", () => {
  const cases: [bigint, string][] = [
    [0n, "0s"],
    [999n, "999ns"],
    [1_500n, "1.5µs"],
    [300_000_000n, "300ms"],
    [1_500_000_000n, "1.5s"],
    [90_000_000_000n, "1m30s"],
    [3_600_000_000_000n, "1h0m0s"],
    [-2_000_000_000n, "-2s"],
  ];
  for (const [ns, text] of cases) assert.equal(goDuration(ns), text, String(ns));
  const tenMinutes = new BinaryWriter().tag(1, WireType.Varint).int64(600_000_000_000n).finish();
  assert.equal(decodeDuration(tenMinutes), "10m0s");
});

test("an IntOrString of type String is its strVal, of type Int its intVal", () => {
  const str = new BinaryWriter()
    .tag(1, WireType.Varint)
    .int64(1)
    .tag(3, WireType.LengthDelimited)
    .string("http")
    .finish();
  const int = new BinaryWriter().tag(1, WireType.Varint).int64(0).tag(2, WireType.Varint).int32(8080).finish();
  assert.equal(decodeIntOrString(str), "http");
  assert.equal(decodeIntOrString(int), 8080);
});

test("an empty Time is Go's zero time (JSON null); MicroTime keeps microseconds, Time drops them", () => {
  assert.equal(decodeTime(new Uint8Array()), undefined);
  const t = new BinaryWriter().tag(1, WireType.Varint).int64(0).tag(2, WireType.Varint).int32(7_000).finish();
  assert.equal(decodeTime(t), "1970-01-01T00:00:00Z");
  assert.equal(decodeMicroTime(t), "1970-01-01T00:00:00.000007Z");
});
