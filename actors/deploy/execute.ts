import type { DeployEvent } from "../../machines/deploy.ts";
import type { StartedCandidate, World } from "../../model/deploy.ts";
import { DeployFailedError } from "../../model/errors.ts";
import { startOrder, type NamespaceSpec } from "../../model/manifest.ts";
import type { Plan } from "../../model/plan.ts";
import type { Participants } from "./participants.ts";

/** Machines a plan touches: where it creates or removes, and where orphans sit. */
export function machinesTouched(plan: Plan, world: World): string[] {
  const machines = new Set<string>();
  for (const op of plan.operations) if (op.type !== "keep") machines.add(op.machine);
  for (const orphan of world.orphans) machines.add(orphan.machine);
  return [...machines].sort();
}

/** Locks every touched machine for this deploy; on any refusal, releases what it took and fails. */
export async function lockParticipants(participants: Participants, namespace: string, deployId: string, machines: string[]): Promise<string[]> {
  const locked: string[] = [];
  try {
    for (const machine of machines) {
      await participants.lock(machine, namespace, deployId);
      locked.push(machine);
    }
    return locked;
  } catch (error) {
    await Promise.allSettled(locked.map((m) => participants.unlock(m, namespace, deployId)));
    throw error;
  }
}

/** Removes containers left by deploys that never committed; returns what it did, as notes. */
export async function removeOrphans(participants: Participants, namespace: string, deployId: string, world: World): Promise<string[]> {
  const notes: string[] = [];
  for (const orphan of world.orphans) {
    await participants.remove(orphan.machine, { namespace, deployId, containerId: orphan.containerId });
    notes.push(`removed orphan ${orphan.name} on ${orphan.machine} (deploy ${orphan.deployId} never committed)`);
  }
  return notes;
}

/**
 * Starts every `create` of the plan, service by service in dependency order (replicas of one
 * service in parallel), reporting each started candidate so a failure can remove them all.
 */
export function startCandidates(
  participants: Participants,
  input: { namespace: string; deployId: string; spec: NamespaceSpec; plan: Plan },
  sendBack: (event: DeployEvent) => void,
): void {
  void (async () => {
    try {
      for (const service of startOrder(input.spec)) {
        const creates = input.plan.operations.filter((op) => op.type === "create" && op.service === service);
        const results = await Promise.allSettled(
          creates.map(async (op) => {
            const started = await participants.start(op.machine, {
              namespace: input.namespace,
              deployId: input.deployId,
              service,
              slot: op.slot,
              revision: op.revision,
              spec: input.spec.services[service]!,
            });
            const candidate: StartedCandidate = {
              service,
              slot: op.slot,
              revision: op.revision,
              machine: op.machine,
              containerId: started.containerId,
              containerName: started.containerName,
              ...(started.address ? { address: started.address } : {}),
            };
            sendBack({ type: "STARTED", candidate });
          }),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      }
      sendBack({ type: "ALL_STARTED" });
    } catch (error) {
      sendBack({ type: "START_FAILED", error });
    }
  })();
}

/** Waits until every candidate is ready; the first that is not fails the deploy, naming it. */
export async function probeCandidates(
  participants: Participants,
  input: { namespace: string; deployId: string; spec: NamespaceSpec; started: StartedCandidate[] },
): Promise<void> {
  await Promise.all(
    input.started.map(async (c) => {
      const probe = input.spec.services[c.service]!.readiness;
      try {
        await participants.probe(c.machine, { namespace: input.namespace, deployId: input.deployId, containerId: c.containerId, ...(probe ? { probe } : {}) });
      } catch (error) {
        throw new DeployFailedError(`${c.service}#${c.slot} on ${c.machine} did not become ready: ${error instanceof Error ? error.message : String(error)}`, {
          cause: error,
        });
      }
    }),
  );
}

/**
 * Waits until the gateway and the DNS of every given machine serve routing up to `routingSeq`
 * (the gateway resolves backends through the DNS), so the new backends are routed before the old
 * ones go, for at most `timeoutMs`; returns the machines that did not get there, as warnings.
 */
export async function waitForGateways(participants: Participants, machines: string[], routingSeq: number, timeoutMs: number): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(machines);
  while (pending.size > 0 && Date.now() < deadline) {
    await Promise.all(
      [...pending].map(async (machine) => {
        const reply = await participants.routes(machine).catch(() => undefined);
        const consumers = reply?.consumers.filter((c) => c.kind === "gateway" || c.kind === "dns") ?? [];
        if (consumers.length === 2 && consumers.every((c) => c.seq >= routingSeq)) pending.delete(machine);
      }),
    );
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [...pending].map((m) => `the gateway or DNS on ${m} had not applied routing sequence ${routingSeq} within ${timeoutMs} ms when old instances were drained`);
}

/** Removes the instances the committed plan replaced or dropped; failures become warnings. */
export async function drainOld(participants: Participants, input: { namespace: string; deployId: string; plan: Plan }, drainMs: number): Promise<string[]> {
  const removes = input.plan.operations.filter((op) => op.type === "remove");
  const results = await Promise.allSettled(
    removes.map((op) => participants.remove(op.machine, { namespace: input.namespace, deployId: input.deployId, containerId: op.containerId, drainMs })),
  );
  return results.flatMap((r, i) =>
    r.status === "rejected" ? [`could not remove ${removes[i]!.service}#${removes[i]!.slot} on ${removes[i]!.machine}: ${(r.reason as Error).message}`] : [],
  );
}

/** Removes every candidate this deploy started (compensation before commit). */
export async function removeCandidates(participants: Participants, input: { namespace: string; deployId: string; started: StartedCandidate[] }): Promise<string[]> {
  const results = await Promise.allSettled(
    input.started.map((c) => participants.remove(c.machine, { namespace: input.namespace, deployId: input.deployId, containerId: c.containerId })),
  );
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`could not remove candidate ${input.started[i]!.containerName}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new DeployFailedError(failed.join("; "));
  return [];
}
