import { InvalidArgumentError } from "./errors.ts";

/**
 * The systemd unit that runs `ployzd run` on a real machine (`ployzd install`). Pure: the caller
 * gives the absolute paths of node and bin/ployzd.js and the flags; nothing here reads the host.
 */

/** The unit's file name: `systemctl status ployzd` finds it. */
export const PLOYZD_UNIT_NAME = "ployzd.service";
/** Where `ployzd install` writes the unit unless told otherwise (units the administrator installed). */
export const SYSTEM_UNIT_DIR = "/etc/systemd/system";
/** The machine's data directory when ployzd runs as a service. */
export const SERVICE_DATA_DIR = "/var/lib/ployz";

export interface PloyzdUnitOptions {
  /** Absolute path of the node binary that runs ployzd. */
  node: string;
  /** Absolute path of bin/ployzd.js. */
  script: string;
  dataDir: string;
  /** `ployzd run` flags beyond --data-dir, as they would be typed (e.g. `["--region", "eu"]`). */
  runArgs?: readonly string[];
  /** Run as this user instead of root. */
  user?: string;
  /** Which version wrote the unit, for the reader. */
  version: string;
}

/**
 * The unit file's text. It holds paths and flags only, never a key or token (those stay in the
 * data directory, mode 0600). Hardening keeps ployzd able to do its job: it configures WireGuard,
 * routes and iptables (CAP_NET_ADMIN, netlink, /dev/net/tun), talks to dockerd's socket, and
 * mounts what dockerd must see (so no mount namespace of its own); it gains no new privileges.
 */
export function renderPloyzdUnit(options: PloyzdUnitOptions): string {
  if (!isAbsolute(options.node) || !isAbsolute(options.script) || !isAbsolute(options.dataDir)) {
    throw new InvalidArgumentError(`the unit needs absolute paths (node ${options.node}, script ${options.script}, data dir ${options.dataDir})`);
  }
  const exec = [options.node, options.script, "run", "--data-dir", options.dataDir, ...(options.runArgs ?? [])].map(quoteExecArg).join(" ");
  if (options.user !== undefined && !/^[a-z_][a-z0-9_-]{0,31}$/i.test(options.user)) throw new InvalidArgumentError(`--user needs a user name, not ${JSON.stringify(options.user)}`);
  const user = options.user && options.user !== "root" ? options.user : undefined;
  return [
    `# Written by \`ployzd install\` (ployz ${options.version}); \`ployzd uninstall\` removes it.`,
    "# Change flags by running `ployzd install --force` with new ones, or with a drop-in",
    "# (`systemctl edit ployzd`), which `ployzd install` leaves alone.",
    "[Unit]",
    "Description=Ployz node daemon (ployzd)",
    "After=network-online.target docker.service",
    "Wants=network-online.target docker.service",
    // Crash loops stop being restarted after 10 starts in 5 minutes: `systemctl status` shows it.
    "StartLimitIntervalSec=300",
    "StartLimitBurst=10",
    "",
    "[Service]",
    "Type=simple",
    ...(user ? [`User=${user}`] : []),
    `ExecStart=${exec}`,
    "Restart=on-failure",
    "RestartSec=2s",
    "# ployzd stops nats-server itself and leaves Caddy, its DNS process and wireguard-go",
    "# running for the next ployzd to adopt, so a restart does not take the gateway down.",
    "KillMode=process",
    "TimeoutStopSec=45s",
    "LimitNOFILE=65536",
    ...(user
      ? [
          "# Not root: WireGuard, routes and iptables need these; the Docker socket needs the docker group.",
          "AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE",
        ]
      : []),
    "# Hardening that leaves WireGuard (netlink, /dev/net/tun), iptables and the Docker socket alone.",
    "# No ProtectSystem=, ReadWritePaths=, PrivateTmp= or other Protect*=: they give ployzd a mount",
    "# namespace of its own, and what it mounts must be seen by dockerd. No ProtectClock=: it",
    "# implies a device allow-list, which takes /dev/net/tun from wireguard-go on older systemd.",
    "NoNewPrivileges=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  ].join("\n");
}

/**
 * One word of ExecStart= as systemd reads it: plain when it is safe, else double-quoted with `\`
 * and `"` escaped; `%` (specifiers) and `$` (environment variables) are doubled.
 */
export function quoteExecArg(word: string): string {
  return quoteUnitWord(word, true);
}

/** A word of a space-separated unit setting; only ExecStart= expands `$`. */
function quoteUnitWord(word: string, expandsVariables: boolean): string {
  if (/[\n\r]/.test(word)) throw new InvalidArgumentError(`a unit file line cannot hold a line break: ${JSON.stringify(word)}`);
  const specifiers = word.replaceAll("%", "%%");
  const escaped = expandsVariables ? specifiers.replaceAll("$", "$$$$") : specifiers;
  if (word !== "" && /^[A-Za-z0-9_@%+=:,./$-]+$/.test(word)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}
