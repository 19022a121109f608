// Client-side routes on the History API: the server answers every page path with index.html, and
// this decides what it shows. A route is a path pattern and a page; the Upgrade page of the engine
// work drops in as one more entry in ROUTES (App.tsx).
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from "react";

const listeners = new Set<() => void>();

function notify(): void {
  for (const l of [...listeners]) l();
}

window.addEventListener("popstate", notify);

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return;
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  notify();
}

function subscribe(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** The current path and query, re-rendering on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, () => location.pathname + location.search);
  const url = new URL(href, location.origin);
  return { pathname: url.pathname, search: url.searchParams };
}

/** Replaces the query string (filters, the precheck target) without a new history entry. */
export function setSearch(params: Record<string, string | undefined>): void {
  const search = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === "") search.delete(k);
    else search.set(k, v);
  }
  const text = search.toString();
  navigate(`${location.pathname}${text ? `?${text}` : ""}`, { replace: true });
}

export interface RouteDefinition {
  /** "/upgrades/:name" */
  path: string;
  /** shown in the navigation bar when set */
  nav?: string;
  render: (params: Record<string, string>) => ReactNode;
}

export function matchRoute(
  routes: RouteDefinition[],
  pathname: string,
): { route: RouteDefinition; params: Record<string, string> } | undefined {
  for (const route of routes) {
    const names: string[] = [];
    const pattern = new RegExp(
      `^${route.path.replace(/:([a-zA-Z]+)/g, (_, n: string) => {
        names.push(n);
        return "([^/]+)";
      })}/?$`,
    );
    const m = pattern.exec(pathname);
    if (m) return { route, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1])])) };
  }
  return undefined;
}

export function Link(props: AnchorHTMLAttributes<HTMLAnchorElement> & { to: string }) {
  const { to, onClick, ...rest } = props;
  const click = (e: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}
