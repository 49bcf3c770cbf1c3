import { createInbox, type NatsConnection } from "@nats-io/transport-node";
import { z } from "zod";
import { requestJson } from "../actors/nats/request.ts";
import { actorEventsMessageSchema, type ActorEventsMessage } from "../model/actor-events.ts";
import { actorSnapshotMessageSchema, type ActorSnapshotMessage } from "../model/actor-table.ts";
import { clusterStatusSchema, machineListSchema, pongSchema, type ClusterStatus, type MachineList, type Pong } from "../model/api.ts";
import { overviewSchema, type Overview } from "../model/overview.ts";
import { capacitySchema, containerListSchema, type Capacity, type ContainerList } from "../model/observation.ts";
import { subjects, type ApiVerb, type MachineVerb } from "../model/subjects.ts";
import {
  bindPolicyReplySchema,
  deployReplySchema,
  explainReplySchema,
  historyReplySchema,
  logsApiReplySchema,
  psReplySchema,
  regionLsReplySchema,
  regionSetReplySchema,
  type BindPolicyReply,
  type DeployReply,
  type ExplainReply,
  type HistoryReply,
  type LogsApiReply,
  type LogsApiRequest,
  type PsReply,
  type RegionLsReply,
  type RegionSetReply,
} from "../model/api-deploy.ts";
import { DEPLOY_TIMEOUT_MS, deployProgressSchema, type DeployProgress, type DeployRequest } from "../model/deploy.ts";
import { CoordinatorLostError, errorText, NoResponderError, RequestTimeoutError, PermissionDeniedError } from "../model/errors.ts";
import type { RegionRole } from "../model/region.ts";
import type { SecretValue } from "../model/service-secrets.ts";
import { clusterRoutesSchema, type ClusterRoutes } from "../model/routing-status.ts";
import { contextIdentity, type Context } from "./context.ts";
import { runExec, type ExecIo } from "./exec-client.ts";
import { pickInstance } from "../model/exec.ts";
import { eventsReplySchema, type EventsReply, type EventsRequest } from "../model/cluster-events.ts";

/** A deploy waits for readiness on every candidate: minutes, not seconds. */
import { readIdentity } from "./keys.ts";
import { connectNats } from "./nats/connect.ts";
import { inboxPrefix } from "../model/roles.ts";
import { inviteReplySchema, type InviteReply, type InviteRequest } from "../model/invite.ts";
import { credentialCreatedSchema, credentialListSchema, credentialRevokedSchema, type CreateCredentialRequest, type CredentialList } from "../model/credentials.ts";

/** Everything the CLI and TUI may ask of a cluster. Commands use only this. */
export interface PloyzClient {
  readonly context: Context;
  ping(): Promise<Pong>;
  status(): Promise<ClusterStatus>;
  machines(): Promise<MachineList>;
  capacity(machineId: string): Promise<Capacity>;
  containers(machineId: string): Promise<ContainerList>;
  crash(machineId: string, actor: string): Promise<void>;
  /** Deploys; `onProgress` hears the coordinator accept it and every phase. Fails at once if the coordinator's machine stops answering. */
  deploy(request: DeployRequest, options?: WatchOptions): Promise<DeployReply>;
  ps(namespace?: string): Promise<PsReply>;
  history(namespace: string): Promise<HistoryReply>;
  rollback(namespace: string, to?: number, options?: WatchOptions): Promise<DeployReply>;
  /** `namespace rm`: removes every instance, route and claim of the namespace; its history stays. */
  namespaceRm(namespace: string, options?: WatchOptions): Promise<DeployReply>;
  /** The host directories the namespace may bind-mount, the cluster's defaults, and what is refused always. */
  namespaceBinds(namespace: string): Promise<BindPolicyReply>;
  /** Allows the namespace to bind-mount host paths under `path` (refused for `/etc`, the Docker socket… and their parents). */
  namespaceAllowBind(namespace: string, path: string): Promise<BindPolicyReply>;
  /** Takes back an allowed directory; the namespace's next deploy may no longer mount it. */
  namespaceDisallowBind(namespace: string, path: string): Promise<BindPolicyReply>;
  explain(namespace: string, service: string): Promise<ExplainReply>;
  /** One round of a service's logs from every machine that holds an instance, merged by time; pass `cursors` back to go on. */
  logs(request: LogsApiRequest): Promise<LogsApiReply>;
  /** One page of the cluster's events (its durable Status), oldest first. */
  events(request: EventsRequest): Promise<EventsReply>;
  /**
   * Runs a command in an instance (the slot asked, or the lowest running one), wherever it runs:
   * through the participant of its machine. Resolves with the command's exit code.
   */
  exec(options: ExecOptions, io: ExecIo): Promise<number>;
  regionSet(region: string, role: RegionRole): Promise<RegionSetReply>;
  regionLs(): Promise<RegionLsReply>;
  routes(): Promise<ClusterRoutes>;
  /** `machine invite`: a one-time join token for a new machine (the answering machine serves the join). */
  inviteMachine(request: InviteRequest): Promise<InviteReply>;
  createCredential(request: CreateCredentialRequest): Promise<z.infer<typeof credentialCreatedSchema>>;
  listCredentials(): Promise<CredentialList>;
  revokeCredential(name: string): Promise<z.infer<typeof credentialRevokedSchema>>;
  /** Machines, regions, namespaces with head commits, leases and deploys in flight, from the store. */
  overview(): Promise<Overview>;
  /** One machine's actor snapshot now, asked of its inspector (fails at once if nobody answers there). */
  actors(machineId: string, timeoutMs?: number): Promise<ActorSnapshotMessage>;
  /** Every machine's (or one machine's) actor snapshots as they are published; returns the way to stop. */
  watchActors(onMessage: (message: ActorSnapshotMessage) => void, options?: WatchLiveOptions): () => void;
  /** Every machine's (or one machine's) actor event batches as they are published; returns the way to stop. */
  watchEvents(onMessage: (message: ActorEventsMessage) => void, options?: WatchLiveOptions): () => void;
  /** Saves `image` from the local dockerd into the cluster's image store. */
  pushImage(image: string): Promise<{ image: string; bytes: number; digest: string; imageId: string }>;
  /** The cluster's key for secret versions (created on first use), so a Compose file's secrets can be versioned. */
  secretVersionKey(): Promise<Uint8Array>;
  /** Stores secret values in the cluster's secret store (before the deploy that mounts them). */
  storeSecrets(values: readonly SecretValue[]): Promise<void>;
  close(): Promise<void>;
}

