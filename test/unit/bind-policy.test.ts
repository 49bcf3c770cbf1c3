import { describe, expect, it } from "vitest";
import {
  ALWAYS_REFUSED_HOST_PATHS,
  bindPolicyDocSchema,
  bindViolationHint,
  bindViolations,
  describeBindViolation,
  hostPathRules,
  judgeHostPath,
  withAllowedDir,
  withoutAllowedDir,
  type BindPolicyDoc,
} from "../../model/bind-policy.ts";
import { composeToSpec } from "../../model/compose.ts";
import { hostPathSchema, isWithin, normalizeHostPath } from "../../model/host-path.ts";
import { namespaceSpecSchema } from "../../model/manifest.ts";
import { aService, aSpec } from "../fixtures/deploy.ts";

/** A machine whose data directory is /var/lib/ployz and whose dockerd listens on the default socket. */
const rules = hostPathRules([
  { path: "/var/lib/ployz", why: "the Ployz data directory" },
  { path: "/var/run/docker.sock", why: "the Docker socket" },
]);
const now = new Date("2026-01-01T00:00:00.000Z");
const verdict = (path: string, allowed: string[] = ["/srv/app"]) => judgeHostPath(path, allowed, rules);

describe("host paths", () => {
  it.each([
    ["/srv//app", "/srv/app"],
    ["/srv/app/", "/srv/app"],
    ["/srv/./app/./data", "/srv/app/data"],
    ["//srv///app//", "/srv/app"],
    ["/", "/"],
    ["///", "/"],
  ])("%s is written %s", (written, normal) => {
    expect(normalizeHostPath(written)).toBe(normal);
    expect(hostPathSchema.parse(written)).toBe(normal);
  });

  it.each([
    ["/srv/app/../../etc", "must not contain .."],
    ["/srv/app/..", "must not contain .."],
    ["srv/app", "must be an absolute path"],
    ["./data", "must be an absolute path"],
    ["/srv/a\0b", "must not contain a NUL character"],
  ])("%j is refused: %s", (path, message) => {
    const result = hostPathSchema.safeParse(path);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe(message);
  });

  it("a path is within a directory only at a segment boundary", () => {
    expect(isWithin("/srv/app", "/srv/app")).toBe(true);
    expect(isWithin("/srv/app/data", "/srv/app")).toBe(true);
    expect(isWithin("/srv/app-evil", "/srv/app")).toBe(false);
    expect(isWithin("/srv/apple", "/srv/app")).toBe(false);
    expect(isWithin("/srv", "/srv/app")).toBe(false);
    expect(isWithin("/anything", "/")).toBe(true);
  });

  it("the manifest normalises a bind source and refuses .. in it", () => {
    const spec = aSpec({ web: aService({ volumes: [{ type: "bind", source: "/srv//app/data/", target: "/data" }] }) });
    expect(spec.services.web!.volumes[0]).toEqual({ type: "bind", source: "/srv/app/data", target: "/data", readOnly: false });
    const tricked = namespaceSpecSchema.safeParse({ namespace: "shop", services: { web: aService({ volumes: [{ type: "bind", source: "/srv/app/../../etc", target: "/data" }] }) } });
    expect(tricked.error?.issues.map((i) => `${i.path.join(".")}: ${i.message}`)).toEqual(["services.web.volumes.0.source: must not contain .."]);
  });
});

