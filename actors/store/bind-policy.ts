import { JetStreamApiError } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { bindPolicyDocSchema, bindPolicyKey, type BindPolicyChange, type BindPolicyDoc } from "../../model/bind-policy.ts";
import { InvalidStateError } from "../../model/errors.ts";
import { fromStore, storeUnavailable } from "./store-errors.ts";
import { parseJsonOrUndefined } from "../../model/json.ts";

/**
 * A namespace's bind policy in KV `policy`, key `binds.<ns>` (model/bind-policy.ts): read by
 * planning and by the machine that starts a container, changed by the API's allow-bind and
 * disallow-bind with compare-and-set, so two operators changing it at once both count.
 */

const WRONG_LAST_SEQUENCE = 10071;
const MAX_ATTEMPTS = 5;

/** The namespace's document (null when none was ever written) and its revision (0 then). Unreadable or invalid: an error, never "nothing allowed". */
export async function readBindPolicy(policy: KV, namespace: string): Promise<{ doc: BindPolicyDoc | null; revision: number }> {
  const key = bindPolicyKey(namespace);
  const entry = await fromStore(`the bind policy of ${namespace} (KV policy, key ${key})`, () => policy.get(key));
  if (entry?.operation !== "PUT") return { doc: null, revision: entry?.revision ?? 0 };
  const parsed = bindPolicyDocSchema.safeParse(parseJsonOrUndefined(entry.string()));
  if (!parsed.success || parsed.data.namespace !== namespace) {
    throw new InvalidStateError(`the bind policy of ${namespace} (KV policy, key ${key}) is invalid; refusing to judge bind mounts on it`, {
      hint: `set it again with \`ployzctl namespace allow-bind ${namespace} DIR\` after removing the key`,
    });
  }
  return { doc: parsed.data, revision: entry.revision };
}

/** The directories the namespace may bind from (the cluster's defaults not included). */
export async function allowedBindDirs(policy: KV, namespace: string): Promise<string[]> {
  return (await readBindPolicy(policy, namespace)).doc?.allowed ?? [];
}

/**
 * Read-modify-write of the namespace's document: `change` decides on what is stored now and is
 * asked again if someone wrote in between. Returns what it decided last (written if changed).
 */
export async function changeBindPolicy<C extends BindPolicyChange>(policy: KV, namespace: string, change: (doc: BindPolicyDoc | null) => C): Promise<C> {
  const key = bindPolicyKey(namespace);
  for (let attempt = 1; ; attempt++) {
    const { doc, revision } = await readBindPolicy(policy, namespace);
    const decided = change(doc);
    if (decided.kind !== "changed") return decided;
    try {
      if (revision > 0) await policy.update(key, JSON.stringify(decided.doc), revision);
      else await policy.create(key, JSON.stringify(decided.doc));
      return decided;
    } catch (error) {
      if (!(error instanceof JetStreamApiError && error.code === WRONG_LAST_SEQUENCE) || attempt >= MAX_ATTEMPTS) throw storeUnavailable(error, `the bind policy of ${namespace} (KV policy, key ${key})`);
    }
  }
}