export interface ExecOptions {
  namespace: string;
  service: string;
  slot?: number;
  command: string[];
  /** `-t`: a pseudo-terminal (stdout and stderr become one stream). */
  tty: boolean;
  /** `-i`: pass stdin on. */
  stdin: boolean;
  /** Who runs it, as this side says (`user@host`), for the Status record. */
  user?: string;
}

export interface WatchOptions {
  onProgress?: (event: DeployProgress) => void;
}

export interface WatchLiveOptions {
  /** Only this machine. */
  machine?: string;
  /** Told about a message that does not parse (it is dropped). */
  onInvalid?: (subject: string, error: string) => void;
}

export interface ClientOptions {
  timeoutMs?: number;
}

/** Connects to the cluster a context names. Fails at once if nobody is there. */
export async function connectClient(context: Context, options: ClientOptions = {}): Promise<PloyzClient> {
  const identity = readIdentity(context.seedFile);
  const nc = await connectNats({ servers: context.servers, seed: identity.seed, name: `ployzctl ${context.name}`, inboxPrefix: inboxPrefix(contextIdentity(context)), reconnect: false });
  return new NatsClient(nc, context, options.timeoutMs ?? 10_000);
}

class NatsClient implements PloyzClient {
  constructor(
    private readonly nc: NatsConnection,
    readonly context: Context,
    private readonly timeoutMs: number,
  ) {}

  private async api<T>(verb: ApiVerb, schema: z.ZodType<T>, body: unknown = {}, timeoutMs = this.timeoutMs): Promise<T> {
    return await this.asRole(`ployzctl's ${verb}`, requestJson(this.nc, subjects.api(verb), body, schema, { who: "ployzd (API)", timeoutMs }));
  }

  /** A refusal by NATS, said in terms of this context's role. */
  private async asRole<T>(what: string, call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (error) {
      if (!(error instanceof PermissionDeniedError)) throw error;
      const { role, name } = contextIdentity(this.context);
      throw new PermissionDeniedError(`the ${role} role (context ${this.context.name}, identity ${name}) may not do ${what}: ${error.message}`, {
        hint: role === "operator" ? "a bug: the operator role should allow every ployzctl command" : "ask someone with the operator role, or use a context that has it",
        cause: error,
      });
    }
  }

