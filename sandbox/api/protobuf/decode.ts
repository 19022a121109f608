// Decodes `application/vnd.kubernetes.protobuf` request bodies into the JSON object the API accepts.
// Wire format (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the 4-byte magic "k8s\0", then a
// runtime.Unknown { typeMeta = 1 { apiVersion = 1, kind = 2 }, raw = 2, contentEncoding = 3, contentType = 4 }
// whose raw bytes are the object's message (k8s.io/api generated.proto) without its TypeMeta.
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import { ApiError, type KObject } from "../types.js";
import {
  decodeDuration,
  decodeIntOrString,
  decodeMicroTime,
  decodeQuantity,
  decodeTime,
  isZeroIntOrString,
  rawBytes,
} from "./apimachinery-types.js";
import { BODY_KINDS, LIST_WRAPPERS, MESSAGE_FIELDS } from "./tables.js";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

/** "k8s\0": the prefix every Kubernetes protobuf object carries. */
export const PROTOBUF_MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);

interface FieldSpec {
  json: string;
  /** string, int32, int64, bool, bytes, double, or a message name */
  kind: string;
  repeated: boolean;
  /** a Go pointer: present means set, even to a zero value */
  pointer: boolean;
  /** an embedded struct tagged `json:",inline"`: its fields merge into the parent */
  inline: boolean;
  /** value kind of a map<string, V> */
  mapValue?: string;
}

const SCALAR_KINDS = new Set(["string", "int32", "int64", "bool", "bytes", "double"]);

const parsedTables = new Map<string, Map<number, FieldSpec>>();

/** The field table of one message, parsed from its compact `json=number:kind[*][?]` form on first use. */
function fieldTable(message: string): Map<number, FieldSpec> {
  let table = parsedTables.get(message);
  if (table) return table;
  const row = MESSAGE_FIELDS[message];
  if (row === undefined) throw new Error(`no field table for ${message}`);
  table = new Map();
  for (const entry of row.split(" ")) {
    const m = /^([^=]+)=(\d+):(.+?)([*?~]?)$/.exec(entry);
    if (!m) throw new Error(`bad field entry ${entry} in ${message}`);
    const [, json, no, kind, mark] = m;
    const map = /^map<string,(.+)>$/.exec(kind);
    table.set(Number(no), {
      json,
      kind,
      repeated: mark === "*",
      pointer: mark === "?",
      inline: mark === "~",
      ...(map ? { mapValue: map[1] } : {}),
    });
  }
  parsedTables.set(message, table);
  return table;
}

/** Media types a body may use for a kind the sandbox has no protobuf table for (as for custom resources). */
const JSON_ONLY = "application/json, application/yaml";

function unsupportedKind(apiVersion: string, kind: string): ApiError {
  return new ApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${JSON_ONLY}`,
    { kind: kind || undefined, group: apiVersion.includes("/") ? apiVersion.split("/")[0] : undefined },
  );
}

function undecodable(detail: string): ApiError {
  return new ApiError(400, "BadRequest", `the object provided is unrecognized: couldn't decode body: ${detail}`);
}

/** True when the bytes start with the Kubernetes protobuf magic. */
export function hasProtobufMagic(body: Uint8Array): boolean {
  return body.length >= 4 && PROTOBUF_MAGIC.every((b, i) => body[i] === b);
}

export interface ProtobufEnvelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
  contentType: string;
}

/** Splits a body into its runtime.Unknown envelope, or throws the server's 400 when it is not one. */
export function readEnvelope(body: Uint8Array): ProtobufEnvelope {
  if (!hasProtobufMagic(body))
    throw undecodable("provided data does not appear to be a protobuf message, expected prefix [107 56 115 0]");
  const env: ProtobufEnvelope = {
    apiVersion: "",
    kind: "",
    raw: new Uint8Array(),
    contentEncoding: "",
    contentType: "",
  };
  const r = new BinaryReader(body.subarray(PROTOBUF_MAGIC.length));
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === 1 && wireType === WireType.LengthDelimited) {
      const meta = new BinaryReader(r.bytes());
      while (meta.pos < meta.len) {
        const [mno, mwt] = meta.tag();
        if (mno === 1) env.apiVersion = meta.string();
        else if (mno === 2) env.kind = meta.string();
        else meta.skip(mwt, mno);
      }
    } else if (no === 2 && wireType === WireType.LengthDelimited) env.raw = r.bytes();
    else if (no === 3 && wireType === WireType.LengthDelimited) env.contentEncoding = r.string();
    else if (no === 4 && wireType === WireType.LengthDelimited) env.contentType = r.string();
    else r.skip(wireType, no);
  }
  return env;
}

/** The message that encodes a body's kind; DeleteOptions is registered in every group version. */
function bodyMessage(apiVersion: string, kind: string): string | undefined {
  if (kind === "DeleteOptions") return "meta.v1.DeleteOptions";
  return BODY_KINDS[`${apiVersion}/${kind}`];
}

/**
 * Decodes a protobuf request body to the JSON form of its object (apiVersion and kind from the envelope).
 * Throws 415 for kinds without a field table and 400 for bytes that are not a Kubernetes protobuf object.
 */
