import { describe, expect, it } from "vitest";
import { namespaceSpecSchema } from "../../model/manifest.ts";
import { parseMemory } from "../../model/quantity.ts";
import { parseManifestDocument } from "../../model/manifest-errors.ts";
import { ManifestError } from "../../model/errors.ts";

const service = (command: unknown) => namespaceSpecSchema.safeParse({ namespace: "demo", services: { web: { image: "busybox", command } } });

describe("manifest commands and sizes", () => {
  it("splits a string command into words as a shell would, quotes included", () => {
    const parsed = service(`sh -c 'echo "hi there"'`);
    expect(parsed.success && parsed.data.services.web!.command).toEqual(["sh", "-c", 'echo "hi there"']);
  });

  it("refuses a string command that needs a shell, pointing at the field", () => {
    expect(service("make && run").success).toBe(false);
    const doc = { namespace: "demo", services: { web: { image: "busybox", command: "make && run" } } };
    expect(() => parseManifestDocument(namespaceSpecSchema, doc, "app.yaml")).toThrow(ManifestError);
    expect(() => parseManifestDocument(namespaceSpecSchema, doc, "app.yaml")).toThrow(/app\.yaml: services\.web\.command: .*uses the shell operator "&"/);
  });

  it("reads k, m, g as powers of 1024, as Docker does", () => {
    expect(parseMemory("512m")).toBe(512 * 1024 ** 2);
    expect(parseMemory("1g")).toBe(1024 ** 3);
    expect(parseMemory("128Mi")).toBe(128 * 1024 ** 2);
    expect(parseMemory("lots")).toBeUndefined();
  });
});
