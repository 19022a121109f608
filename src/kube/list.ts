// Paginated LIST (client-go's pager): `limit` pages joined by `continue` tokens, all pages of one
// list served from the same snapshot (one resourceVersion). A continue token that expired (410)
// restarts the list from the beginning, as the snapshot it pointed into is gone.
import { toKubeError } from "./errors.js";
import type { RestClient } from "./rest.js";
import { collectionPath, qualifiedName, type KubeList, type KubeObject, type ResourceRef } from "./resources.js";
import { withRetry, type RetryPolicy } from "./retry.js";

export interface ListOptions<T> {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** default 500 */
  pageSize?: number;
  signal?: AbortSignal;
  /** applied to each item as its page arrives, so only the kept form stays in memory */
  transform?: (object: KubeObject) => T;
  /** per-page retries of transient failures; attempts 1 disables */
  retry?: Partial<RetryPolicy>;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  pages: number;
}

export async function listAll<T = KubeObject>(
  rest: RestClient,
  resource: ResourceRef,
  options: ListOptions<T> = {},
): Promise<ListResult<T>> {
  const transform = options.transform ?? ((o: KubeObject) => o as unknown as T);
  for (let restarts = 0; ; restarts++) {
    const items: T[] = [];
    let resourceVersion = "";
    let pages = 0;
    let continueToken: string | undefined;
    try {
      do {
        const token = continueToken;
        const page = await withRetry(
          () =>
            rest.requestJson<KubeList>({
              path: collectionPath(resource, options.namespace),
              query: {
                limit: options.pageSize ?? 500,
                continue: token,
                labelSelector: options.labelSelector,
                fieldSelector: options.fieldSelector,
              },
              signal: options.signal,
              target: { verb: "list", resource: qualifiedName(resource), namespace: options.namespace },
            }),
          { signal: options.signal, ...options.retry },
        );
        pages++;
        for (const raw of page.items ?? []) items.push(transform(raw));
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return { items, resourceVersion, pages };
    } catch (err) {
      const error = toKubeError(err);
      if (error.code === 410 && continueToken !== undefined && restarts < 2) continue;
      throw error;
    }
  }
}