describe("judging a host path", () => {
  it("allows a path in an allowed directory, and the directory itself", () => {
    expect(verdict("/srv/app")).toEqual({ kind: "allowed", by: "/srv/app" });
    expect(verdict("/srv/app/data/uploads")).toEqual({ kind: "allowed", by: "/srv/app" });
  });

  it("refuses a path that only shares a prefix with an allowed directory", () => {
    expect(verdict("/srv/app-evil")).toEqual({ kind: "not-allowed" });
    expect(verdict("/srv/apple/data")).toEqual({ kind: "not-allowed" });
    expect(verdict("/srv")).toEqual({ kind: "not-allowed" });
  });

  it("allows nothing by default: the cluster's defaults are empty", () => {
    expect(rules.defaults).toEqual([]);
    expect(verdict("/srv/app/data", [])).toEqual({ kind: "not-allowed" });
    expect(verdict("/tmp/x", [])).toEqual({ kind: "not-allowed" });
  });

  it("counts the cluster's defaults as allowed for every namespace", () => {
    expect(judgeHostPath("/srv/shared/x", [], { ...rules, defaults: ["/srv/shared"] })).toEqual({ kind: "allowed", by: "/srv/shared" });
  });

  it.each([
    ["/", "holds", "/etc"],
    ["/etc", "is", "/etc"],
    ["/etc/ssl/certs", "under", "/etc"],
    ["/proc/1/root", "under", "/proc"],
    ["/sys", "is", "/sys"],
    ["/dev/sda", "under", "/dev"],
    ["/boot", "is", "/boot"],
    ["/root/.ssh", "under", "/root"],
    ["/var/run/docker.sock", "is", "/var/run/docker.sock"],
    ["/run/docker.sock", "under", "/run"],
    ["/run", "is", "/run"],
    ["/var/lib/docker", "is", "/var/lib/docker"],
    ["/var/lib/docker/volumes/x/_data", "under", "/var/lib/docker"],
    ["/var/lib/ployz/keys", "under", "/var/lib/ployz"],
    ["/var/lib/ployz", "is", "/var/lib/ployz"],
    ["/var", "holds", "/var/run"],
    ["/var/lib", "holds", "/var/lib/docker"],
    ["/usr/local/bin", "under", "/usr"],
  ])("%s is refused always (it %s %s), allowed or not", (path, relation, refusedPath) => {
    // Even with the path itself or `/` allowed: refused paths come first.
    for (const allowed of [[], [path], ["/"]]) {
      const v = verdict(path, allowed);
      expect(v.kind).toBe("refused");
      if (v.kind === "refused") expect({ relation: v.refusal.relation, path: v.refusal.entry.path }).toEqual({ relation, path: refusedPath });
    }
  });

  it("refuses every path the brief names, on every machine", () => {
    const fixed = hostPathRules();
    for (const path of ["/", "/etc", "/proc", "/sys", "/dev", "/boot", "/root", "/var/run/docker.sock", "/run", "/var/lib/docker"]) {
      expect(judgeHostPath(path, ["/"], fixed).kind, path).toBe("refused");
    }
    expect(ALWAYS_REFUSED_HOST_PATHS.every((r) => r.path === normalizeHostPath(r.path))).toBe(true);
  });
});

describe("the binds of a spec", () => {
  const withVolume = namespaceSpecSchema.parse({
    namespace: "shop",
    volumes: { data: {} },
    services: {
      web: aService({
        volumes: [
          { type: "volume", source: "data", target: "/data" },
          { type: "bind", source: "/srv/app/site", target: "/www", readOnly: true },
          { type: "bind", source: "/srv/app-evil", target: "/evil" },
          { type: "bind", source: "/etc", target: "/host-etc" },
        ],
      }),
      worker: aService({ volumes: [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }] }),
    },
  });

  it("names the service, the volume's index, the path and the namespace of each refused bind", () => {
    const violations = bindViolations(withVolume, ["/srv/app"], rules);
    expect(violations.map((v) => describeBindViolation("shop", v))).toEqual([
      "services.web.volumes[2]: host path /srv/app-evil is not allowed for namespace shop",
      "services.web.volumes[3]: host path /etc is refused for every namespace: it is the machine's configuration",
      "services.worker.volumes[0]: host path /var/run/docker.sock is refused for every namespace: it is the Docker socket",
    ]);
  });

  it("has nothing to say once every bind is allowed", () => {
    const allowed = aSpec({ web: aService({ volumes: [{ type: "bind", source: "/srv/app/site", target: "/www" }] }) });
    expect(bindViolations(allowed, ["/srv/app"], rules)).toEqual([]);
    expect(bindViolations(allowed, [], rules).map((v) => v.verdict.kind)).toEqual(["not-allowed"]);
  });

  it("says what to do: allow a directory, or bind one of its own instead of a refused path", () => {
    const [evil, etc] = bindViolations(withVolume, ["/srv/app"], rules);
    expect(bindViolationHint("shop", [evil!])).toBe("an operator allows a directory with `ployzctl namespace allow-bind shop DIR` (`ployzctl namespace binds shop` lists them)");
    expect(bindViolationHint("shop", [etc!])).toBe("a refused path cannot be allowed: bind a directory of its own instead, or use a named volume");
    expect(bindViolationHint("shop", [evil!, etc!]).split("; ")).toHaveLength(2);
  });

  it("names a symlink's real path beside the written one", () => {
    const line = describeBindViolation("shop", { service: "web", index: 0, source: "/srv/app/link", real: "/srv/other", verdict: { kind: "not-allowed" } });
    expect(line).toBe("services.web.volumes[0]: host path /srv/app/link (really /srv/other, through a symlink) is outside every directory allowed for namespace shop");
  });

  it("judges a Compose bind after it is resolved beside the Compose file: ../ cannot climb out unnoticed", () => {
    const { spec: composed } = composeToSpec(
      { name: "shop", services: { web: { image: "busybox", volumes: ["./data:/data:ro", "../../../etc:/host-etc", { type: "bind", source: "./site", target: "/www", read_only: true }] } } },
      { fileName: "compose.yaml", baseDir: "/srv/app", readFile: () => new Uint8Array(), environment: {} },
    );
    expect(composed.services.web!.volumes).toEqual([
      { type: "bind", source: "/srv/app/data", target: "/data", readOnly: true },
      { type: "bind", source: "/etc", target: "/host-etc", readOnly: false },
      { type: "bind", source: "/srv/app/site", target: "/www", readOnly: true },
    ]);
    expect(bindViolations(composed, ["/srv/app"], rules).map((v) => describeBindViolation("shop", v))).toEqual([
      "services.web.volumes[1]: host path /etc is refused for every namespace: it is the machine's configuration",
    ]);
  });
});

