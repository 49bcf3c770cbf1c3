import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { resolveBindMounts } from "../../actors/docker/bind-mounts.ts";
import { hostPathRules } from "../../model/bind-policy.ts";
import { BindRefusedError, NotFoundError } from "../../model/errors.ts";
import { machineHostPathRules } from "../../runtime/host-paths.ts";
import { aService, aSpec } from "../fixtures/deploy.ts";
import { rejectionOf } from "../fixtures/errors.ts";

/** The machine's side of the bind policy on a real file system: real paths, links, missing sources. */

let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(join(tmpdir(), "ployz-binds-unit-")));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const rules = hostPathRules([{ path: "/var/lib/ployz", why: "the Ployz data directory" }]);
const binds = (...volumes: Array<{ source: string; target: string; readOnly?: boolean }>) => aSpec({ web: aService({ volumes: volumes.map((v) => ({ type: "bind" as const, ...v })) }) }).services.web!;
const check = (allowed: string[]) => ({ namespace: "shop", service: "web", allowed, rules, machine: "m1" });

describe("resolving binds where the container starts", () => {
  it("mounts the real path of an allowed source, read-only when asked", async () => {
    mkdirSync(join(dir, "app", "data"), { recursive: true });
    const mounts = await resolveBindMounts(binds({ source: `${dir}/app/data`, target: "/data", readOnly: true }), check([`${dir}/app`]));
    expect(mounts).toEqual([{ Type: "bind", Source: `${dir}/app/data`, Target: "/data", ReadOnly: true }]);
  });

  it("follows an allowed directory that is itself a link", async () => {
    mkdirSync(join(dir, "real", "data"), { recursive: true });
    symlinkSync(join(dir, "real"), join(dir, "alias"));
    const mounts = await resolveBindMounts(binds({ source: `${dir}/alias/data`, target: "/data" }), check([`${dir}/alias`]));
    expect(mounts).toEqual([{ Type: "bind", Source: `${dir}/real/data`, Target: "/data", ReadOnly: false }]);
  });

  it("refuses a link inside the allowed directory that leads outside it, or to a refused path, naming both paths", async () => {
    mkdirSync(join(dir, "app"));
    mkdirSync(join(dir, "elsewhere"));
    symlinkSync(join(dir, "elsewhere"), join(dir, "app", "out"));
    symlinkSync("/etc", join(dir, "app", "etc"));
    const error = await rejectionOf(resolveBindMounts(binds({ source: `${dir}/app/out`, target: "/out" }, { source: `${dir}/app/etc`, target: "/etc-copy" }), check([`${dir}/app`])));
    expect(error).toBeInstanceOf(BindRefusedError);
    expect(error.message).toBe(
      [
        `services.web.volumes[0]: host path ${dir}/app/out (really ${dir}/elsewhere, through a symlink) is outside every directory allowed for namespace shop`,
        `services.web.volumes[1]: host path ${dir}/app/etc (really /etc, through a symlink) is refused for every namespace: it is the machine's configuration`,
      ].join("; "),
    );
  });

  it("refuses what the written path already fails, before looking at the disk", async () => {
    const error = await rejectionOf(resolveBindMounts(binds({ source: `${dir}/app-evil`, target: "/x" }), check([`${dir}/app`])));
    expect(error).toBeInstanceOf(BindRefusedError);
    expect(error.message).toBe(`services.web.volumes[0]: host path ${dir}/app-evil is not allowed for namespace shop`);
  });

  it("names a source that does not exist", async () => {
    mkdirSync(join(dir, "app"));
    const error = await rejectionOf(resolveBindMounts(binds({ source: `${dir}/app/missing`, target: "/x" }), check([`${dir}/app`])));
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error.message).toBe(`services.web.volumes[0]: host path ${dir}/app/missing does not exist on machine m1`);
  });
});

describe("a machine's refused paths", () => {
  it("refuses its data directory by the name it was given and by its real path", () => {
    mkdirSync(join(dir, "real-data"));
    symlinkSync(join(dir, "real-data"), join(dir, "data"));
    const machine = machineHostPathRules(join(dir, "data"), "/var/run/docker.sock");
    const paths = machine.refused.map((r) => r.path);
    expect(paths).toEqual(expect.arrayContaining([`${dir}/data`, `${dir}/real-data`, "/var/run/docker.sock", "/etc", "/run"]));
    expect(machine.refused.find((r) => r.path === `${dir}/real-data`)?.why).toBe("the Ployz data directory");
    // A link into what is refused already adds nothing (`/var/run/docker.sock` → `/run/docker.sock` is under `/run`).
    expect(paths.filter((p) => p.startsWith("/run/"))).toEqual([]);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
