import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import type { CredentialRecord } from "../../model/credentials.ts";
import type { MachineRecord } from "../../model/machine.ts";
import { followCredentials } from "../store/credentials.ts";
import { followMachines } from "../store/machines.ts";
import type { FollowKvEvent } from "./follow-kv.ts";

export interface AdmissionDeps {
  nc: NatsConnection;
  machines: KV;
  credentials: KV;
  /** Puts an admission into effect (runtime/nats/access.ts): resolves once nats-server reloaded. */
  apply: (admission: { members: MachineRecord[]; credentials: CredentialRecord[] }) => Promise<void>;
  log: Logger;
}

/**
 * The `access` actor: follows KV `machines` and KV `credentials` and puts every change of who may
 * connect into effect on this machine's nats-server. Runs until stopped; any doubt (a reconnect,
 * a watch that ended) or a reload that failed rejects, and its supervisor starts it again, which
 * loads both buckets afresh.
 */
export function createAdmissionFollower(deps: AdmissionDeps) {
  return fromPromise<void, { name: string }>(({ signal }) => {
    return new Promise<void>((resolve, reject) => {
      let members: MachineRecord[] | undefined;
      let credentials: CredentialRecord[] | undefined;
      const stops: Array<() => void> = [];
      const end = (error?: Error) => {
        for (const stop of stops.splice(0)) stop();
        if (error) reject(error);
        else resolve();
      };
      const applyNow = () => {
        if (!members || !credentials) return; // both loaded first
        deps.apply({ members, credentials }).catch((error: unknown) => end(error instanceof Error ? error : new Error(String(error))));
      };
      const doubt = <S>(what: string, event: FollowKvEvent<S>) => {
        if (event.type === "RECONNECTED") end(new Error(`following KV ${what}: reconnected to NATS`));
        else if (event.type === "FOLLOW_FAILED") end(new Error(`following KV ${what}: ${event.error}`));
        else if (event.type === "INVALID") deps.log.error({ key: event.key, reason: event.reason }, `a record of KV ${what} does not parse: left out (not admitted)`);
      };
      stops.push(
        followCredentials(deps.nc, deps.credentials, (event) => {
          if (event.type === "STATE") {
            credentials = [...event.state.values()];
            applyNow();
          } else doubt("credentials", event);
        }),
      );
      stops.push(
        followMachines(deps.nc, deps.machines, (event) => {
          if (event.type === "STATE") {
            members = [...event.state.values()];
            applyNow();
          } else doubt("machines", event);
        }),
      );
      signal.addEventListener("abort", () => end(), { once: true });
    });
  });
}