describe("allow-bind and disallow-bind", () => {
  const doc = (allowed: string[]): BindPolicyDoc => ({ type: "bind-policy", namespace: "shop", allowed, updatedAt: "2025-12-31T00:00:00.000Z" });

  it("adds a directory once, sorted", () => {
    const first = withAllowedDir(null, "shop", "/srv/shop", rules, now);
    expect(first).toEqual({ kind: "changed", doc: { type: "bind-policy", namespace: "shop", allowed: ["/srv/shop"], updatedAt: now.toISOString() } });
    expect(withAllowedDir(doc(["/srv/shop"]), "shop", "/data/shop", rules, now)).toMatchObject({ kind: "changed", doc: { allowed: ["/data/shop", "/srv/shop"] } });
    expect(withAllowedDir(doc(["/srv/shop"]), "shop", "/srv/shop", rules, now)).toEqual({ kind: "unchanged", doc: doc(["/srv/shop"]) });
    expect(bindPolicyDocSchema.parse(first.kind === "changed" ? first.doc : null)).toEqual(first.kind === "changed" ? first.doc : null);
  });

  it.each([
    ["/", "/ cannot be allowed for binds: it holds /etc (the machine's configuration)"],
    ["/etc", "/etc cannot be allowed for binds: it is the machine's configuration"],
    ["/etc/app", "/etc/app cannot be allowed for binds: it is under /etc (the machine's configuration)"],
    ["/var", "/var cannot be allowed for binds: it holds /var/run (runtime state, with the Docker socket)"],
    ["/var/lib", "/var/lib cannot be allowed for binds: it holds /var/lib/docker (Docker's storage)"],
    ["/run", "/run cannot be allowed for binds: it is runtime state, with the Docker socket"],
    ["/var/run/docker.sock", "/var/run/docker.sock cannot be allowed for binds: it is the Docker socket"],
    ["/var/lib/ployz", "/var/lib/ployz cannot be allowed for binds: it is the Ployz data directory"],
    ["/usr/local", "/usr/local cannot be allowed for binds: it is under /usr (the machine's programs)"],
  ])("refuses to allow %s", (dir, reason) => {
    expect(withAllowedDir(null, "shop", dir, rules, now)).toEqual({ kind: "refused", reason });
  });

  it("refuses to allow a parent of this machine's data directory", () => {
    const home = hostPathRules([{ path: "/home/op/.local/share/ployz/dev", why: "the Ployz data directory" }]);
    expect(withAllowedDir(null, "shop", "/home/op", home, now)).toEqual({
      kind: "refused",
      reason: "/home/op cannot be allowed for binds: it holds /home/op/.local/share/ployz/dev (the Ployz data directory)",
    });
    expect(withAllowedDir(null, "shop", "/home/op/projects", home, now).kind).toBe("changed");
  });

  it("takes a directory back, and says when it was not there", () => {
    expect(withoutAllowedDir(doc(["/data/shop", "/srv/shop"]), "shop", "/srv/shop", now)).toEqual({
      kind: "changed",
      doc: { type: "bind-policy", namespace: "shop", allowed: ["/data/shop"], updatedAt: now.toISOString() },
    });
    expect(withoutAllowedDir(doc(["/srv/shop"]), "shop", "/srv/other", now)).toEqual({ kind: "unchanged", doc: doc(["/srv/shop"]) });
    expect(withoutAllowedDir(null, "shop", "/srv/shop", now)).toEqual({ kind: "unchanged", doc: null });
  });
});
