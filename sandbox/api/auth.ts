// Static bearer-token authentication and simple role rules, enforced on every request
// (401 Unauthorized without a known token, 403 Forbidden with the real RBAC message).
import { ApiError } from "./types.js";

export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  namespaces?: string[];
}

export interface TokenEntry {
  name: string;
  token: string;
  groups?: string[];
  role?: "admin" | "edit" | "view";
  rules?: PolicyRule[];
}

export interface UserInfo {
  username: string;
  uid: string;
  groups: string[];
}

const READ = ["get", "list", "watch"];
const ALL = ["*"];

/** The preset roles, after Kubernetes' cluster-admin, edit and view ClusterRoles. */
export function presetRules(role: "admin" | "edit" | "view"): PolicyRule[] {
  switch (role) {
    case "admin":
      return [{ verbs: ALL, apiGroups: ["*"], resources: ["*"] }];
    case "edit":
      return [
        { verbs: ALL, apiGroups: ["*"], resources: ["*"] },
        // edit cannot change RBAC
        { verbs: READ, apiGroups: ["rbac.authorization.k8s.io"], resources: ["*"] },
      ];
    case "view":
      return [{ verbs: READ, apiGroups: ["*"], resources: ["*"] }];
  }
}

export interface AuthzRequest {
  verb: string;
  group: string;
  resource: string; // plural, or "plural/subresource"
  namespace?: string;
  name?: string;
}

function matches(list: string[], v: string): boolean {
  return list.includes("*") || list.includes(v);
}

const SELF_REVIEWS = new Set([
  "authorization.k8s.io/selfsubjectaccessreviews",
  "authorization.k8s.io/selfsubjectrulesreviews",
  "authentication.k8s.io/selfsubjectreviews",
]);

export class Authenticator {
  private readonly byToken = new Map<string, TokenEntry>();

  constructor(tokens: TokenEntry[]) {
    for (const t of tokens) this.byToken.set(t.token, t);
  }

  get entries(): TokenEntry[] {
    return [...this.byToken.values()];
  }

  /** The user behind an Authorization header, or undefined. */
  authenticate(header: string | undefined): UserInfo | undefined {
    const m = header?.match(/^Bearer\s+(.+)$/i);
    if (!m) return undefined;
    return this.userForToken(m[1].trim());
  }

  userForToken(token: string): UserInfo | undefined {
    const e = this.byToken.get(token);
    if (!e) return undefined;
    return { username: e.name, uid: `uid-${e.name}`, groups: [...(e.groups ?? []), "system:authenticated"] };
  }

  rulesFor(username: string): PolicyRule[] {
    const e = [...this.byToken.values()].find((x) => x.name === username);
    if (!e) return [];
    return e.rules ?? presetRules(e.role ?? "view");
  }

  allowed(user: UserInfo, req: AuthzRequest): boolean {
    // ClusterRole system:basic-user, bound to system:authenticated: every user may ask what it may do
    if (req.verb === "create" && SELF_REVIEWS.has(`${req.group}/${req.resource}`)) return true;
    // the edit preset lists a narrower rule after the wide one: deny RBAC writes explicitly
    const e = [...this.byToken.values()].find((x) => x.name === user.username);
    if (e?.role === "edit" && !e.rules && req.group === "rbac.authorization.k8s.io" && !READ.includes(req.verb))
      return false;
    if (e?.role === "view" && !e.rules && req.resource === "secrets") return false;
    for (const r of this.rulesFor(user.username)) {
      const resourceOk =
        matches(r.resources, req.resource) ||
        (req.resource.includes("/") && r.resources.includes(req.resource.split("/")[0] + "/*"));
      if (!matches(r.verbs, req.verb) || !matches(r.apiGroups, req.group) || !resourceOk) continue;
      if (r.namespaces && !(req.namespace && r.namespaces.includes(req.namespace))) continue;
      return true;
    }
    return false;
  }

  /** Throws the 403 a real RBAC authorizer gives. */
  authorize(user: UserInfo, req: AuthzRequest): void {
    if (this.allowed(user, req)) return;
    const [plural, sub] = req.resource.split("/");
    const what = sub ? `resource "${plural}/${sub}"` : `resource "${plural}"`;
    const scope = req.namespace ? ` in the namespace "${req.namespace}"` : " at the cluster scope";
    const objName = req.name ? ` "${req.name}"` : "";
    const groupPrefix = req.group ? `${plural}.${req.group}` : plural;
    throw new ApiError(
      403,
      "Forbidden",
      `${groupPrefix}${objName} is forbidden: User "${user.username}" cannot ${req.verb} ${what} in API group "${req.group}"${scope}`,
      { name: req.name, group: req.group || undefined, kind: plural },
    );
  }
}

export const unauthorized = () => new ApiError(401, "Unauthorized", "Unauthorized");
