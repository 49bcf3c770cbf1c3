import { connect, type NatsConnection } from "@nats-io/transport-node";
import { ConfigError, DaemonNotRunningError } from "../../model/errors.ts";
import { nkeyAuthenticator } from "./nkey-signer.ts";

export interface ConnectOptions {
  servers: string[];
  seed: Uint8Array;
  /** Shown in the server's connection list: who is connected. */
  name: string;
  /** The identity's own inbox prefix (model/roles.ts `inboxPrefix`): it may subscribe nowhere else. */
  inboxPrefix: string;
  /** Daemons reconnect forever; the CLI fails at once. */
  reconnect: boolean;
  timeoutMs?: number;
  /** How often to ping the server; two unanswered pings mark the connection stale. */
  pingIntervalMs?: number;
}

/** Connects with an nkey identity, translating refusals into typed errors. */
export async function connectNats(options: ConnectOptions): Promise<NatsConnection> {
  try {
    return await connect({
      servers: options.servers,
      authenticator: nkeyAuthenticator(options.seed),
      name: options.name,
      inboxPrefix: options.inboxPrefix,
      reconnect: options.reconnect,
      maxReconnectAttempts: options.reconnect ? -1 : 0,
      reconnectTimeWait: 250,
      timeout: options.timeoutMs ?? 3_000,
      waitOnFirstConnect: false,
      ...(options.pingIntervalMs ? { pingInterval: options.pingIntervalMs, maxPingOut: 2 } : {}),
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/authoriz|authenticat/i.test(message)) {
      throw new ConfigError(`the NATS server at ${options.servers.join(", ")} refused this identity (${message})`, {
        hint: "this key is not (or no longer) a member of the cluster; run `ployzctl dev up` again to refresh the context",
        cause: error,
      });
    }
    throw new DaemonNotRunningError(`no ployzd reachable at ${options.servers.join(", ")} (${message})`, {
      hint: "start one with `ployzctl dev up`, or check `ployzctl dev status`",
      cause: error,
    });
  }
}
