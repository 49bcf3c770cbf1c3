import type Docker from "dockerode";
import { LABELS, managedLabelFilter } from "../../model/instance.ts";
import { translateDockerError } from "./containers.ts";

/** What a Docker event says about a managed container. */
export interface ManagedContainerEvent {
  namespace: string;
  containerId: string;
  action: string;
}

/** The actions that change whether an instance runs or where it is. */
const ACTIONS = ["start", "die", "stop", "kill", "destroy", "oom", "pause", "unpause", "restart"];

/**
 * Follows dockerd's event stream for the containers this cluster manages, until `signal` aborts.
 * Rejects when the stream ends by itself (dockerd restarted): the caller's supervisor restarts it.
 */
export async function watchContainerEvents(docker: Docker, clusterId: string, signal: AbortSignal, onEvent: (event: ManagedContainerEvent) => void): Promise<void> {
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.getEvents({
      filters: { type: ["container"], event: ACTIONS, label: managedLabelFilter(clusterId) },
    })) as NodeJS.ReadableStream;
  } catch (error) {
    throw translateDockerError(error, "the event stream");
  }
  await new Promise<void>((resolve, reject) => {
    let buffer = "";
    const stop = () => {
      (stream as unknown as { destroy?: () => void }).destroy?.();
      resolve();
    };
    if (signal.aborted) return stop();
    signal.addEventListener("abort", stop, { once: true });
    stream.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let newline: number;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (!line) continue;
        const event = JSON.parse(line) as { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } };
        const namespace = event.Actor?.Attributes?.[LABELS.namespace];
        if (namespace && event.Actor?.ID && event.Action) onEvent({ namespace, containerId: event.Actor.ID, action: event.Action.split(":")[0]! });
      }
    });
    stream.on("error", (error: Error) => {
      if (!signal.aborted) reject(translateDockerError(error, "the event stream"));
    });
    stream.on("end", () => {
      if (!signal.aborted) reject(new Error("dockerd's event stream ended (dockerd restarted?)"));
    });
  });
}
