import { closeSync, openSync, readSync, statSync } from "node:fs";
import { z } from "zod";
import { admittedIdentities, credentialRecordSchema, nextExpiry, type CredentialRecord } from "../../model/credentials.ts";
import { machineRecordSchema, type MachineRecord } from "../../model/machine.ts";
import type { Identity } from "../../model/roles.ts";
import { readJsonFile, writeFileAtomic } from "../files.ts";
import { natsConfigChange } from "./config.ts";
import type { Logger } from "../logger.ts";

export interface NatsAccessOptions {
  /** nats-server's config file (rewritten whole, 0600). */
  configFile: string;
  /** The members and credentials last applied, so the next start admits them from its first moment. */
  cacheFile: string;
  /** nats-server's log, where a reload is confirmed. */
  logFile: string;
  /** The identities that are always there: this machine and its local operator. */
  base: readonly Identity[];
  /** The whole config for these identities and members (runtime/nats/config.ts with this machine's settings). */
  render: (identities: readonly Identity[], members: readonly MachineRecord[]) => Record<string, unknown>;
  /** The running nats-server, when there is one to reload. */
  pid: () => number | undefined;
  /**
   * Starts the running nats-server again with the new config: for a change it cannot reload
   * (`natsConfigChange`: leaf remotes, listeners). Resolves once the new one is ready.
   */
  restart: (reason: string) => Promise<void>;
  log: Logger;
  now?: () => number;
}

/** How long nats-server may take to say it reloaded. */
const RELOAD_WITHIN_MS = 5_000;

/** Who besides itself a machine admits: the members and the credentials (KV `machines`, KV `credentials`). */
export interface Admission {
  members: MachineRecord[];
  credentials: CredentialRecord[];
}
const admissionSchema = z.object({ members: z.array(machineRecordSchema), credentials: z.array(credentialRecordSchema) });

/**
 * Who nats-server admits (model/credentials.ts `admittedIdentities`), kept in line with the
 * members and the credentials: each new admission is rendered into the whole config, and when that
 * changed nats-server is told to reload (SIGHUP); `apply` resolves once its log says it reloaded —
 * from then on a revoked or expired credential, or a removed machine, is refused, and a connection
 * it holds is closed by the server. An expiry reloads at its time.
 */
