import { z } from "zod";
import { JETSTREAM_DOMAIN } from "./store-layout.ts";
import { API_VERBS, MACHINE_VERBS, type ApiVerb, type MachineVerb } from "./subjects.ts";

/**
 * Who may do what, enforced by NATS itself: every identity is a user in the nats-server config
 * with the permissions of its role (rendered by runtime/nats/config.ts from `permissionsFor`).
 *
 * - machine: a node daemon. Serves `ployz.m.<self>.>` and the API, asks any machine for the verbs
 *   a coordinator needs, writes the store entries deploys and routing need. Never deletes a stream.
 * - operator: the CLI of someone who runs the cluster: the whole API, pushing images, service
 *   secrets. Not the TLS keys, and no direct writes to commits, routing, leases.
 * - observer: look, never touch: status, top, ps, routes, history, explain, events. No store access.
 * - gateway: a reader of routing and the certificates it serves (a gateway outside ployzd).
 *
 * Each identity has its own inbox prefix (`inboxPrefix`), and may subscribe only there (and
 * publish there, to itself), so no identity can read the replies another one gets.
 */

export const ROLES = ["machine", "operator", "observer", "gateway"] as const;
export type Role = (typeof ROLES)[number];
export const roleSchema = z.enum(ROLES);

/** The roles a credential handed to a person or an agent may have (`ployzctl credentials create --role`). */
export const CREDENTIAL_ROLES = ["operator", "observer", "gateway"] as const satisfies readonly Role[];
export type CredentialRole = (typeof CREDENTIAL_ROLES)[number];

/** One identity: its public nkey, its role, and the name its inbox prefix derives from. */
export interface Identity {
  nkey: string;
  role: Role;
  /** A machine id (machine role) or a credential name: one subject token. */
  name: string;
}

/** NATS permissions for one user, as nats-server's config takes them. */
export interface NatsPermissions {
  publish: { allow: string[]; deny?: string[] };
  subscribe: { allow: string[]; deny?: string[] };
}

/** `_INBOX.<m|c>.<name>`: machines and credentials never share a prefix. */
export function inboxPrefix(identity: Pick<Identity, "role" | "name">): string {
  return `_INBOX.${identity.role === "machine" ? "m" : "c"}.${identity.name}`;
}

/** API verbs that only read: what an observer may ask. Every API verb is classified (a test checks). */
export const READ_ONLY_API_VERBS = ["ping", "status", "machine.ls", "ps", "history", "explain", "region.ls", "routes", "overview", "namespace.binds", "events"] as const satisfies readonly ApiVerb[];
/** Machine verbs that only read. */
export const READ_ONLY_MACHINE_VERBS = ["observe.capacity", "observe.containers", "observe.instances", "observe.actors", "observe.routes", "observe.image", "observe.mesh"] as const satisfies readonly MachineVerb[];
/** Machine verbs one machine asks of another (deploy coordinators run anywhere): not `debug.*`, not `exec`. */
export const COORDINATOR_MACHINE_VERBS = MACHINE_VERBS.filter((v) => !v.startsWith("debug.") && v !== "exec");
/** Machine verbs only an operator may ask: running a command inside a container. */
export const OPERATOR_ONLY_MACHINE_VERBS = ["exec"] as const satisfies readonly MachineVerb[];

/**
 * The JetStream API as a server checks it: a server with JetStream maps the domain's prefix
 * (`$JS.ployz.API`) to `$JS.API` before it checks permissions; a leaf node without JetStream sees
 * the domain's prefix. Both forms mean the same operations.
 */
const API_PREFIXES = ["$JS.API", `$JS.${JETSTREAM_DOMAIN}.API`];
const jsApi = (...operations: string[]) => API_PREFIXES.flatMap((prefix) => operations.map((op) => `${prefix}.${op}`));

/** Reading stream `stream`: info, message and direct gets, and ephemeral (ordered) consumers. */
function readStream(stream: string): string[] {
  return jsApi(
    `STREAM.INFO.${stream}`,
    `STREAM.MSG.GET.${stream}`,
    `DIRECT.GET.${stream}`,
    `DIRECT.GET.${stream}.>`,
    `CONSUMER.CREATE.${stream}`,
    `CONSUMER.CREATE.${stream}.>`,
    `CONSUMER.INFO.${stream}.>`,
    `CONSUMER.DELETE.${stream}.>`,
    `CONSUMER.MSG.NEXT.${stream}.>`,
  );
}
const readKv = (bucket: string) => readStream(`KV_${bucket}`);
/** KV writes: `$KV.<bucket>.>`, which a client on a leaf node sends as `$JS.ployz.API.$KV.<bucket>.>` (the domain's mapping). */
const writeKv = (bucket: string) => [...readKv(bucket), `$KV.${bucket}.>`, `$JS.${JETSTREAM_DOMAIN}.API.$KV.${bucket}.>`];
const readObjects = (store: string) => readStream(`OBJ_${store}`);
const writeObjects = (store: string) => [...readObjects(store), `$O.${store}.>`];