export function decodeProtobufBody(body: Uint8Array): KObject {
  let env: ProtobufEnvelope;
  try {
    env = readEnvelope(body);
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw undecodable((e as Error).message);
  }
  if (env.contentEncoding !== "") throw undecodable(`unsupported content encoding "${env.contentEncoding}"`);
  const message = bodyMessage(env.apiVersion, env.kind);
  if (!message) throw unsupportedKind(env.apiVersion, env.kind);
  let object: Record<string, unknown>;
  try {
    object = decodeMessage(env.raw, message) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof ApiError) throw e;
    throw undecodable(`${env.apiVersion}, Kind=${env.kind}: ${(e as Error).message}`);
  }
  return { apiVersion: env.apiVersion, kind: env.kind, ...object } as KObject;
}

/** Decodes one message by its field table; named string slices decode to their bare list. */
export function decodeMessage(bytes: Uint8Array, message: string): unknown {
  const special = decodeSpecial(bytes, message);
  if (special.handled) return special.value;
  const table = fieldTable(message);
  const out: Record<string, unknown> = {};
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    const field = table.get(no);
    // Go's generated Unmarshal skips fields it does not know (a newer client's additions): so does the sandbox
    if (!field) {
      r.skip(wireType, no);
      continue;
    }
    if (field.inline) Object.assign(out, decodeMessage(r.bytes(), field.kind));
    else if (field.mapValue !== undefined) {
      const [key, value] = decodeMapEntry(r.bytes(), field.mapValue);
      const map = (out[field.json] ??= {}) as Record<string, unknown>;
      map[key] = value;
    } else if (field.repeated) {
      const list = (out[field.json] ??= []) as unknown[];
      // proto2 repeated numbers are unpacked in k8s generated code, but a packed run is valid wire format too
      if (wireType === WireType.LengthDelimited && isPackable(field.kind)) {
        const packed = new BinaryReader(r.bytes());
        while (packed.pos < packed.len) list.push(readValue(packed, field.kind));
      } else list.push(readValue(r, field.kind));
    } else out[field.json] = readValue(r, field.kind);
  }
  for (const field of table.values()) {
    const v = out[field.json];
    if (v !== undefined && !field.repeated && !field.pointer && isGoZero(v, field.kind)) delete out[field.json];
  }
  if (LIST_WRAPPERS.has(message)) return out.items ?? [];
  return out;
}

/**
 * gogo marshals every non-pointer field, zero or not; Go's JSON drops them (omitempty) or treats them as
 * unset, so a zero scalar, an unset IntOrString and a zero Time are left out. Empty structs stay ({}), as
 * in the JSON kubectl sends.
 */
function isGoZero(v: unknown, kind: string): boolean {
  if (kind === "meta.v1.Time" || kind === "meta.v1.MicroTime") return v === null;
  if (kind === "intstr.IntOrString") return isZeroIntOrString(v as number | string);
  if (!SCALAR_KINDS.has(kind)) return false;
  return v === "" || v === 0 || v === false;
}

function isPackable(kind: string): boolean {
  return kind === "int32" || kind === "int64" || kind === "bool" || kind === "double";
}

function readValue(r: BinaryReader, kind: string): unknown {
  switch (kind) {
    case "string":
      return r.string();
    case "bytes":
      return Buffer.from(r.bytes()).toString("base64");
    case "int32":
      return r.int32();
    case "int64":
      return Number(r.int64());
    case "bool":
      return r.bool();
    case "double":
      return r.double();
    default:
      return decodeMessage(r.bytes(), kind);
  }
}

function decodeMapEntry(bytes: Uint8Array, valueKind: string): [string, unknown] {
  const r = new BinaryReader(bytes);
  let key = "";
  let value: unknown;
  while (r.pos < r.len) {
    const [no, wireType] = r.tag();
    if (no === 1) key = r.string();
    else if (no === 2) value = readValue(r, valueKind);
    else r.skip(wireType, no);
  }
  // an entry without a value carries the value type's zero (an empty string or message)
  return [key, value ?? readValue(new BinaryReader(emptyLengthDelimited), valueKind)];
}

/** One zero-length length-delimited value: reads as "", empty bytes, or an empty message. */
const emptyLengthDelimited = Uint8Array.from([0]);

function decodeSpecial(bytes: Uint8Array, message: string): { handled: boolean; value?: unknown } {
  switch (message) {
    case "resource.Quantity":
      return { handled: true, value: decodeQuantity(bytes) };
    case "intstr.IntOrString":
      return { handled: true, value: decodeIntOrString(bytes) };
    case "meta.v1.Time":
      return { handled: true, value: decodeTime(bytes) ?? null };
    case "meta.v1.MicroTime":
      return { handled: true, value: decodeMicroTime(bytes) ?? null };
    case "meta.v1.Duration":
      return { handled: true, value: decodeDuration(bytes) };
    case "meta.v1.FieldsV1":
      return { handled: true, value: parseJsonBytes(rawBytes(bytes), "FieldsV1") };
    case "runtime.RawExtension": {
      const raw = rawBytes(bytes);
      // an embedded object written by the protobuf serializer carries its own envelope
      return {
        handled: true,
        value: hasProtobufMagic(raw) ? decodeProtobufBody(raw) : parseJsonBytes(raw, "RawExtension"),
      };
    }
    default:
      return { handled: false };
  }
}

function parseJsonBytes(raw: Uint8Array, what: string): unknown {
  if (raw.length === 0) return null;
  try {
    return JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch (e) {
    throw new Error(`${what} is not JSON: ${(e as Error).message}`, { cause: e });
  }
}
