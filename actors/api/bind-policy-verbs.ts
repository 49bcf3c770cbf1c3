import type { KV } from "@nats-io/kv";
import { namespaceBindRequestSchema, namespaceRefSchema, type BindPolicyReply } from "../../model/api-deploy.ts";
import { withAllowedDir, withoutAllowedDir, type BindPolicyDoc, type HostPathRules } from "../../model/bind-policy.ts";
import { BindRefusedError, NotFoundError } from "../../model/errors.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { changeBindPolicy, readBindPolicy } from "../store/bind-policy.ts";

export interface BindPolicyVerbDeps {
  /** KV `policy`. */
  policy: KV;
  /** What this machine refuses always, and the cluster's default directories. */
  hostPaths: HostPathRules;
  machineId: string;
}

/**
 * `namespace.binds`, `namespace.allow-bind`, `namespace.disallow-bind`: the operator's side of
 * the bind policy (model/bind-policy.ts). Served by ployzd so that the store is written in one
 * place, by compare-and-set; a deploy reads it when it plans, the machine that starts a
 * container when it starts it. A change applies to the next deploy: running containers keep
 * their mounts.
 */
export function bindPolicyVerbs(deps: BindPolicyVerbDeps): Record<string, (body: unknown) => Promise<unknown>> {
  const reply = (namespace: string, doc: BindPolicyDoc | null, change?: { path: string; changed: boolean }): BindPolicyReply => ({
    type: "bind-policy",
    namespace,
    allowed: doc?.allowed ?? [],
    defaults: [...deps.hostPaths.defaults],
    refused: deps.hostPaths.refused.map((r) => ({ path: r.path, why: r.why })),
    answeredBy: deps.machineId,
    ...change,
  });

  return {
    "namespace.binds": async (body) => {
      const { namespace } = parseRequest(namespaceRefSchema, body, "namespace.binds");
      return reply(namespace, (await readBindPolicy(deps.policy, namespace)).doc);
    },

    "namespace.allow-bind": async (body) => {
      const { namespace, path } = parseRequest(namespaceBindRequestSchema, body, "namespace.allow-bind");
      const decided = await changeBindPolicy(deps.policy, namespace, (doc) => withAllowedDir(doc, namespace, path, deps.hostPaths, new Date()));
      if (decided.kind === "refused") {
        throw new BindRefusedError(decided.reason, { hint: `allow a directory of the namespace's own instead, like /srv/${namespace}` });
      }
      return reply(namespace, decided.doc, { path, changed: decided.kind === "changed" });
    },

    "namespace.disallow-bind": async (body) => {
      const { namespace, path } = parseRequest(namespaceBindRequestSchema, body, "namespace.disallow-bind");
      const decided = await changeBindPolicy(deps.policy, namespace, (doc) => withoutAllowedDir(doc, namespace, path, new Date()));
      if (decided.kind === "unchanged") {
        const allowed = decided.doc?.allowed ?? [];
        throw new NotFoundError(`${path} is not allowed for namespace ${namespace}: nothing to disallow`, {
          hint: allowed.length > 0 ? `its allowed directories: ${allowed.join(", ")}` : "it has no allowed directories",
        });
      }
      return reply(namespace, decided.doc, { path, changed: true });
    },
  };
}
