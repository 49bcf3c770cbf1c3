import { describe, expect, it } from "vitest";
import { isCandidateOf, LABELS, managedLabelFilter, shortContainerRef } from "../../model/instance.ts";

const candidate = { [LABELS.managed]: "true", [LABELS.cluster]: "c0ffee0000000001", [LABELS.namespace]: "shop", [LABELS.deploy]: "d-000001" };

describe("the labels a participant goes by", () => {
  it("filters Docker's list to one cluster's managed containers, of one namespace when asked", () => {
    expect(managedLabelFilter("c0ffee0000000001")).toEqual(["ployz.managed=true", "ployz.cluster=c0ffee0000000001"]);
    expect(managedLabelFilter("c0ffee0000000001", "shop")).toEqual(["ployz.managed=true", "ployz.cluster=c0ffee0000000001", "ployz.namespace=shop"]);
  });

  it("a container is a deploy's candidate only with both its namespace and its deploy id", () => {
    expect(isCandidateOf(candidate, "shop", "d-000001")).toBe(true);
    expect(isCandidateOf(candidate, "shop", "d-000002")).toBe(false); // another deploy of the namespace
    expect(isCandidateOf(candidate, "blog", "d-000001")).toBe(false); // the same deploy id in another namespace
    expect(isCandidateOf({ ...candidate, [LABELS.deploy]: undefined as unknown as string }, "shop", "d-000001")).toBe(false);
    expect(isCandidateOf({}, "shop", "d-000001")).toBe(false);
  });

  it("shows a full container id by its first 12 characters and a name (or anything else) as it is", () => {
    const id = "a".repeat(12) + "b".repeat(52);
    expect(shortContainerRef(id)).toBe("aaaaaaaaaaaa");
    expect(shortContainerRef("ployz-shop-web-0-d-000001")).toBe("ployz-shop-web-0-d-000001");
    expect(shortContainerRef("no-such-container")).toBe("no-such-container");
    expect(shortContainerRef(`${id}x`)).toBe(`${id}x`);
  });
});
