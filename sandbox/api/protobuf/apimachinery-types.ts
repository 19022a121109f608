// The apimachinery types whose protobuf and JSON forms differ (hand-written marshallers in Go):
// Quantity, IntOrString, Time, MicroTime, Duration, FieldsV1 and RawExtension.
import { BinaryReader } from "@bufbuild/protobuf/wire";

/** Reads every field of a small message into number → last value (these types have no repeated fields). */
function fields(bytes: Uint8Array, read: (r: BinaryReader, no: number) => unknown): Map<number, unknown> {
  const r = new BinaryReader(bytes);
  const out = new Map<number, unknown>();
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    const v = read(r, no);
    if (v === undefined) r.skip(wireType, no);
    else out.set(no, v);
  }
  return out;
}

/** resource.Quantity { string = 1 } serialises as its canonical string in JSON. */
export function decodeQuantity(bytes: Uint8Array): string {
  return (fields(bytes, (r, no) => (no === 1 ? r.string() : undefined)).get(1) as string | undefined) ?? "0";
}

/** intstr.IntOrString { type = 1 (0 Int, 1 String), intVal = 2, strVal = 3 } is a bare number or string in JSON. */
export function decodeIntOrString(bytes: Uint8Array): number | string {
  const f = fields(bytes, (r, no) =>
    no === 1 ? Number(r.int64()) : no === 2 ? r.int32() : no === 3 ? r.string() : undefined,
  );
  return f.get(1) === 1 ? ((f.get(3) as string | undefined) ?? "") : ((f.get(2) as number | undefined) ?? 0);
}

/** Zero value of an IntOrString: what an unset non-pointer field (e.g. ServicePort.targetPort) decodes to. */
export function isZeroIntOrString(v: number | string): boolean {
  return v === 0 || v === "";
}

function timestamp(bytes: Uint8Array): { seconds: number; nanos: number } | undefined {
  // an empty message is Go's zero time.Time, which metav1.Time marshals to JSON null
  if (bytes.length === 0) return undefined;
  const f = fields(bytes, (r, no) => (no === 1 ? Number(r.int64()) : no === 2 ? r.int32() : undefined));
  return { seconds: (f.get(1) as number | undefined) ?? 0, nanos: (f.get(2) as number | undefined) ?? 0 };
}

/** meta.v1.Time { seconds = 1, nanos = 2 } → RFC 3339 in UTC with whole seconds (metav1.Time drops nanos). */
export function decodeTime(bytes: Uint8Array): string | undefined {
  const t = timestamp(bytes);
  return t && new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** meta.v1.MicroTime → RFC 3339 with exactly six fractional digits ("2006-01-02T15:04:05.000000Z07:00"). */
export function decodeMicroTime(bytes: Uint8Array): string | undefined {
  const t = timestamp(bytes);
  if (!t) return undefined;
  const micros = String(Math.floor(t.nanos / 1000)).padStart(6, "0");
  return new Date(t.seconds * 1000).toISOString().replace(/\.\d{3}Z$/, `.${micros}Z`);
}

/** meta.v1.Duration { duration = 1 (nanoseconds) } → Go's time.Duration.String(), e.g. "1h0m0s", "1.5s", "300ms". */
export function decodeDuration(bytes: Uint8Array): string {
  const f = fields(bytes, (r, no) => (no === 1 ? BigInt(r.int64()) : undefined));
  return goDuration((f.get(1) as bigint | undefined) ?? 0n);
}

/** time.Duration.String() of Go, from nanoseconds. */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return "0s";
  const sign = ns < 0n ? "-" : "";
  const abs = ns < 0n ? -ns : ns;
  const fraction = (value: bigint, unit: bigint): string => {
    const whole = value / unit;
    const rest = value % unit;
    if (rest === 0n) return String(whole);
    const digits = String(unit).length - 1;
    return `${whole}.${String(rest).padStart(digits, "0").replace(/0+$/, "")}`;
  };
  // below one second Go picks the largest unit (ns, µs, ms) and prints a decimal fraction
  if (abs < 1_000n) return `${sign}${abs}ns`;
  if (abs < 1_000_000n) return `${sign}${fraction(abs, 1_000n)}µs`;
  if (abs < 1_000_000_000n) return `${sign}${fraction(abs, 1_000_000n)}ms`;
  const hours = abs / 3_600_000_000_000n;
  const minutes = (abs / 60_000_000_000n) % 60n;
  const seconds = fraction(abs % 60_000_000_000n, 1_000_000_000n);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** The `raw = 1` bytes of meta.v1.FieldsV1 or runtime.RawExtension (both carry JSON in a protobuf body). */
export function rawBytes(bytes: Uint8Array): Uint8Array {
  return (
    (fields(bytes, (r, no) => (no === 1 ? r.bytes() : undefined)).get(1) as Uint8Array | undefined) ?? new Uint8Array()
  );
}