  /**
   * A long operation (deploy, rollback): the request carries a progress inbox; once a coordinator
   * accepts it, its machine is asked every 2 s whether it is still there, and the call fails at
   * once, naming it, when it is not — instead of waiting out the long timeout.
   */
  private async watched<T>(verb: ApiVerb, schema: z.ZodType<T>, body: object, options: WatchOptions): Promise<T> {
    const inbox = createInbox(inboxPrefix(contextIdentity(this.context)));
    const sub = this.nc.subscribe(inbox);
    let accepted: Extract<DeployProgress, { type: "accepted" }> | undefined;
    let forwarded: Extract<DeployProgress, { type: "forwarded" }> | undefined;
    let reportLost!: (error: Error) => void;
    const lost = new Promise<never>((_, reject) => (reportLost = reject));
    void (async () => {
      for await (const msg of sub) {
        const event = deployProgressSchema.safeParse(msg.json());
        if (!event.success) continue;
        if (event.data.type === "accepted") accepted = event.data;
        if (event.data.type === "forwarded") forwarded = event.data;
        options.onProgress?.(event.data);
      }
    })();
    let checking = false;
    const answers = (machine: string) => requestJson(this.nc, subjects.machine(machine, "observe.actors"), {}, z.unknown(), { who: `machine ${machine}`, timeoutMs: 3_000 });
    const gone = (error: unknown) => error instanceof NoResponderError || error instanceof RequestTimeoutError;
    const watchdog = setInterval(() => {
      if (!accepted || checking) return;
      checking = true;
      const { machine, deployId, namespace } = accepted;
      const relay = forwarded;
      Promise.all([
        answers(machine).catch((error: unknown) => {
          if (!gone(error)) return;
          reportLost(
            new CoordinatorLostError(`machine ${machine}, which runs deploy ${deployId} of namespace ${namespace}, stopped answering (${errorText(error)}); the outcome is unknown`, {
              hint: "its lease expires within 15 s; the next deploy of the namespace removes what it left behind",
              cause: error,
            }),
          );
        }),
        // A forwarded operation's reply comes back through the machine that forwarded it.
        relay
          ? answers(relay.via).catch((error: unknown) => {
              if (!gone(error)) return;
              reportLost(
                new CoordinatorLostError(`machine ${relay.via}, which forwarded deploy ${deployId} of namespace ${namespace} to its authority ${relay.to}, stopped answering (${errorText(error)}) before it relayed the outcome; the deploy goes on at ${relay.to}`, {
                  hint: `\`ployzctl history -n ${namespace}\` shows whether it committed`,
                  cause: error,
                }),
              );
            })
          : undefined,
      ]).finally(() => (checking = false));
    }, 2_000);
    const call = this.api(verb, schema, { ...body, progress: inbox }, DEPLOY_TIMEOUT_MS);
    call.catch(() => undefined); // if the watchdog wins, this one's later failure is not news
    try {
      return await Promise.race([call, lost]);
    } finally {
      clearInterval(watchdog);
      sub.unsubscribe();
    }
  }

  private async machine<T>(machineId: string, verb: MachineVerb, schema: z.ZodType<T>, body: unknown = {}): Promise<T> {
    return await this.asRole(`${verb} on machine ${machineId}`, requestJson(this.nc, subjects.machine(machineId, verb), body, schema, { who: `machine ${machineId}`, timeoutMs: this.timeoutMs }));
  }

  ping() {
    return this.api("ping", pongSchema);
  }
  status() {
    return this.api("status", clusterStatusSchema);
  }
  machines() {
    return this.api("machine.ls", machineListSchema);
  }
  capacity(machineId: string) {
    return this.machine(machineId, "observe.capacity", capacitySchema);
  }
  containers(machineId: string) {
    return this.machine(machineId, "observe.containers", containerListSchema);
  }
  async crash(machineId: string, actor: string) {
    await this.machine(machineId, "debug.crash", z.object({ type: z.literal("crashed") }).passthrough(), { actor });
  }
  deploy(request: DeployRequest, options: WatchOptions = {}) {
    return this.watched("deploy", deployReplySchema, request, options);
  }
  ps(namespace?: string) {
    return this.api("ps", psReplySchema, namespace ? { namespace } : {});
  }
  history(namespace: string) {
    return this.api("history", historyReplySchema, { namespace });
  }
  rollback(namespace: string, to?: number, options: WatchOptions = {}) {
    return this.watched("rollback", deployReplySchema, { namespace, ...(to ? { to } : {}) }, options);
  }
  namespaceRm(namespace: string, options: WatchOptions = {}) {
    return this.watched("namespace.rm", deployReplySchema, { namespace }, options);
  }
  namespaceBinds(namespace: string) {
    return this.api("namespace.binds", bindPolicyReplySchema, { namespace });
  }
  namespaceAllowBind(namespace: string, path: string) {
    return this.api("namespace.allow-bind", bindPolicyReplySchema, { namespace, path });
  }
  namespaceDisallowBind(namespace: string, path: string) {
    return this.api("namespace.disallow-bind", bindPolicyReplySchema, { namespace, path });
  }
  explain(namespace: string, service: string) {
    return this.api("explain", explainReplySchema, { namespace, service });
  }
  events(request: EventsRequest) {
    return this.api("events", eventsReplySchema, request);
  }

