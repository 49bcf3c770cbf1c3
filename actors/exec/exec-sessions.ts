import { randomBytes } from "node:crypto";
import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { InvalidArgumentError } from "../../model/errors.ts";
import { commandLine, execStatusRecordSchema, identityOfInbox, type ExecStarted, type ExecStatusRecord, type execRequestSchema } from "../../model/exec.ts";
import { LABELS, shortContainerRef } from "../../model/instance.ts";
import { subjects } from "../../model/subjects.ts";
import type { z } from "zod";
import { translateDockerError } from "../docker/containers.ts";
import { signalExec } from "../docker/exec-processes.ts";
import { managedContainer } from "../docker/managed-containers.ts";
import type { ExecJournal } from "./exec-journal.ts";
import { ExecSession, type ExecSessionInfo } from "./exec-session.ts";

/** At most this many exec sessions run on one machine at once. */
export const MAX_EXEC_SESSIONS = 64;

export interface ExecSessionsDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  docker: Docker;
  clusterId: string;
  machineId: string;
  journal: ExecJournal;
  log: Logger;
}

/**
 * The exec sessions of one run of the participant: opens them (only in a running container this
 * cluster manages, that is the instance asked for), records each as Status (who, what, where,
 * when, how it ended: never its input or output), and ends them all when the participant stops.
 * What a killed ployzd left running is ended by `reapLeftovers` at the next start.
 */
export class ExecSessions {
  private readonly sessions = new Map<string, ExecSession>();

  constructor(private readonly deps: ExecSessionsDeps) {}

  async open(request: z.output<typeof execRequestSchema>): Promise<ExecStarted> {
    const { deps } = this;
    if (this.sessions.size >= MAX_EXEC_SESSIONS) throw new InvalidArgumentError(`machine ${deps.machineId} already runs ${MAX_EXEC_SESSIONS} exec sessions`, { hint: "end one first" });
    const container = await managedContainer(deps.docker, deps.clusterId, request.containerId);
    const labels = container.Config.Labels ?? {};
    const what = `${request.service}#${request.slot} of ${request.namespace}`;
    if (labels[LABELS.namespace] !== request.namespace || labels[LABELS.service] !== request.service || labels[LABELS.slot] !== String(request.slot)) {
      throw new InvalidArgumentError(`container ${shortContainerRef(request.containerId)} is not ${what}`, { hint: "the instance was replaced meanwhile: ask again" });
    }
    if (!container.State.Running) throw new InvalidArgumentError(`${what} on ${deps.machineId} is not running (${container.State.Status})`);

    const session = randomBytes(12).toString("hex");
    const info: ExecSessionInfo = {
      session,
      machine: deps.machineId,
      namespace: request.namespace,
      service: request.service,
      slot: request.slot,
      containerId: container.Id,
      who: identityOfInbox(request.inbox),
      ...(request.user ? { user: request.user } : {}),
      command: commandLine(request.command),
      tty: request.tty,
      inbox: request.inbox,
      input: subjects.execInput(deps.machineId, session),
      startedAt: Date.now(),
    };
    let exec: Docker.Exec;
    let socket: Duplex;
    try {
      exec = await deps.docker.getContainer(container.Id).exec({
        Cmd: request.command,
        AttachStdin: request.stdin,
        AttachStdout: true,
        AttachStderr: true,
        Tty: request.tty,
        ...(request.tty ? { Env: ["TERM=xterm-256color"] } : {}),
      });
      socket = (await exec.start({ hijack: true, stdin: request.stdin, Tty: request.tty })) as unknown as Duplex;
    } catch (error) {
      throw translateDockerError(error, `exec in ${what}`);
    }
    deps.journal.add({ session, execId: exec.id, containerId: container.Id, namespace: info.namespace, service: info.service, slot: info.slot, who: info.who, command: info.command, tty: info.tty, startedAt: new Date(info.startedAt).toISOString() });
    const running = new ExecSession(info, exec, socket, request.stdin, {
      nc: deps.nc,
      log: deps.log,
      onEnded: (ended, how) => {
        this.sessions.delete(ended.session);
        deps.journal.remove(ended.session);
        this.record(ended, "ended", { ...how, durationMs: Date.now() - ended.startedAt });
      },
    });
    this.sessions.set(session, running);
    if (request.tty && request.cols && request.rows) await running.resize(request.cols, request.rows);
    deps.log.info({ session, namespace: info.namespace, service: info.service, slot: info.slot, who: info.who, command: info.command, tty: info.tty }, "exec session started");
    this.record(info, "started", {});
    return { type: "exec-started", machine: deps.machineId, session, input: info.input };
  }

  /** Ends every session (the participant is stopping); their CLIs are told why. */
  async endAll(reason: string): Promise<void> {
    await Promise.all([...this.sessions.values()].map((s) => s.end("ployzd-stopping", reason)));
  }

  /**
   * Ends the commands a ployzd killed in the middle of their sessions left running (Docker keeps
   * an exec's command when its client goes), from the journal; records how each ended.
   */
  async reapLeftovers(): Promise<void> {
    const { deps } = this;
    for (const { session, entry, error } of deps.journal.list()) {
      if (!entry) {
        deps.log.error({ session, error }, "exec journal entry that does not parse: removed, its command (if any) left as it is");
        deps.journal.remove(session);
        continue;
      }
      let killed = 0;
      try {
        const inspect = await deps.docker.getExec(entry.execId).inspect();
        if (inspect.Pid) killed = signalExec(inspect.Pid, entry.containerId, "SIGKILL");
      } catch (error) {
        // 404: the container (and its exec) is gone, and the command with it.
        if ((error as { statusCode?: number }).statusCode !== 404) throw translateDockerError(error, `exec ${entry.execId} of session ${session}`);
      }
      deps.journal.remove(session);
      deps.log.warn({ session, killed, command: entry.command }, "ended an exec session an earlier ployzd left running");
      this.record(
        { ...entry, machine: deps.machineId, inbox: "", input: "", startedAt: Date.parse(entry.startedAt) },
        "ended",
        { reason: `ployzd stopped during the session; ended at its next start (${killed} process${killed === 1 ? "" : "es"} killed)` },
      );
    }
  }

  private record(info: ExecSessionInfo, event: "started" | "ended", extra: Partial<Pick<ExecStatusRecord, "exitCode" | "reason" | "durationMs">>): void {
    const record: ExecStatusRecord = execStatusRecordSchema.parse({
      type: "exec",
      event,
      namespace: info.namespace,
      service: info.service,
      slot: info.slot,
      machine: info.machine,
      containerId: info.containerId,
      session: info.session,
      who: info.who,
      ...(info.user ? { user: info.user } : {}),
      command: info.command,
      tty: info.tty,
      at: new Date().toISOString(),
      ...extra,
    });
    this.deps.js.publish(`status.${info.namespace}.exec`, JSON.stringify(record)).catch((error: unknown) => this.deps.log.error({ err: error, session: info.session }, "could not record the exec as Status"));
  }
}
