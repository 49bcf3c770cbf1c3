import type { DeployEvent } from "../../machines/deploy.ts";
import type { StartedCandidate } from "../../model/deploy.ts";
import { DeployFailedError } from "../../model/errors.ts";
import { startOrder, type NamespaceSpec } from "../../model/manifest.ts";
import type { Plan } from "../../model/plan.ts";
import type { Leftover } from "../../model/roll-forward.ts";
import type { Participants } from "./participants.ts";

/** Machines a plan touches: where it creates or removes. */
export function machinesTouched(plan: Plan): string[] {
  const machines = new Set<string>();
  for (const op of plan.operations) if (op.type !== "keep") machines.add(op.machine);
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

/** Releases the participant locks; what could not be released is a warning (the lock expires with its max age). */
export async function releaseLocks(participants: Participants, namespace: string, deployId: string, locked: string[]): Promise<string[]> {
  const results = await Promise.allSettled(locked.map((m) => participants.unlock(m, namespace, deployId)));
  return results.flatMap((r, i) => (r.status === "rejected" ? [`could not release the lock on ${locked[i]}: ${(r.reason as Error).message}`] : []));
}

/**
 * Starts every `create` of the plan, service by service in dependency order (replicas of one
 * service in parallel), reporting each started candidate. Returns a stop function: once called,
 * no further start is sent (those in flight are refused by their participant once this deploy
 * no longer holds its lock, or abandoned when their budget runs out).
 */
export function startCandidates(
  participants: Participants,
  input: { namespace: string; deployId: string; token: number; spec: NamespaceSpec; plan: Plan; images: Record<string, string> },
  sendBack: (event: DeployEvent) => void,
): () => void {
  let stopped = false;
  void (async () => {
    try {
      for (const service of startOrder(input.spec)) {
        if (stopped) return;
        const creates = input.plan.operations.filter((op) => op.type === "create" && op.service === service);
        const spec = input.spec.services[service]!;
        const results = await Promise.allSettled(
          creates.map(async (op) => {
            const started = await participants.start(op.machine, {
              namespace: input.namespace,
              deployId: input.deployId,
              fenceSeq: input.token,
              service,
              slot: op.slot,
              revision: op.revision,
              imageId: input.images[spec.image]!,
              spec,
            });
            const candidate: StartedCandidate = {
              service,
              slot: op.slot,
              revision: op.revision,
              machine: op.machine,
              containerId: started.containerId,
              containerName: started.containerName,
              startedAt: new Date().toISOString(),
            };
            if (!stopped) sendBack({ type: "STARTED", candidate });
          }),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failed) throw failed.reason;
      }
      if (!stopped) sendBack({ type: "ALL_STARTED" });
    } catch (error) {
      if (!stopped) sendBack({ type: "START_FAILED", error });
    }
  })();
  return () => {
    stopped = true;
  };
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
export async function waitForGateways(participants: Participants, machines: string[], routingSeq: number, timeoutMs: number, signal?: AbortSignal): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set(machines);
  while (pending.size > 0 && Date.now() < deadline && !signal?.aborted) {
    await Promise.all(
      [...pending].map(async (machine) => {
        const reply = await participants.routes(machine).catch(() => undefined); // not answering yet: asked again below, reported if it never does
        const consumers = reply?.consumers.filter((c) => c.kind === "gateway" || c.kind === "dns") ?? [];
        if (consumers.length === 2 && consumers.every((c) => c.seq >= routingSeq)) pending.delete(machine);
      }),
    );
    if (pending.size > 0) await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return [...pending].map((m) => `the gateway or DNS on ${m} had not applied routing sequence ${routingSeq} within ${timeoutMs} ms when old instances were drained`);
}

/** Removes containers the head does not name, under the holder's fence; each removal is a note. */
export async function removeLeftovers(participants: Participants, input: { namespace: string; deployId: string; token: number; leftovers: Leftover[] }): Promise<string[]> {
  const results = await Promise.allSettled(
    input.leftovers.map((l) => participants.remove(l.machine, { namespace: input.namespace, deployId: input.deployId, fenceSeq: input.token, containerId: l.containerId })),
  );
  const failed = results.flatMap((r, i) => (r.status === "rejected" ? [`${input.leftovers[i]!.name} on ${input.leftovers[i]!.machine}: ${(r.reason as Error).message}`] : []));
  if (failed.length > 0) throw new DeployFailedError(`could not remove what the head does not name: ${failed.join("; ")}`);
  return input.leftovers.map((l) => `removed ${l.name} on ${l.machine} (${l.routed ? "replaced" : "never committed"}, deploy ${l.deployId})`);
}

/**
 * Removes every candidate this deploy started (compensation before the commit): those it heard
 * of, and any other container labelled with its deploy id on the machines it touched (a start
 * whose answer it never got). Fails naming what could not be removed: the reconciler removes it.
 */
export async function removeCandidates(
  participants: Participants,
  input: { namespace: string; deployId: string; token: number | undefined; started: StartedCandidate[]; machines: string[] },
): Promise<string[]> {
  if (input.token === undefined) return [];
  const targets = new Map(input.started.map((c) => [c.containerId, { machine: c.machine, name: c.containerName }]));
  const listed = await Promise.allSettled(input.machines.map((m) => participants.instances(m, input.namespace)));
  const problems: string[] = [];
  listed.forEach((r, i) => {
    if (r.status === "fulfilled") for (const c of r.value.containers) if (c.deployId === input.deployId) targets.set(c.containerId, { machine: input.machines[i]!, name: c.name });
    if (r.status === "rejected") problems.push(`could not list ${input.machines[i]}: ${(r.reason as Error).message}`);
  });
  const removals = [...targets].map(([containerId, t]) => ({ containerId, ...t }));
  const results = await Promise.allSettled(
    removals.map((t) => participants.remove(t.machine, { namespace: input.namespace, deployId: input.deployId, fenceSeq: input.token!, containerId: t.containerId })),
  );
  results.forEach((r, i) => {
    if (r.status === "rejected") problems.push(`could not remove candidate ${removals[i]!.name}: ${(r.reason as Error).message}`);
  });
  if (problems.length > 0) throw new DeployFailedError(problems.join("; "));
  return [];
}
