import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import { API_VERBS, MACHINE_VERBS } from "../model/subjects.ts";

/**
 * Every Prometheus metric a node exports, in one place (`ployz_` prefix, base units, `_total`
 * counters). Label values come from closed sets only — verbs, phases, actor and consumer names,
 * outcomes — never a container id, a namespace or a hostname from a manifest: a label the
 * outside world can grow would grow the series without bound.
 *
 * The registry is the node's own (not prom-client's global one), so two nodes in one process
 * (tests) never mix their numbers.
 */
export interface NodeMetrics {
  registry: Registry;
  deploys: Counter<"outcome">;
  deployFailures: Counter<"phase">;
  deployDuration: Histogram<"outcome">;
  leaseRefusals: Counter;
  reconcilerActions: Counter<"kind">;
  requestDuration: Histogram<"server" | "verb" | "outcome">;
  /** Deploys under way on this machine: when each began (for the duration histogram). */
  deployStarted(deployId: string, at: number): void;
  /** A deploy ended: counts it, and its failed phase; `lease-held` is a lease refusal. */
  deployEnded(deployId: string, at: number, outcome: { ok: true } | { ok: false; phase: string; code?: string | undefined }): void;
  /** Times one answered request of `server`; a verb outside the known ones is counted as `unknown`. */
  requestAnswered(server: "participant" | "api", verb: string, seconds: number, ok: boolean): void;
}

/** What the node tells the metrics at scrape time (asked, not pushed): its children and routing consumers. */
export interface NodeMetricSources {
  children: () => ReadonlyArray<{ name: string; state: string; restarts: number }>;
  routing: () => ReadonlyArray<{ kind: string; seq: number; reloads: number; freshness: { state: string } }>;
  /** One NATS round trip to this machine's server. */
  natsRoundTrip: () => Promise<number>;
}

/** Phases a deploy can fail in (machines/deploy.ts); anything else is `other`. */
const DEPLOY_PHASES = new Set(["lease", "observe", "plan", "lock", "start", "readiness", "claim", "commit", "settle", "shutdown", "unknown"]);
const KNOWN_VERBS = { participant: new Set<string>(MACHINE_VERBS), api: new Set<string>(API_VERBS) };

/** How often the event-loop delay is sampled (ms). */
const EVENT_LOOP_SAMPLE_MS = 500;

/** Deploys take seconds to minutes. */
const DEPLOY_BUCKETS = [0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900];
/** Requests take milliseconds; exec and logs rounds may take seconds. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export function createNodeMetrics(machineId: string): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ machine: machineId });
  // The event-loop delay monitor samples on a timer: prom-client's 10 ms default wakes an idle
  // ployzd 100 times a second (a measurable share of its idle CPU); 500 ms still sees every stall
  // that matters to a daemon.
  collectDefaultMetrics({ register: registry, prefix: "ployz_process_", eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  const deploys = new Counter({ name: "ployz_deploys_total", help: "Deploys coordinated by this machine that ended, by outcome (ok, failed).", labelNames: ["outcome"], registers: [registry] });
  const deployFailures = new Counter({ name: "ployz_deploy_failures_total", help: "Failed deploys coordinated by this machine, by the phase they failed in.", labelNames: ["phase"], registers: [registry] });
  const deployDuration = new Histogram({ name: "ployz_deploy_duration_seconds", help: "How long deploys coordinated by this machine took, from asking for the lease to the end.", labelNames: ["outcome"], buckets: DEPLOY_BUCKETS, registers: [registry] });
  const leaseRefusals = new Counter({ name: "ployz_lease_refusals_total", help: "Deploys refused because another deploy held the namespace's lease.", registers: [registry] });
  const reconcilerActions = new Counter({ name: "ployz_reconciler_actions_total", help: "What the reconcilers of this machine did, by kind (note, repair, lease-broken, repair-committed, repair-failed, repair-settled).", labelNames: ["kind"], registers: [registry] });
  const requestDuration = new Histogram({ name: "ployz_request_duration_seconds", help: "Time to answer a request, by server (participant, api), verb and outcome (ok, error).", labelNames: ["server", "verb", "outcome"], buckets: REQUEST_BUCKETS, registers: [registry] });
  for (const outcome of ["ok", "failed"]) deploys.inc({ outcome }, 0);
  leaseRefusals.inc(0);

  const started = new Map<string, number>();
  return {
    registry,
    deploys,
    deployFailures,
    deployDuration,
    leaseRefusals,
    reconcilerActions,
    requestDuration,
    deployStarted(deployId, at) {
      started.set(deployId, at);
    },
    deployEnded(deployId, at, outcome) {
      const began = started.get(deployId);
      started.delete(deployId);
      const label = outcome.ok ? "ok" : "failed";
      deploys.inc({ outcome: label });
      if (began !== undefined) deployDuration.observe({ outcome: label }, (at - began) / 1000);
      if (outcome.ok) return;
      deployFailures.inc({ phase: DEPLOY_PHASES.has(outcome.phase) ? outcome.phase : "other" });
      if (outcome.code === "lease-held") leaseRefusals.inc();
    },
    requestAnswered(server, verb, seconds, ok) {
      requestDuration.observe({ server, verb: KNOWN_VERBS[server].has(verb) ? verb : "unknown", outcome: ok ? "ok" : "error" }, seconds);
    },
  };
}

/** The metrics read at scrape time from the node's actors and its NATS connection. */
export function registerNodeSources(metrics: NodeMetrics, sources: NodeMetricSources): void {
  const registers = [metrics.registry];
  new Counter({
    name: "ployz_actor_restarts_total",
    help: "Restarts of each supervised child of the node since ployzd started.",
    labelNames: ["actor"],
    registers,
    collect() {
      this.reset();
      for (const child of sources.children()) this.inc({ actor: child.name }, child.restarts);
    },
  });
  new Gauge({
    name: "ployz_actor_failed",
    help: "1 when a supervised child crashed too often and was given up on (failed), else 0.",
    labelNames: ["actor"],
    registers,
    collect() {
      for (const child of sources.children()) this.set({ actor: child.name }, child.state === "failed" ? 1 : 0);
    },
  });
  new Gauge({
    name: "ployz_routing_fresh",
    help: "1 when a routing consumer (gateway, dns) serves a projection known to be current, 0 when loading or stale.",
    labelNames: ["consumer"],
    registers,
    collect() {
      for (const c of sources.routing()) this.set({ consumer: c.kind }, c.freshness.state === "fresh" ? 1 : 0);
    },
  });
  new Counter({
    name: "ployz_routing_reloads_total",
    help: "Times a routing consumer reloaded its projection from the ROUTING stream (gap, missed heartbeat, reconnect).",
    labelNames: ["consumer"],
    registers,
    collect() {
      this.reset();
      for (const c of sources.routing()) this.inc({ consumer: c.kind }, c.reloads);
    },
  });
  new Gauge({
    name: "ployz_routing_sequence",
    help: "The last ROUTING stream sequence a routing consumer applied.",
    labelNames: ["consumer"],
    registers,
    collect() {
      for (const c of sources.routing()) this.set({ consumer: c.kind }, c.seq);
    },
  });
  new Gauge({
    name: "ployz_nats_round_trip_seconds",
    help: "One NATS round trip from ployzd to this machine's nats-server, measured at scrape.",
    registers,
    async collect() {
      // A scrape while NATS is away still answers (the other metrics matter most then): NaN says "no round trip".
      this.set(await sources.natsRoundTrip().catch(() => Number.NaN));
    },
  });
}
