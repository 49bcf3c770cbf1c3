/**
 * A deploy coordinator in a process of its own, for tests that must pause one (SIGSTOP) while the
 * cluster goes on: the same provided deploy statechart ployzd runs, against a running cluster's
 * NATS, participants and store, under a machine name of its own. Started by
 * `startCoordinatorProcess` (test/harness/coordinator.ts); reads its job from PLOYZ_COORDINATOR
 * and honours PLOYZ_FAULTS (`deploy.after-start:stop` …). Prints one JSON line per phase and a last
 * line with the outcome.
 */
import { randomBytes } from "node:crypto";
import { createActor, toPromise } from "xstate";
import { Participants } from "../../actors/deploy/participants.ts";
import { faultsFrom } from "../../actors/faults.ts";
import { hostPathRules } from "../../model/bind-policy.ts";
import type { NamespaceSpec } from "../../model/manifest.ts";
import { readIdentity } from "../../runtime/keys.ts";
import { silentLogger } from "../../runtime/logger.ts";
import { connectNats } from "../../runtime/nats/connect.ts";
import { inboxPrefix } from "../../model/roles.ts";
import { deployTiming, newDeployId, provideDeployMachine } from "../../runtime/deploy.ts";
import { openStore } from "../../runtime/store.ts";

interface Job {
  servers: string[];
  seedFile: string;
  machineId: string;
  holder: string;
  spec: NamespaceSpec;
  drainMs: number;
}

const job = JSON.parse(process.env.PLOYZ_COORDINATOR ?? "{}") as Job;
const print = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

const incarnation = randomBytes(6).toString("hex");
const nc = await connectNats({ servers: job.servers, seed: readIdentity(job.seedFile).seed, name: `coordinator ${job.holder}`, inboxPrefix: inboxPrefix({ role: "machine", name: job.machineId }), reconnect: true });
const store = await openStore(nc);
const machine = provideDeployMachine({
  nc,
  store: {
    js: store.js,
    jsm: store.jsm,
    machines: store.kv.machines,
    regions: store.kv.regions,
    namespaces: store.kv.namespaces,
    instances: store.kv.instances,
    leases: store.kv.leases,
    claims: store.kv.claims,
    policy: store.kv.policy,
  },
  images: store.images,
  participants: new Participants(nc, job.holder),
  machineId: job.holder,
  incarnation,
  log: silentLogger(),
  faults: faultsFrom(process.env.PLOYZ_FAULTS, (point, action) => print({ type: "fault", point, action })),
  hostPaths: hostPathRules(),
});
const deployId = newDeployId();
const actor = createActor(machine, {
  input: {
    deployId,
    namespace: job.spec.namespace,
    machineId: job.holder,
    incarnation,
    operation: { kind: "deploy", spec: job.spec },
    preview: false,
    timing: deployTiming(job.drainMs),
  },
  inspect: (event) => {
    if (event.type === "@xstate.snapshot" && event.actorRef === actor) print({ type: "state", value: (event.snapshot as unknown as { value: unknown }).value });
  },
});
print({ type: "accepted", deployId });
actor.start();
const outcome = await toPromise(actor);
print({ type: "outcome", outcome: { ...outcome, plan: undefined } });
await nc.close();