  logs(request: LogsApiRequest) {
    return this.api("logs", logsApiReplySchema, request);
  }
  async exec(options: ExecOptions, io: ExecIo) {
    const { instances } = await this.ps(options.namespace);
    const chosen = pickInstance(instances, options.namespace, options.service, options.slot);
    const { slot: _slot, ...rest } = options;
    return await this.asRole(
      `exec on machine ${chosen.machine}`,
      runExec(this.nc, inboxPrefix(contextIdentity(this.context)), { ...rest, slot: chosen.slot, machine: chosen.machine, containerId: chosen.containerId }, io),
    );
  }
  regionSet(region: string, role: RegionRole) {
    return this.api("region.set", regionSetReplySchema, { region, role }, DEPLOY_TIMEOUT_MS);
  }
  regionLs() {
    return this.api("region.ls", regionLsReplySchema);
  }
  routes() {
    return this.api("routes", clusterRoutesSchema);
  }
  overview() {
    return this.api("overview", overviewSchema);
  }
  actors(machineId: string, timeoutMs = 2_000) {
    return requestJson(this.nc, subjects.inspector(machineId), {}, actorSnapshotMessageSchema, { who: `the inspector of machine ${machineId}`, timeoutMs });
  }
  watchActors(onMessage: (message: ActorSnapshotMessage) => void, options: WatchLiveOptions = {}) {
    return this.watchLive(options.machine ? subjects.actors(options.machine) : subjects.actorsAll(), actorSnapshotMessageSchema, onMessage, options);
  }
  watchEvents(onMessage: (message: ActorEventsMessage) => void, options: WatchLiveOptions = {}) {
    return this.watchLive(options.machine ? subjects.events(options.machine) : subjects.eventsAll(), actorEventsMessageSchema, onMessage, options);
  }
  /** A core subscription whose messages are validated where they enter. */
  private watchLive<T>(subject: string, schema: z.ZodType<T>, onMessage: (message: T) => void, options: WatchLiveOptions): () => void {
    const sub = this.nc.subscribe(subject, {
      callback: (error, msg) => {
        if (error) return;
        let json: unknown;
        try {
          json = msg.json();
        } catch {
          options.onInvalid?.(msg.subject, "not JSON");
          return;
        }
        const parsed = schema.safeParse(json);
        if (parsed.success) onMessage(parsed.data);
        else options.onInvalid?.(msg.subject, parsed.error.issues[0]?.message ?? "invalid");
      },
    });
    return () => sub.unsubscribe();
  }
  inviteMachine(request: InviteRequest) {
    return this.api("machine.invite", inviteReplySchema, request);
  }
  createCredential(request: CreateCredentialRequest) {
    return this.api("credentials.create", credentialCreatedSchema, request);
  }
  listCredentials() {
    return this.api("credentials.ls", credentialListSchema);
  }
  revokeCredential(name: string) {
    return this.api("credentials.revoke", credentialRevokedSchema, { name });
  }
  async pushImage(image: string) {
    // Only this command needs Docker on the operator's side; the CLI does not load it otherwise.
    const { pushImage } = await import("./images.ts");
    return await pushImage(this.nc, image);
  }
  async secretVersionKey() {
    const { bucket, secretVersionKey } = await this.secretsBucket();
    return await secretVersionKey(bucket);
  }
  async storeSecrets(values: readonly SecretValue[]) {
    if (values.length === 0) return;
    const { bucket, storeServiceSecrets } = await this.secretsBucket();
    await storeServiceSecrets(bucket, values);
  }
  /**
   * The secrets bucket (the JetStream and KV clients: ~200 kB) for the secret verbs, loaded when a
   * deploy with secrets needs them: every other command, `status` above all, starts without it.
   */
  private async secretsBucket() {
    const [{ openBucket }, { secretVersionKey, storeServiceSecrets }] = await Promise.all([import("./store.ts"), import("../actors/store/service-secrets.ts")]);
    return { bucket: await openBucket(this.nc, "secrets"), secretVersionKey, storeServiceSecrets };
  }
  async close() {
    await this.nc.close();
  }
}
