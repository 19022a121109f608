// Small HTTP helpers for the API server: JSON bodies, Status errors, request bodies.
import type { IncomingMessage, ServerResponse } from "node:http";
import { parse as parseYaml } from "yaml";
import { ApiError, type KObject } from "./types.js";
import { decodeProtobufBody, PROTOBUF_MEDIA_TYPE } from "./protobuf/decode.js";

export { cachedJson, cachedJsonBytes } from "./json-cache.js";

/** A JSON response: `body` is sent as it is when already JSON (text or bytes), else serialised. */
export function sendJson(res: ServerResponse, code: number, body: unknown, contentType = "application/json"): void {
  const text = typeof body === "string" || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  res.writeHead(code, {
    "Content-Type": contentType,
    "Cache-Control": "no-cache, private",
    "Content-Length": Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(
  res: ServerResponse,
  code: number,
  text: string,
  contentType = "text/plain; charset=utf-8",
): void {
  res.writeHead(code, { "Content-Type": contentType, "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

export function sendStatus(res: ServerResponse, err: ApiError): void {
  const headers: Record<string, string> = {};
  if (err.details?.retryAfterSeconds !== undefined) headers["Retry-After"] = String(err.details.retryAfterSeconds);
  const text = JSON.stringify(err.toStatus());
  res.writeHead(err.code, {
    "Content-Type": "application/json",
    "Cache-Control": "no-cache, private",
    "Content-Length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function successStatus(details?: Record<string, unknown>): KObject {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", ...(details ? { details } : {}) };
}

export async function readBody(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  const bytes = await readBodyBuffer(req, limit);
  // protobuf is binary: latin1 keeps one char per byte, so parseBody gets the exact bytes back
  return mediaType(req.headers["content-type"]) === PROTOBUF_MEDIA_TYPE
    ? bytes.toString("latin1")
    : bytes.toString("utf8");
}

export async function readBodyBuffer(req: IncomingMessage, limit = 64 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728");
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? "application/json").split(";")[0].trim();
}

/**
 * Parses a request body as JSON, YAML (apply patches) or Kubernetes protobuf (kubectl ≥ 1.32 typed writes),
 * with the server's decode error. A protobuf body comes as a Buffer or as readBody's latin1 string.
 */
export function parseBody(body: string | Buffer, contentType: string | undefined): unknown {
  const ct = mediaType(contentType);
  if (ct === PROTOBUF_MEDIA_TYPE)
    return decodeProtobufBody(typeof body === "string" ? Buffer.from(body, "latin1") : body);
  if (ct === "application/cbor" || ct === "application/apply-patch+cbor")
    throw new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, ${PROTOBUF_MEDIA_TYPE}`,
    );
  const text = typeof body === "string" ? body : body.toString("utf8");
  if (text.trim() === "") return undefined;
  try {
    if (ct === "application/yaml" || ct === "application/apply-patch+yaml") return parseYaml(text);
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(
      400,
      "BadRequest",
      `the object provided is unrecognized: couldn't decode body: ${(e as Error).message.split("\n")[0]}`,
    );
  }
}

/** What Go's encoding/json says about text that is not JSON (the API server passes it on), or undefined when it parses. */
export function goJsonSyntaxError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    const m = (e as Error).message;
    const at = /at position (\d+)/.exec(m);
    const ch = at ? text[Number(at[1])] : /Unexpected token '(.)'/.exec(m)?.[1];
    if (ch === undefined || /Unexpected end|Unterminated string/.test(m)) return "unexpected end of JSON input";
    const context = /Expected property name/.test(m)
      ? "looking for beginning of object key string"
      : /after property name/.test(m)
        ? "after object key"
        : /after property value/.test(m)
          ? "after object key:value pair"
          : /after array element/.test(m)
            ? "after array element"
            : /after JSON/.test(m)
              ? "after top-level value"
              : "looking for beginning of value";
    return `invalid character '${ch}' ${context}`;
  }
}

/** Go's name for the JSON value kind in "cannot unmarshal X into Go value of type T". */
export function goJsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v === null) return "null";
  return typeof v === "object" ? "object" : typeof v === "boolean" ? "bool" : (typeof v as string);
}
