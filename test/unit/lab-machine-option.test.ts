import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { contextOption, expandMachineShortcut } from "../../cli/lab-machine-option.ts";
import { writeContext } from "../../runtime/context.ts";

const home = mkdtempSync(join(tmpdir(), "ployz-machine-option-"));
const env = { XDG_CONFIG_HOME: home };
writeContext({ name: "dev-2", servers: ["nats://127.0.0.1:4222"], seedFile: "/x", machineId: "dev-2", netns: "plzabcdefm2" }, env);
writeContext({ name: "prod", servers: ["nats://127.0.0.1:4222"], seedFile: "/x", machineId: "m1" }, env, { makeCurrent: false });
afterAll(() => rmSync(home, { recursive: true, force: true }));

describe("--machine NAME (the context of a lab machine)", () => {
  it("before the command word, becomes --context NAME", () => {
    expect(expandMachineShortcut(["--machine", "dev-2", "machine", "ls"], env)).toEqual(["--context", "dev-2", "machine", "ls"]);
    expect(expandMachineShortcut(["--json", "--machine=dev-2", "status"], env)).toEqual(["--json", "--context", "dev-2", "status"]);
  });

  it("after the command word, stays the command's own option (top --machine m1)", () => {
    expect(expandMachineShortcut(["top", "--machine", "m1"], env)).toEqual(["top", "--machine", "m1"]);
  });

  it("names the lab machines when NAME is none of them (a context without a namespace is not one)", () => {
    expect(() => expandMachineShortcut(["--machine", "prod", "status"], env)).toThrow("--machine prod: no lab machine of that name (lab machines: dev-2)");
    expect(() => expandMachineShortcut(["--machine"], env)).toThrow(/needs the name/);
  });

  it("finds --context in either spelling", () => {
    expect(contextOption(["machine", "ls", "--context", "dev-2"])).toBe("dev-2");
    expect(contextOption(["--context=dev-1", "status"])).toBe("dev-1");
    expect(contextOption(["status"])).toBeUndefined();
  });
});