export function natsAccess(options: NatsAccessOptions) {
  const now = options.now ?? Date.now;
  let admission: Admission = readCache(options.cacheFile, options.log);
  let written = "";
  let writtenConfig: Record<string, unknown> = {};
  let queue: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  /** Who waits for a credential to be in effect (`whenApplied`): checked after every apply. */
  const waiters = new Set<{ done: (record: CredentialRecord) => boolean; resolve: () => void }>();
  const settleWaiters = () => {
    for (const waiter of waiters) {
      if (admission.credentials.some(waiter.done)) {
        waiters.delete(waiter);
        waiter.resolve();
      }
    }
  };

  const admitted = () => {
    const { identities, conflicts } = admittedIdentities(options.base, admission.members, admission.credentials, now());
    for (const conflict of conflicts) options.log.error({ conflict }, "an identity is not admitted");
    return identities;
  };
  const renderConfig = () => options.render(admitted(), admission.members);
  const schedule = () => {
    clearTimeout(timer);
    const at = nextExpiry(admission.credentials, now());
    if (at === undefined || stopped) return;
    // setTimeout takes at most ~24.8 days: a later expiry is looked at again then.
    timer = setTimeout(() => void access.apply(admission).catch((error: unknown) => options.log.error({ err: error }, "reloading nats-server at a credential's expiry failed")), Math.min(Math.max(0, at - now()) + 10, 2 ** 31 - 1));
    timer.unref();
  };

  const access = {
    /** Writes the config for the first start of nats-server (members and credentials from the cache). */
    writeInitial(): void {
      writtenConfig = renderConfig();
      written = `${JSON.stringify(writtenConfig, null, 2)}\n`;
      writeFileAtomic(options.configFile, written, 0o600);
      schedule();
    },
    /** Admits exactly these members and credentials (active ones); resolves once nats-server has reloaded, rejects if it did not. */
    apply(next: Admission): Promise<void> {
      const run = queue.then(async () => {
        if (stopped) return;
        admission = { members: [...next.members], credentials: [...next.credentials] };
        writeFileAtomic(options.cacheFile, `${JSON.stringify(admission, null, 2)}\n`, 0o600);
        const config = renderConfig();
        const text = `${JSON.stringify(config, null, 2)}\n`;
        schedule();
        if (text !== written) {
          const change = natsConfigChange(writtenConfig, config);
          writeFileAtomic(options.configFile, text, 0o600);
          written = text;
          writtenConfig = config;
          const pid = options.pid();
          if (pid !== undefined && change === "restart") {
            options.log.warn("the nats-server config changed in a way it cannot reload (leaf remotes, listeners): starting it again");
            await options.restart("its config changed in a way it cannot reload");
            options.log.info({ admitted: admitted().map((i) => `${i.name} (${i.role})`) }, "nats-server started again: it admits these identities");
          } else if (pid !== undefined && change === "reload") {
            await reloadNatsServer(pid, options.logFile);
            options.log.info({ admitted: admitted().map((i) => `${i.name} (${i.role})`) }, "nats-server reloaded: it admits these identities");
          } // else the next start reads the file
        }
        settleWaiters();
      });
      queue = run.catch(() => undefined);
      return run;
    },
    /**
     * Resolves once an admission holding exactly `record` (as stored) is in effect: what the
     * `access` actor applies when it sees the change in KV credentials. Waiting for it, rather than
     * reloading again, keeps one reload per change (a reload briefly unsettles every client's
     * permissions in nats-server 2.9, so fewer is better). Fails loudly after `timeoutMs`.
     */
    whenApplied(record: CredentialRecord, timeoutMs = 10_000): Promise<void> {
      const same = JSON.stringify(record);
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          done: (r: CredentialRecord) => JSON.stringify(r) === same,
          resolve: () => {
            clearTimeout(timeout);
            resolve();
          },
        };
        const timeout = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`credential ${record.name} is stored but not in effect on this machine after ${timeoutMs / 1000} s: is its access actor running? (\`ployzctl status\`)`));
        }, timeoutMs);
        waiters.add(waiter);
        settleWaiters();
      });
    },
    stop(): void {
      stopped = true;
      clearTimeout(timer);
    },
  };
  return access;
}
export type NatsAccess = ReturnType<typeof natsAccess>;

function readCache(file: string, log: Logger): Admission {
  try {
    return readJsonFile(file, admissionSchema, "the admission cache", "it is written again from KV machines and KV credentials") ?? { members: [], credentials: [] };
  } catch (error) {
    log.error({ err: error }, "the admission cache cannot be used: only this machine's own identities are admitted until the store is read");
    return { members: [], credentials: [] };
  }
}

/**
 * SIGHUP to nats-server, then waits for its log to say it reloaded (or why it did not). The log
 * is read from where it ended before the signal, so an earlier reload never counts.
 */
export async function reloadNatsServer(pid: number, logFile: string): Promise<void> {
  const from = sizeOf(logFile);
  process.kill(pid, "SIGHUP");
  const deadline = Date.now() + RELOAD_WITHIN_MS;
  for (;;) {
    const text = readFrom(logFile, from);
    const failed = /Failed to reload server configuration: (.*)/.exec(text);
    if (failed) throw new Error(`nats-server ${pid} refused the new config: ${failed[1]}`);
    if (text.includes("Reloaded server configuration")) return;
    if (Date.now() > deadline) throw new Error(`nats-server ${pid} did not say it reloaded within ${RELOAD_WITHIN_MS / 1000} s (see ${logFile})`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return 0; // no log yet: everything in it is new
    throw error;
  }
};

function readFrom(file: string, offset: number): string {
  const size = sizeOf(file);
  if (size <= offset) return "";
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(size - offset);
    readSync(fd, buffer, 0, buffer.length, offset);
    return buffer.toString("utf8");
  } finally {
    closeSync(fd);
  }
}
