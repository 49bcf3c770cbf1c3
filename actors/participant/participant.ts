import type Docker from "dockerode";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { InvalidArgumentError, NotFoundError } from "../../model/errors.ts";
import { containerRefSchema, crashRequestSchema, type ChildStatus } from "../../model/observation.ts";
import { subjects } from "../../model/subjects.ts";
import { serveRequests } from "../nats/serve.ts";
import { inspectContainer, listContainers } from "../docker/containers.ts";
import { observeCapacity } from "./capacity.ts";

export interface ParticipantDeps {
  nc: NatsConnection;
  docker: Docker;
  machineId: string;
  dataDir: string;
  log: Logger;
  /** The node's supervised children as they are now. */
  children: () => ChildStatus[];
  /** Present only when ployzd runs with --fault-injection. */
  injectCrash?: (actor: string) => void;
}

/**
 * The participant: this machine's side of every request addressed to it on
 * `ployz.m.<machine>.*` — live observations, container inspection, and (in tests) crash injection.
 */
export function createParticipant(deps: ParticipantDeps) {
  const now = () => new Date().toISOString();
  const handle = async (verb: string, body: unknown): Promise<unknown> => {
    switch (verb) {
      case "observe.capacity":
        return await observeCapacity(deps.docker, deps.machineId, deps.dataDir);
      case "observe.containers":
        return { type: "containers", machine: deps.machineId, at: now(), containers: await listContainers(deps.docker) };
      case "observe.actors":
        return { type: "actors", machine: deps.machineId, at: now(), children: deps.children() };
      case "container.inspect": {
        const ref = containerRefSchema.safeParse(body);
        if (!ref.success) throw new InvalidArgumentError(`container.inspect needs { id }: ${ref.error.issues[0]?.message}`);
        return { type: "container", machine: deps.machineId, at: now(), container: await inspectContainer(deps.docker, ref.data.id) };
      }
      case "debug.crash": {
        if (!deps.injectCrash) throw new InvalidArgumentError(`fault injection is off on machine ${deps.machineId} (start ployzd with --fault-injection)`);
        const request = crashRequestSchema.safeParse(body);
        if (!request.success) throw new InvalidArgumentError(`debug.crash needs { actor }: ${request.error.issues[0]?.message}`);
        deps.injectCrash(request.data.actor);
        return { type: "crashed", machine: deps.machineId, actor: request.data.actor };
      }
      default:
        throw new NotFoundError(`machine ${deps.machineId} has no verb ${verb}`);
    }
  };
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    await serveRequests(deps.nc, handle, {
      subject: subjects.machineAll(deps.machineId),
      signal,
      onError: (verb, error) => deps.log.warn({ verb, err: error }, "participant request failed"),
    });
  });
}
