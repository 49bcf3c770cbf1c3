import { homedir } from "node:os";
import { join } from "node:path";
import { PACKAGE_ROOT } from "./build-info.ts";

/** The script that runs ployzd (and, as `ployzd dns`, the DNS process). */
export const PLOYZD_SCRIPT = join(PACKAGE_ROOT, "bin", "ployzd.js");

/** The script that runs ployzctl. */
export const PLOYZCTL_SCRIPT = join(PACKAGE_ROOT, "bin", "ployzctl.js");

/** Where a dev cluster keeps its data unless told otherwise. */
export function defaultDevDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share");
  return join(base, "ployz", "dev");
}

/** The CLI's configuration directory, holding contexts. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "ployz");
}

/** Files inside a data directory. */
export function dataPaths(dataDir: string) {
  return {
    dataDir,
    machine: join(dataDir, "machine.json"),
    keysDir: join(dataDir, "keys"),
    machineSeed: join(dataDir, "keys", "machine.nk"),
    operatorSeed: join(dataDir, "keys", "operator.nk"),
    /** The WireGuard private key (0600): the overlay address derives from its public half. */
    wireguardKey: join(dataDir, "keys", "wireguard.key"),
    /** A leaf machine's password on the storage machines' leaf listeners (0600). */
    leafPassword: join(dataDir, "keys", "leaf.password"),
    /** A storage machine's copy of the cluster's leaf secret (0600), so it admits its leaves from its first moment. */
    leafSecret: join(dataDir, "keys", "leaf.secret"),
    /** A storage machine's system account admin password (0600). */
    sysAdminPassword: join(dataDir, "keys", "sys-admin.password"),
    /** wireguard-go's output, when it is the implementation. */
    wireguardLog: join(dataDir, "logs", "wireguard-go.log"),
    /** The secrets of the invites this machine made and serves (0700 directory, one 0600 file each). */
    invitesDir: join(dataDir, "invites"),
    natsDir: join(dataDir, "nats"),
    natsConfig: join(dataDir, "nats", "nats-server.json"),
    natsStore: join(dataDir, "nats", "store"),
    natsPid: join(dataDir, "nats", "nats-server.pid"),
    natsLog: join(dataDir, "nats", "nats-server.log"),
    /** The members and credentials last admitted, so a start admits them at once. */
    natsAdmission: join(dataDir, "nats", "admission.json"),
    caddyDir: join(dataDir, "caddy"),
    caddyConfig: join(dataDir, "caddy", "caddy.json"),
    caddyPid: join(dataDir, "caddy", "caddy.pid"),
    /** Caddy's admin API: a unix socket in the 0700 caddy directory. */
    caddyAdminSocket: join(dataDir, "caddy", "admin.sock"),
    caddyLog: join(dataDir, "logs", "caddy.log"),
    /** The cluster DNS process (`ployzd dns`): its config, pid, last zone and control socket, in a 0700 directory. */
    dnsDir: join(dataDir, "dns"),
    dnsConfig: join(dataDir, "dns", "dns.json"),
    dnsPid: join(dataDir, "dns", "dns.pid"),
    dnsZone: join(dataDir, "dns", "zone.json"),
    dnsControlSocket: join(dataDir, "dns", "control.sock"),
    dnsOut: join(dataDir, "logs", "dns.out"),
    logsDir: join(dataDir, "logs"),
    daemonLog: join(dataDir, "logs", "ployzd.log"),
    daemonOut: join(dataDir, "logs", "ployzd.out"),
    daemonPid: join(dataDir, "ployzd.pid"),
    /** Written by ployzd once it is ready: how a client reaches it. */
    clientInfo: join(dataDir, "client.json"),
    /** Written by ployzd when it cannot start: the typed error, for `dev up` to report. */
    startupError: join(dataDir, "startup-error.json"),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;
