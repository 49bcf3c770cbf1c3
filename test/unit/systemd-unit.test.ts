import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../model/errors.ts";
import { quoteExecArg, renderPloyzdUnit, type PloyzdUnitOptions } from "../../model/systemd-unit.ts";

const base: PloyzdUnitOptions = { node: "/usr/bin/node", script: "/opt/ployz/bin/ployzd.js", dataDir: "/var/lib/ployz", version: "0.1.0" };
const line = (unit: string, key: string) => unit.split("\n").filter((l) => l.startsWith(`${key}=`));

describe("ployzd's systemd unit (pure)", () => {
  it("runs the absolute node and ployzd.js with its flags, restarts on failure, after the network and docker", () => {
    const unit = renderPloyzdUnit({ ...base, runArgs: ["--region", "eu", "--no-inspector"] });
    expect(line(unit, "ExecStart")).toEqual(["ExecStart=/usr/bin/node /opt/ployz/bin/ployzd.js run --data-dir /var/lib/ployz --region eu --no-inspector"]);
    expect(line(unit, "Restart")).toEqual(["Restart=on-failure"]);
    expect(line(unit, "After")).toEqual(["After=network-online.target docker.service"]);
    expect(line(unit, "Wants")).toEqual(["Wants=network-online.target docker.service"]);
    expect(line(unit, "WantedBy")).toEqual(["WantedBy=multi-user.target"]);
    expect(unit.split("\n")[0]).toMatch(/^# Written by `ployzd install` \(ployz 0\.1\.0\)/);
    // sections in order
    expect(unit.indexOf("[Unit]")).toBeLessThan(unit.indexOf("[Service]"));
    expect(unit.indexOf("[Service]")).toBeLessThan(unit.indexOf("[Install]"));
  });

  it("hardens without taking away what WireGuard, iptables and Docker need", () => {
    const unit = renderPloyzdUnit(base);
    expect(line(unit, "NoNewPrivileges")).toEqual(["NoNewPrivileges=yes"]);
    expect(line(unit, "SystemCallArchitectures")).toEqual(["SystemCallArchitectures=native"]);
    expect(line(unit, "RestrictAddressFamilies")[0]).toContain("AF_NETLINK");
    expect(line(unit, "RestrictAddressFamilies")[0]).toContain("AF_UNIX");
    // nothing that would stop ip/wg/iptables, /dev/net/tun, the docker socket or kernel sysctls
    for (const key of ["PrivateDevices", "PrivateNetwork", "CapabilityBoundingSet", "ProtectKernelTunables", "PrivateTmp", "ProtectHome", "DynamicUser", "DeviceAllow", "DevicePolicy"]) expect(line(unit, key)).toEqual([]);
    // ProtectClock= implies a device allow-list (no /dev/net/tun on older systemd); the rest would give ployzd
    // a mount namespace of its own, hiding what it mounts from dockerd.
    for (const key of ["ProtectClock", "ProtectSystem", "ReadWritePaths", "ReadOnlyPaths", "ProtectControlGroups", "ProtectKernelLogs", "ProtectKernelModules", "PrivateMounts", "MountFlags"]) expect(line(unit, key)).toEqual([]);
    // root by default: no User= and no ambient capabilities
    expect(line(unit, "User")).toEqual([]);
    expect(line(unit, "AmbientCapabilities")).toEqual([]);
    // ployzd leaves Caddy, DNS and wireguard-go for the next ployzd to adopt
    expect(line(unit, "KillMode")).toEqual(["KillMode=process"]);
  });

  it("another user gets the network capabilities; root is no User= line", () => {
    const unit = renderPloyzdUnit({ ...base, user: "ployz" });
    expect(line(unit, "User")).toEqual(["User=ployz"]);
    expect(line(unit, "AmbientCapabilities")).toEqual(["AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_NET_BIND_SERVICE"]);
    expect(line(renderPloyzdUnit({ ...base, user: "root" }), "User")).toEqual([]);
    expect(() => renderPloyzdUnit({ ...base, user: "ploy z\n[Service]" })).toThrow(InvalidArgumentError);
  });

  it("holds no secret: only paths and flags", () => {
    const unit = renderPloyzdUnit({ ...base, runArgs: ["--acme-directory", "https://acme.example/dir"] });
    expect(unit).not.toMatch(/SU[A-Z2-7]{20,}|seed|token|password/i);
    expect(line(unit, "Environment")).toEqual([]);
  });

  it("quotes what systemd would split or expand, and refuses relative paths and line breaks", () => {
    expect(quoteExecArg("/opt/ployz/bin/ployzd.js")).toBe("/opt/ployz/bin/ployzd.js");
    expect(quoteExecArg("/srv/my data")).toBe('"/srv/my data"');
    expect(quoteExecArg("100%")).toBe("100%%");
    expect(quoteExecArg("$HOME")).toBe("$$HOME");
    expect(quoteExecArg('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(quoteExecArg("")).toBe('""');
    expect(() => quoteExecArg("a\nb")).toThrow(InvalidArgumentError);
    expect(() => renderPloyzdUnit({ ...base, dataDir: "var/lib/ployz" })).toThrow(/absolute paths/);
    const spaced = renderPloyzdUnit({ ...base, dataDir: "/srv/my data" });
    expect(line(spaced, "ExecStart")[0]).toContain('--data-dir "/srv/my data"');
  });
});
