import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterStatus } from "../../model/api.ts";
import type { ChildStatus } from "../../model/observation.ts";
import { createTestHome, eventually, startDevDaemon, type TestHome } from "../harness/daemon.ts";

let home: TestHome;
beforeAll(async () => {
  home = createTestHome();
  await startDevDaemon(home, { faultInjection: true });
});
afterAll(async () => {
  await home?.dispose();
});

async function child(name: string): Promise<ChildStatus> {
  const status = await home.json<ClusterStatus>("status");
  const observation = status.observation[0];
  if (!observation?.ok) throw new Error(`no observation: ${JSON.stringify(observation)}`);
  return observation.children.find((c) => c.name === name)!;
}

describe("supervision in a real ployzd", () => {
  it("restarts a crashed actor and counts the restart", async () => {
    expect((await child("participant")).restarts).toBe(0);
    const crash = await home.cli("debug", "crash", "inspector");
    expect(crash.code).toBe(0);
    const restarted = await eventually(async () => {
      const c = await child("inspector");
      return c.state === "running" && c.restarts === 1 ? c : undefined;
    }, "inspector to be restarted");
    expect(restarted.lastError).toBe("crash injected by ployzctl debug crash");
  });

  it("marks an actor that crash-loops as failed, visibly, and records it as Status", async () => {
    for (let crash = 1; crash <= 6; crash++) {
      await eventually(async () => ((await child("meshPeer")).state === "running" ? true : undefined), `meshPeer running before crash ${crash}`);
      const result = await home.cli("debug", "crash", "meshPeer");
      expect(result.code, result.stderr).toBe(0);
    }
    const failed = await eventually(async () => {
      const c = await child("meshPeer");
      return c.state === "failed" ? c : undefined;
    }, "meshPeer to be failed");
    expect(failed.restarts).toBe(5);

    const human = await home.cli("status");
    expect(human.stdout).toContain("meshPeer FAILED (5 restarts: crash injected by ployzctl debug crash)");
    const status = await home.json<ClusterStatus>("status");
    expect(status.status.nodes[0]).toMatchObject({ event: "child-failed", detail: expect.stringContaining("meshPeer") });
    // the other children are untouched
    expect((await child("participant")).state).toBe("running");

    // a failed actor is not running: crashing it again is refused, loudly
    const again = await home.cli("debug", "crash", "meshPeer");
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("meshPeer on machine");
    expect(again.stderr).toContain("is failed, not running");
  });

  it("refuses to crash an actor that does not exist, naming the ones that do", async () => {
    const result = await home.cli("debug", "crash", "nosuch");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("has no supervised actor nosuch (there are: participant, api, reconciler, inspector, meshPeer, access, joinListener, gateway, dns)");
  });
});
