import { describe, expect, it } from "vitest";
import type { StoredCommitsRecord } from "../../model/commit.ts";
import { forwardedOperationSchema } from "../../model/deploy.ts";
import { namespaceAuthority } from "../../model/namespace-authority.ts";
import { permissionsFor } from "../../model/roles.ts";
import { subjects } from "../../model/subjects.ts";
import { aHead, aService, aSpec } from "../fixtures/deploy.ts";
import { aNatsUser } from "../fixtures/machines.ts";

const spec = aSpec({ web: aService() });
const fence = (holder: string, headSeq: number | null, seq: number): StoredCommitsRecord => ({ type: "fence", namespace: "shop", deployId: `d-${seq}`, holder, headSeq, at: "2025-01-01T00:00:00.000Z", seq });

describe("namespaceAuthority", () => {
  it("is nobody before anyone fenced the namespace: the machine that receives the first deploy becomes it", () => {
    expect(namespaceAuthority({ last: null, head: null })).toBeUndefined();
  });

  it("is the holder of the last fence before the first commit", () => {
    expect(namespaceAuthority({ last: fence("m3", null, 1), head: null })).toBe("m3");
  });

  it("is the machine the head names, even when another machine fenced since (a deploy that failed there)", () => {
    const head = aHead(spec, 2, [], { authority: "m1" });
    expect(namespaceAuthority({ last: head, head })).toBe("m1");
    expect(namespaceAuthority({ last: fence("m2", 2, 3), head })).toBe("m1");
  });
});

describe("forwarding an operation to the authority", () => {
  it("carries a whole spec of the namespace it names, or a removal", () => {
    const deploy = { type: "forwarded-operation", namespace: "shop", from: "m2", operation: { kind: "deploy", spec, images: { x: "sha256:1" } }, preview: false, progress: "_INBOX.m.m2.abc" };
    expect(forwardedOperationSchema.parse(deploy).operation).toEqual(deploy.operation);
    expect(forwardedOperationSchema.safeParse({ ...deploy, namespace: "other" }).success).toBe(false);
    expect(forwardedOperationSchema.safeParse({ ...deploy, operation: { kind: "remove" } }).success).toBe(true);
    expect(forwardedOperationSchema.safeParse({ ...deploy, progress: "ployz.api.deploy" }).success).toBe(false);
  });

  it("may be sent by every machine and received only by the machine it is addressed to", () => {
    const m2 = permissionsFor({ nkey: aNatsUser("m2"), role: "machine", name: "m2" });
    expect(m2.publish.allow).toContain("ployz.authority.*.operate");
    expect(m2.subscribe.allow).toContain(subjects.forwardedOperation("m2"));
    expect(m2.subscribe.allow).not.toContain(subjects.forwardedOperation("m1"));
    const operator = permissionsFor({ nkey: aNatsUser("alice"), role: "operator", name: "alice" });
    expect(operator.publish.allow.some((s) => s.startsWith("ployz.authority."))).toBe(false);
  });
});
