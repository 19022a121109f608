// A bounded log of API requests, readable by tests (count LISTs, writes) and the console's activity view.

export interface RequestRecord {
  seq: number;
  time: string;
  user: string;
  userAgent: string;
  method: string;
  verb: string;
  path: string;
  group: string;
  resource: string;
  subresource?: string;
  namespace?: string;
  name?: string;
  code: number;
  durationMs: number;
}

export class RequestLog {
  private readonly records: RequestRecord[] = [];
  private seq = 0;
  private readonly counts = new Map<string, number>();

  constructor(private readonly capacity = 50_000) {}

  add(r: Omit<RequestRecord, "seq">): void {
    const rec = { ...r, seq: ++this.seq };
    this.records.push(rec);
    // trimmed in batches: a splice of the oldest record on every request would move the whole log each time
    if (this.records.length > this.capacity + (this.capacity >> 3))
      this.records.splice(0, this.records.length - this.capacity);
    const k = `${r.verb} ${r.group ? r.resource + "." + r.group : r.resource}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Records with seq greater than `after` (all retained ones by default). */
  since(after = 0): RequestRecord[] {
    return this.records.filter((r) => r.seq > after);
  }

  get lastSeq(): number {
    return this.seq;
  }

  /** Totals since start by "verb resource[.group]", never truncated. */
  totals(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort());
  }

  clear(): void {
    this.records.length = 0;
    this.counts.clear();
  }
}