/** What every client of the store needs: the account's JetStream info and flow control of consumers. */
const JS_CLIENT = [...jsApi("INFO"), "$JS.FC.>", "$JS.ACK.>"];

/**
 * The KV buckets a machine writes: deploys, routing, membership, credentials, certificates, service
 * secrets (migrations, clean-up), and joining (invites; mesh: subnet allocations and the leaf secret).
 */
const MACHINE_KV = ["meta", "machines", "regions", "namespaces", "instances", "leases", "locks", "claims", "secrets", "tls", "credentials", "policy", "invites", "mesh"];

export function permissionsFor(identity: Identity): NatsPermissions {
  const inbox = `${inboxPrefix(identity)}.>`;
  const api = (verbs: readonly string[]) => verbs.map((v) => `ployz.api.${v}`);
  const onMachines = (verbs: readonly string[]) => verbs.map((v) => `ployz.m.*.${v}`);
  switch (identity.role) {
    case "machine":
      return {
        publish: {
          allow: [
            ...onMachines(COORDINATOR_MACHINE_VERBS),
            // an operation for a namespace whose authority is another machine goes to that machine's API
            "ployz.authority.*.operate",
            `ployz.actors.${identity.name}`,
            `ployz.events.${identity.name}`,
            `ployz.containers.${identity.name}`,
            // deploy progress goes to the inbox the asking client named
            "_INBOX.>",
            "commits.>",
            "routing.>",
            "status.>",
            ...JS_CLIENT,
            // declaring the store, pruning the commits of a namespace
            ...jsApi("STREAM.NAMES", "STREAM.LIST", "STREAM.CREATE.*", "STREAM.UPDATE.*", "STREAM.PURGE.COMMITS", "STREAM.MSG.DELETE.COMMITS"),
            ...readStream("COMMITS"),
            ...readStream("ROUTING"),
            ...readStream("STATUS"),
            ...MACHINE_KV.flatMap(writeKv),
            ...readObjects("images"),
          ],
        },
        subscribe: {
          allow: [inbox, `ployz.m.${identity.name}.>`, `ployz.exec.${identity.name}.>`, "ployz.api.>", `ployz.authority.${identity.name}.operate`, `ployz.inspector.${identity.name}.>`, "ployz.containers.*"],
        },
        // Replies go to the asker's inbox (`_INBOX.>` above); no allow_responses, whose state a
        // config reload resets.
      };
    case "operator":
      return {
        publish: {
          allow: [
            inbox,
            ...api(API_VERBS),
            ...onMachines(MACHINE_VERBS.filter((v) => !v.startsWith("container.") && !v.startsWith("lock.") && v !== "probe.readiness")),
            // an exec session's input (stdin, resize, signals, credit): only operators may type into a container
            "ployz.exec.*.>",
            "ployz.inspector.*.>",
            ...JS_CLIENT,
            ...jsApi("STREAM.NAMES"),
            ...readStream("COMMITS"),
            ...readStream("ROUTING"),
            ...readStream("STATUS"),
            ...["meta", "machines", "regions", "namespaces", "instances", "leases", "claims"].flatMap(readKv),
            // service secrets are versioned by the CLI and stored before the deploy that uses them
            ...writeKv("secrets"),
            ...writeObjects("images"),
          ],
        },
        subscribe: { allow: [inbox, "ployz.actors.*", "ployz.events.*", "ployz.containers.*"] },
      };
    case "observer":
      return {
        publish: { allow: [inbox, ...api(READ_ONLY_API_VERBS), ...onMachines(READ_ONLY_MACHINE_VERBS), "ployz.inspector.*.>"] },
        subscribe: { allow: [inbox, "ployz.actors.*", "ployz.events.*"] },
      };
    case "gateway":
      return {
        publish: { allow: [inbox, ...JS_CLIENT, ...readStream("ROUTING"), ...readKv("tls")] },
        subscribe: { allow: [inbox] },
      };
  }
}
