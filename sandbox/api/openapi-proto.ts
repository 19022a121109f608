// Swagger 2.0 JSON -> gnostic `openapi.v2.Document` protobuf (google/gnostic openapiv2/OpenAPIv2.proto).
// kubectl 1.27/1.28 fetch /openapi/v2 only as protobuf and refuse to apply (even with --validate=strict)
// when it cannot be decoded; only the messages and fields a Kubernetes swagger uses are encoded here.
import type { JsonSchema } from "./schemas.js";

/** Protobuf wire encoding (varint, length-delimited), enough for strings, bools, ints and nested messages. */
class ProtoWriter {
  private readonly chunks: Buffer[] = [];

  private varint(n: number): void {
    const bytes: number[] = [];
    let v = BigInt(n);
    if (v < 0n) v = (1n << 64n) + v; // negative int64 as two's complement
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      bytes.push(b);
    } while (v > 0n);
    this.chunks.push(Buffer.from(bytes));
  }

  string(field: number, value: string | undefined): this {
    if (value === undefined || value === "") return this;
    return this.bytes(field, Buffer.from(value, "utf8"));
  }

  strings(field: number, values: string[] | undefined): this {
    for (const v of values ?? []) this.bytes(field, Buffer.from(v, "utf8"));
    return this;
  }

  bool(field: number, value: boolean | undefined): this {
    if (!value) return this;
    this.varint((field << 3) | 0);
    this.varint(1);
    return this;
  }

  int(field: number, value: number | undefined): this {
    if (value === undefined || value === 0) return this;
    this.varint((field << 3) | 0);
    this.varint(value);
    return this;
  }

  message(field: number, build: ((w: ProtoWriter) => void) | undefined): this {
    if (!build) return this;
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  private bytes(field: number, data: Buffer): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    this.chunks.push(data);
    return this;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Vendor extensions (x-*) as NamedAny{name, Any{yaml}}; JSON is valid YAML, which gnostic parses. */
function vendorExtensions(w: ProtoWriter, field: number, obj: Record<string, any>): void {
  for (const [name, value] of Object.entries(obj)) {
    if (!name.startsWith("x-")) continue;
    w.message(field, (n) => n.string(1, name).message(2, (a) => a.string(2, JSON.stringify(value) + "\n")));
  }
}

// field numbers below are those of message Schema in OpenAPIv2.proto
function writeSchema(w: ProtoWriter, s: JsonSchema): void {
  w.string(1, s.$ref).string(2, s.format).string(3, s.title).string(4, s.description);
  w.strings(19, s.required);
  if (s.additionalProperties !== undefined) {
    w.message(21, (a) =>
      typeof s.additionalProperties === "boolean"
        ? a.bool(2, s.additionalProperties)
        : a.message(1, (x) => writeSchema(x, s.additionalProperties)),
    );
  }
  if (s.type) w.message(22, (t) => t.strings(1, Array.isArray(s.type) ? s.type : [s.type]));
  if (s.items) w.message(23, (i) => i.message(1, (x) => writeSchema(x, s.items)));
  for (const sub of s.allOf ?? []) w.message(24, (x) => writeSchema(x, sub));
  if (s.properties) {
    w.message(25, (p) => {
      for (const [name, prop] of Object.entries<JsonSchema>(s.properties)) {
        p.message(1, (n) => n.string(1, name).message(2, (x) => writeSchema(x, prop)));
      }
    });
  }
  vendorExtensions(w, 31, s);
}

function writeParameter(w: ProtoWriter, p: JsonSchema): void {
  w.message(1, (param) => {
    if (p.in === "body") {
      param.message(1, (b) =>
        b
          .string(1, p.description)
          .string(2, p.name)
          .string(3, p.in)
          .bool(4, p.required)
          .message(5, (x) => writeSchema(x, p.schema ?? {})),
      );
      return;
    }
    // NonBodyParameter oneof: 3 = query, 4 = path; the two sub-schemas number `type` and `unique_items` differently
    const isPath = p.in === "path";
    param.message(2, (nb) =>
      nb.message(isPath ? 4 : 3, (q) => {
        q.bool(1, p.required).string(2, p.in).string(3, p.description).string(4, p.name);
        q.string(isPath ? 5 : 6, p.type);
        q.bool(isPath ? 19 : 20, p.uniqueItems);
      }),
    );
  });
}

function writeOperation(w: ProtoWriter, op: JsonSchema): void {
  w.strings(1, op.tags).string(3, op.description).string(5, op.operationId);
  w.strings(6, op.produces).strings(7, op.consumes);
  for (const p of op.parameters ?? []) w.message(8, (pi) => writeParameter(pi, p));
  w.message(9, (rs) => {
    for (const [code, resp] of Object.entries<JsonSchema>(op.responses ?? {})) {
      rs.message(1, (n) =>
        n.string(1, code).message(2, (rv) =>
          rv.message(1, (r) => {
            r.string(1, resp.description);
            if (resp.schema) r.message(2, (si) => si.message(1, (x) => writeSchema(x, resp.schema)));
          }),
        ),
      );
    }
  });
  w.strings(10, op.schemes);
  vendorExtensions(w, 13, op);
}

const PATH_ITEM_FIELDS: Record<string, number> = { get: 2, put: 3, post: 4, delete: 5, options: 6, head: 7, patch: 8 };

/** Encodes a swagger 2.0 document (as openapiV2 builds it) as a gnostic openapi.v2.Document. */
export function encodeSwaggerProto(doc: JsonSchema): Buffer {
  const w = new ProtoWriter();
  w.string(1, doc.swagger);
  w.message(2, (i) => i.string(1, doc.info?.title).string(2, doc.info?.version));
  w.message(8, (paths) => {
    for (const [path, item] of Object.entries<JsonSchema>(doc.paths ?? {})) {
      paths.message(2, (n) =>
        n.string(1, path).message(2, (pi) => {
          for (const [method, field] of Object.entries(PATH_ITEM_FIELDS)) {
            if (item[method]) pi.message(field, (o) => writeOperation(o, item[method]));
          }
          for (const p of item.parameters ?? []) pi.message(9, (x) => writeParameter(x, p));
        }),
      );
    }
  });
  w.message(9, (defs) => {
    for (const [name, schema] of Object.entries<JsonSchema>(doc.definitions ?? {})) {
      defs.message(1, (n) => n.string(1, name).message(2, (x) => writeSchema(x, schema)));
    }
  });
  for (const req of doc.security ?? []) {
    w.message(12, (sr) => {
      for (const [name, scopes] of Object.entries<string[]>(req)) {
        sr.message(1, (n) => n.string(1, name).message(2, (sa) => sa.strings(1, scopes)));
      }
    });
  }
  w.message(13, (sd) => {
    for (const [name, def] of Object.entries<JsonSchema>(doc.securityDefinitions ?? {})) {
      sd.message(1, (n) =>
        n
          .string(1, name)
          .message(2, (item) =>
            item.message(2, (k) =>
              k.string(1, def.type).string(2, def.name).string(3, def.in).string(4, def.description),
            ),
          ),
      );
    }
  });
  return w.finish();
}
