import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { aNamespaceSpec, httpService, startTestCluster, viaGateway, type TestCluster } from "../harness/cluster.ts";
import { eventually } from "../harness/daemon.ts";

/** Route ownership is claimed cluster-wide at commit: one owner per host + prefix, wildcards against what they cover. */

let cluster: TestCluster;
beforeAll(async () => {
  cluster = await startTestCluster({ extraArgs: ["--reconcile-interval-ms", "1000"] });
}, 120_000);
afterAll(async () => {
  await cluster?.dispose();
});

const serving = (ns: string, body: string, hostnames: string[], pathPrefix = "/") =>
  aNamespaceSpec(ns, { web: httpService(body, { routes: [{ hostnames, pathPrefix, port: 8080 }] }) });

describe("route claims", () => {
  it("two namespaces deploying the same host at once: exactly one wins, and the other's error names it", async () => {
    const host = `${cluster.namespace("race")}.claims.test`;
    const a = cluster.namespace("race-a");
    const b = cluster.namespace("race-b");
    const results = await Promise.allSettled([cluster.client.deploy({ spec: serving(a, "a", [host]) }), cluster.client.deploy({ spec: serving(b, "b", [host]) })]);
    const won = results.filter((r) => r.status === "fulfilled");
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const winner = results[0]!.status === "fulfilled" ? a : b;
    const loser = winner === a ? b : a;
    expect(lost[0]!.reason).toMatchObject({ code: "route-conflict" });
    expect((lost[0]!.reason as Error).message).toContain(`route ${host}/ of ${loser}/web`);
    expect((lost[0]!.reason as Error).message).toContain(`claimed by ${winner}/web`);
    // the loser left nothing behind, and the gateway serves the winner
    expect(await cluster.containersOf(loser)).toEqual([]);
    await eventually(async () => ((await viaGateway(cluster.gateway, host)).body === (winner === a ? "a" : "b") ? true : undefined), "the gateway to serve the winner");
  });

  it("a wildcard cannot take the hostnames another namespace serves under it (whatever the prefix), nor the other way round; both refused at preview", async () => {
    const zone = `${cluster.namespace("wild")}.claims.test`;
    const shop = cluster.namespace("wild-shop");
    const evil = cluster.namespace("wild-evil");
    await cluster.client.deploy({ spec: serving(shop, "shop", [`shop.${zone}`]) });
    const preview = cluster.client.deploy({ spec: serving(evil, "evil", [`*.${zone}`], "/api"), preview: true });
    await expect(preview).rejects.toMatchObject({ code: "route-conflict", message: expect.stringContaining(`route *.${zone}/api of ${evil}/web conflicts with shop.${zone}/, claimed by ${shop}/web`) });
    await expect(cluster.client.deploy({ spec: serving(evil, "evil", [`*.${zone}`], "/api") })).rejects.toMatchObject({ code: "route-conflict" });
    // nothing of evil was deployed: shop's host is shop's, its /api included (httpd answers 404 for a page it lacks)
    expect(await cluster.containersOf(evil)).toEqual([]);
    await eventually(async () => ((await viaGateway(cluster.gateway, `shop.${zone}`)).body === "shop" ? true : undefined), "the gateway to serve shop's route");

    const wildFirst = cluster.namespace("wild-first");
    await cluster.client.deploy({ spec: serving(wildFirst, "wild", [`*.other-${zone}`]) });
    await expect(cluster.client.deploy({ spec: serving(cluster.namespace("wild-late"), "late", [`late.other-${zone}`], "/late") })).rejects.toMatchObject({
      code: "route-conflict",
      message: expect.stringContaining(`claimed by ${wildFirst}/web`),
    });
  });

  it("a deploy that drops a route releases its claim, and so does namespace rm", async () => {
    const host = `${cluster.namespace("release")}.claims.test`;
    const owner = cluster.namespace("release-owner");
    const next = cluster.namespace("release-next");
    await cluster.client.deploy({ spec: serving(owner, "owner", [host]) });
    await expect(cluster.client.deploy({ spec: serving(next, "next", [host]) })).rejects.toMatchObject({ code: "route-conflict" });

    await cluster.client.deploy({ spec: serving(owner, "owner", [`other-${host}`]) });
    const taken = await eventually(() => cluster.client.deploy({ spec: serving(next, "next", [host]) }).catch(() => undefined), "the dropped route's claim to be released");
    expect(taken.type).toBe("deployed");

    await expect(cluster.client.deploy({ spec: serving(cluster.namespace("release-third"), "third", [`other-${host}`]) })).rejects.toMatchObject({ code: "route-conflict" });
    await cluster.client.namespaceRm(owner);
    const third = await eventually(() => cluster.client.deploy({ spec: serving(cluster.namespace("release-fourth"), "fourth", [`other-${host}`]) }).catch(() => undefined), "namespace rm to release its claims");
    expect(third.type).toBe("deployed");
  });
});
