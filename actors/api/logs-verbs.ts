import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { logsApiRequestSchema, type LogsApiReply } from "../../model/api-deploy.ts";
import { errorText, NotFoundError } from "../../model/errors.ts";
import type { InstanceRecord } from "../../model/instance.ts";
import { advanceCursor, LOGS_MAX_BYTES, LOGS_MAX_LINES, logTimeOfMs, mergeRound, type LogCursor, type LogLine, type SourceBatch } from "../../model/log-lines.ts";
import { logsReplySchema, type LogsReply } from "../../model/participant.ts";
import { subjects } from "../../model/subjects.ts";
import { readInstances } from "../deploy/derived-store.ts";
import { parseRequest } from "../nats/parse-request.ts";
import { requestJson } from "../nats/request.ts";

/** A line stamped before a read may become readable just after it: an instance that showed nothing yet starts this far back. */
const LATE_LINE_MARGIN_MS = 2_000;

export interface LogsVerbDeps {
  nc: NatsConnection;
  instances: KV;
}

/**
 * The `logs` API verb: one round of a service's logs. The instances KV says which machines hold
 * instances; each is asked once (`container.logs` on its participant subject) for a bounded page
 * of all its instances, up to the same `until`; the pages are merged by time (model/log-lines.ts).
 * The answer's bounds are shared among the machines, so a round is bounded however many there are.
 */
export function logsVerbs(deps: LogsVerbDeps): Record<string, (body: unknown) => Promise<unknown>> {
  return {
    logs: async (body) => {
      const request = parseRequest(logsApiRequestSchema, body, "logs");
      const instances = (await readInstances(deps.instances, request.namespace)).filter((i) => i.service === request.service);
      if (instances.length === 0) throw new NotFoundError(`namespace ${request.namespace} has no instances of service ${request.service}`);
      const now = Date.now();
      const until = logTimeOfMs(now);
      const byMachine = new Map<string, InstanceRecord[]>();
      for (const instance of instances) byMachine.set(instance.machine, [...(byMachine.get(instance.machine) ?? []), instance]);
      const pages = await Promise.all(
        [...byMachine].map(async ([machine, held]) => {
          try {
            const reply = await requestJson(
              deps.nc,
              subjects.machine(machine, "container.logs"),
              {
                containers: held.map((i) => ({ containerId: i.containerId, ...(request.cursors[i.containerId] ? { cursor: request.cursors[i.containerId] } : {}) })),
                tail: request.tail,
                ...(request.sinceMs !== undefined ? { since: logTimeOfMs(request.sinceMs) } : {}),
                until,
                maxLines: Math.max(1, Math.floor(LOGS_MAX_LINES / byMachine.size)),
                maxBytes: Math.max(1, Math.floor(LOGS_MAX_BYTES / byMachine.size)),
              },
              logsReplySchema,
              { who: `machine ${machine}` },
            );
            return { held, reply };
          } catch (error) {
            return { held, error: errorText(error) };
          }
        }),
      );
      const bySlot = new Map<string, InstanceRecord>(instances.map((i) => [i.containerId, i]));
      const batches: SourceBatch<LogLine>[] = [];
      const errors: LogsApiReply["errors"] = [];
      for (const page of pages) {
        const answered = new Map<string, LogsReply["containers"][number]>((page.reply?.containers ?? []).map((c) => [c.containerId, c]));
        for (const instance of page.held) {
          const got = answered.get(instance.containerId);
          const error = page.error ?? got?.error ?? (got ? undefined : `machine ${instance.machine} did not answer for this instance`);
          if (error) errors.push({ slot: instance.slot, machine: instance.machine, error });
          else batches.push({ key: instance.containerId, lines: got!.lines, truncated: got!.truncated });
        }
      }
      const round = mergeRound(batches);
      const cursors: Record<string, LogCursor> = {};
      for (const instance of instances) {
        const before = request.cursors[instance.containerId];
        const shown = round.shown.get(instance.containerId) ?? [];
        const after = advanceCursor(before, shown) ?? (round.shown.has(instance.containerId) ? { time: logTimeOfMs(Math.max(request.sinceMs ?? 0, now - LATE_LINE_MARGIN_MS)), shown: 0 } : undefined);
        if (after) cursors[instance.containerId] = after;
      }
      const reply: LogsApiReply = {
        type: "logs",
        until,
        lines: round.lines.map(({ key, ...line }) => ({ ...line, slot: bySlot.get(key)!.slot, machine: bySlot.get(key)!.machine })),
        cursors,
        errors,
        more: batches.some((b) => b.truncated),
      };
      return reply;
    },
  };
}
