// Mesh configuration a scenario adds on top of the control plane: the EnvoyFilter shorthand, expanded
// into the object users actually write (a Lua filter inserted before the router).
import type { KObject } from "../api/types.js";
import type { EnvoyFilterShorthand } from "./schema.js";

/**
 * A relative patch (INSERT_BEFORE the router) matched on `proxyVersion`: exactly the kind of filter that
 * istioctl analyze flags as IST0155 without a priority, and that stops applying once proxies move to a
 * version the regex does not match (istiod turns `^1\.NN.*` into a prefix match, pilot/pkg/model/envoyfilter.go).
 */
export function envoyFilterObject(f: EnvoyFilterShorthand): KObject {
  const header = `x-${f.name.replace(/\./g, "-")}`;
  const match: Record<string, unknown> = {
    context: f.context,
    listener: {
      filterChain: {
        filter: {
          name: "envoy.filters.network.http_connection_manager",
          subFilter: { name: "envoy.filters.http.router" },
        },
      },
    },
  };
  if (f.proxyVersion !== undefined) match.proxy = { proxyVersion: f.proxyVersion };
  return {
    apiVersion: "networking.istio.io/v1alpha3",
    kind: "EnvoyFilter",
    metadata: {
      name: f.name,
      namespace: f.namespace,
      ...(f.revision !== undefined ? { labels: { "istio.io/rev": f.revision } } : {}),
    },
    spec: {
      ...(f.workloadLabels ? { workloadSelector: { labels: { ...f.workloadLabels } } } : {}),
      ...(f.priority !== undefined ? { priority: f.priority } : {}),
      configPatches: [
        {
          applyTo: "HTTP_FILTER",
          match,
          patch: {
            operation: "INSERT_BEFORE",
            value: {
              name: "envoy.filters.http.lua",
              typed_config: {
                "@type": "type.googleapis.com/envoy.extensions.filters.http.lua.v3.Lua",
                inlineCode: `function envoy_on_request(request_handle)\n  request_handle:headers():add("${header}", "1")\nend\n`,
              },
            },
          },
        },
      ],
    },
  };
}
