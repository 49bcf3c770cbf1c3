import { parseJsonOrUndefined } from "../../model/json.ts";
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import { deployPhaseSchema } from "../../model/commit.ts";
import type { DeployInFlight, HeldLease, Overview } from "../../model/overview.ts";
import { DEFAULT_REGION_ROLE, regionRecordSchema, type RegionRecord } from "../../model/region.ts";
import { readNamespaces } from "../deploy/namespace-store.ts";
import { readMachines } from "../store/machines.ts";

export interface OverviewDeps {
  jsm: JetStreamManager;
  machines: KV;
  regions: KV;
  namespaces: KV;
  leases: KV;
  machineId: string;
}

/** The `overview` API verb, for the verbs map of actors/api/api.ts. */
export function overviewVerbs(deps: OverviewDeps): Record<string, (body: unknown) => Promise<unknown>> {
  return { overview: () => readOverview(deps) };
}

/**
 * What `ployz top` shows in its header, read from the store in one go: membership, region roles,
 * namespaces with their head commit, leases held and the deploys they stand for. A record that
 * does not parse is listed under `invalid`, never guessed at.
 */
export async function readOverview(deps: OverviewDeps): Promise<Overview> {
  const invalid: Overview["invalid"] = [];
  const [machines, regionRecords, namespaces, leases] = await Promise.all([
    readMachines(deps.machines),
    readTolerantRegions(deps.regions, invalid),
    readNamespaces(deps.namespaces),
    readLeases(deps.leases, invalid),
  ]);
  for (const bad of machines.invalid) invalid.push({ bucket: "machines", key: bad.key, error: bad.error });
  for (const key of namespaces.invalid) invalid.push({ bucket: "namespaces", key, error: "not a namespace record" });

  const regionNames = new Set([...regionRecords.map((r) => r.name), ...machines.machines.map((m) => m.region)]);
  const regions = [...regionNames].sort().map((name) => {
    const record = regionRecords.find((r) => r.name === name);
    return { name, role: record?.role ?? DEFAULT_REGION_ROLE, explicit: record !== undefined, machines: machines.machines.filter((m) => m.region === name).map((m) => m.id) };
  });
  const deploys = await Promise.all(leases.filter((l) => l.kind === "deploy" && l.deployId).map((l) => deployInFlight(deps.jsm, l)));
  return {
    type: "overview",
    at: new Date().toISOString(),
    answeredBy: deps.machineId,
    machines: machines.machines,
    regions,
    namespaces: namespaces.namespaces,
    leases,
    deploys,
    migrations: { supported: false, inFlight: [] },
    invalid,
  };
}

async function readTolerantRegions(regions: KV, invalid: Overview["invalid"]): Promise<RegionRecord[]> {
  const out: RegionRecord[] = [];
  for await (const key of await regions.keys()) {
    const entry = await regions.get(key);
    if (entry?.operation !== "PUT") continue;
    const parsed = regionRecordSchema.safeParse(parseJsonOrUndefined(entry.string()));
    if (parsed.success) out.push(parsed.data);
    else invalid.push({ bucket: "regions", key, error: parsed.error.issues[0]?.message ?? "invalid" });
  }
  return out;
}

/** Leases held now. Expired ones are gone: the bucket's max age removes them. */
async function readLeases(leases: KV, invalid: Overview["invalid"]): Promise<HeldLease[]> {
  const out: HeldLease[] = [];
  for await (const key of await leases.keys()) {
    const entry = await leases.get(key);
    if (entry?.operation !== "PUT") continue;
    const value = parseJsonOrUndefined(entry.string()) as { holder?: unknown; deployId?: unknown; since?: unknown } | undefined;
    if (!value || typeof value.holder !== "string") {
      invalid.push({ bucket: "leases", key, error: "no holder" });
      continue;
    }
    const dot = key.indexOf(".");
    out.push({
      key,
      kind: dot > 0 ? key.slice(0, dot) : key,
      name: dot > 0 ? key.slice(dot + 1) : "",
      holder: value.holder,
      ...(typeof value.deployId === "string" ? { deployId: value.deployId } : {}),
      ...(typeof value.since === "string" ? { since: value.since } : {}),
    });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}

/** The deploy a held lease stands for, with its last recorded phase when that phase is its own. */
async function deployInFlight(jsm: JetStreamManager, lease: HeldLease): Promise<DeployInFlight> {
  const deploy: DeployInFlight = { namespace: lease.name, deployId: lease.deployId!, machine: lease.holder, ...(lease.since ? { since: lease.since } : {}) };
  const msg = await jsm.streams.getMessage("STATUS", { last_by_subj: `status.${lease.name}.deploy` }).catch(() => null);
  const phase = msg ? deployPhaseSchema.safeParse(parseJsonOrUndefined(msg.string())) : undefined;
  if (phase?.success && phase.data.deployId === lease.deployId) deploy.phase = { phase: phase.data.phase, state: phase.data.state, at: phase.data.at };
  return deploy;
}
