// The JSON text of stored objects, made once per object: stored objects are immutable (sandbox/api/store.ts), so a
// list page, every watcher of a change and the write's own response all send the same text. A new version of an
// object shares the parts a write left alone with the version before it; their text is taken from that version's
// JSON instead of being serialised again, so a label patch re-serialises the metadata, not the whole pod.
import type { KObject } from "./types.js";

/** An object's JSON, and where each object-valued top-level field's text sits in it: key, start, end, key, … */
interface CachedJson {
  text: string;
  layout: (string | number)[];
}

const jsonCache = new WeakMap<object, CachedJson>();
/** the change being delivered: its new object and the version it replaced (one slot, nothing kept alive) */
let delivering: { object: KObject; previous: KObject } | undefined;

/**
 * Tells cachedJson that `object` replaced `previous` (the store calls it while observers hear of the change):
 * top-level values the two share are copied from `previous`'s JSON text when it has one.
 */
export function noteNewVersion(object: KObject, previous: KObject | undefined): void {
  delivering = previous ? { object, previous } : undefined;
}

/** JSON of a stored (immutable) object, serialised once; equal to JSON.stringify(obj). */
export function cachedJson(obj: KObject): string {
  const cached = jsonCache.get(obj);
  if (cached !== undefined) return cached.text;
  const previous = delivering?.object === obj ? delivering.previous : undefined;
  const before = previous && jsonCache.get(previous);
  const layout: (string | number)[] = [];
  // JSON.stringify's own walk: own enumerable keys in order, undefined (and functions) left out
  let text = "{";
  for (const key of Object.keys(obj)) {
    const value: unknown = obj[key];
    const isObject = typeof value === "object" && value !== null;
    let part: string | undefined;
    if (isObject && before && previous![key] === value) {
      const at = before.layout.indexOf(key);
      if (at >= 0) part = before.text.slice(before.layout[at + 1] as number, before.layout[at + 2] as number);
    }
    part ??= JSON.stringify(value);
    if (part === undefined) continue;
    text += text.length > 1 ? `,${JSON.stringify(key)}:` : `${JSON.stringify(key)}:`;
    if (isObject) layout.push(key, text.length, text.length + part.length);
    text += part;
  }
  text += "}";
  jsonCache.set(obj, { text, layout });
  // the text moves on to the new version: a superseded version (kept in the watch history) rarely needs its own
  // again, and is serialised anew if it does
  if (before) jsonCache.delete(previous!);
  return text;
}

/** The UTF-8 of the stored object encoded last: a write's watch events and its response carry the same bytes. */
let lastEncoded: { obj: KObject; bytes: Buffer } | undefined;

/** cachedJson as bytes, kept for the latest object only (every other object keeps just its text). */
export function cachedJsonBytes(obj: KObject): Buffer {
  if (lastEncoded?.obj !== obj) lastEncoded = { obj, bytes: Buffer.from(cachedJson(obj)) };
  return lastEncoded.bytes;
}
