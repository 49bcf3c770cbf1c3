import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { composeToSpec } from "../../model/compose.ts";
import { COMPOSE_COVERAGE, COVERAGE_SECTIONS, coverageCounts, type CoverageSection } from "../../model/compose-coverage.ts";
import { withCoverageTable } from "../../model/compose-coverage-doc.ts";
import { ManifestError } from "../../model/errors.ts";
import { thrownBy } from "../fixtures/errors.ts";

/**
 * The coverage table against the Compose Specification's own JSON schema: every attribute the
 * schema has is classified, and the converter does what the table says for each of them.
 */

const schema = JSON.parse(readFileSync(fileURLToPath(new URL("../../vendor/compose-spec/compose-spec.json", import.meta.url)), "utf8")) as {
  properties: Record<string, unknown>;
  $defs: Record<string, { properties?: Record<string, unknown> }>;
};
const SECTIONS = Object.keys(COVERAGE_SECTIONS) as CoverageSection[];

function schemaProperties(section: CoverageSection): string[] {
  const definition = COVERAGE_SECTIONS[section].schema;
  const properties = definition === "" ? schema.properties : schema.$defs[definition]?.properties;
  if (!properties) throw new Error(`the schema has no definition ${definition}`);
  return Object.keys(properties);
}

/** A Compose document with `value` at `key` of `section`, and the path Ployz reports it at. */
function placed(section: CoverageSection, key: string, value: unknown): { doc: Record<string, unknown>; path: string } {
  const web: Record<string, unknown> = { image: "busybox" };
  const doc: Record<string, unknown> = { name: "app", services: { web } };
  switch (section) {
    case "file":
      doc[key] = value;
      return { doc, path: key };
    case "service":
      web[key] = value;
      return { doc, path: `services.web.${key}` };
    case "deploy":
      web.deploy = { [key]: value };
      return { doc, path: `services.web.deploy.${key}` };
    case "healthcheck":
      web.healthcheck = { test: ["CMD", "true"], [key]: value };
      return { doc, path: `services.web.healthcheck.${key}` };
    case "volume":
      doc.volumes = { v: { [key]: value } };
      return { doc, path: `volumes.v.${key}` };
    case "config":
      doc.configs = { c: { content: "x", [key]: value } };
      return { doc, path: `configs.c.${key}` };
    case "secret":
      doc.secrets = { s: { environment: "S", [key]: value } };
      return { doc, path: `secrets.s.${key}` };
    case "network":
      doc.networks = { n: { [key]: value } };
      return { doc, path: `networks.n.${key}` };
  }
}

const convert = (doc: unknown) => composeToSpec(doc, { fileName: "compose.yaml", baseDir: "/srv/app", environment: { S: "s3cret" } });

/** A value Compose files carry for each ignored attribute, which Ployz must accept. */
const IGNORED_SAMPLES: Record<string, unknown> = {
  "file.version": "3.8",
  "file.networks": { front: null },
  "service.develop": { watch: [{ path: "./src", action: "rebuild" }] },
  "service.attach": false,
  "service.container_name": "my-web",
  "service.networks": ["default"],
  "service.pull_policy": "always",
  "service.pull_refresh_after": "1h",
  "service.stdin_open": true,
  "service.tty": true,
  "config.name": "app-config",
  "config.labels": { tier: "web" },
  "secret.name": "app-secret",
  "secret.labels": { tier: "web" },
  "network.name": "app-net",
  "network.driver": "bridge",
  "network.enable_ipv4": true,
  "network.attachable": true,
  "network.labels": { tier: "web" },
};

describe("the coverage table", () => {
  it.each(SECTIONS)("classifies every attribute the Compose Specification gives %s", (section) => {
    const unclassified = schemaProperties(section).filter((key) => !Object.hasOwn(COMPOSE_COVERAGE[section], key));
    expect(unclassified, `classify these in model/compose-coverage.ts (${COVERAGE_SECTIONS[section].title})`).toEqual([]);
  });

  it.each(SECTIONS)("has no entry in %s that the specification does not have", (section) => {
    const properties = schemaProperties(section);
    expect(Object.keys(COMPOSE_COVERAGE[section]).filter((key) => !properties.includes(key))).toEqual([]);
  });

  it("counts what it classifies", () => {
    const counts = coverageCounts();
    const total = SECTIONS.reduce((n, section) => n + schemaProperties(section).length, 0);
    expect(counts.supported + counts.ignored + counts.refused).toBe(total);
  });

  it("gives every entry its how or why", () => {
    for (const section of SECTIONS) {
      for (const [key, entry] of Object.entries(COMPOSE_COVERAGE[section])) {
        expect((entry.status === "supported" ? entry.how : entry.why).length, `${section}.${key}`).toBeGreaterThan(5);
      }
    }
  });
});

describe("the converter does what the table says", () => {
  const refused = SECTIONS.flatMap((section) => Object.entries(COMPOSE_COVERAGE[section]).flatMap(([key, entry]) => (entry.status === "refused" ? [[section, key, entry.why] as const] : [])));
  it.each(refused)("%s %s is refused at its path, saying why", (section, key, why) => {
    const { doc, path } = placed(section, key, { anything: 1 });
    const error = thrownBy(ManifestError, () => convert(doc));
    expect(error.message.split("\n")).toContain(`compose.yaml: ${path}: Ployz does not support "${key}" — ${why}`);
  });

  const ignored = SECTIONS.flatMap((section) => Object.entries(COMPOSE_COVERAGE[section]).flatMap(([key, entry]) => (entry.status === "ignored" ? [[section, key] as const] : [])));
  it.each(ignored)("%s %s is accepted and changes nothing", (section, key) => {
    const sample = IGNORED_SAMPLES[`${section}.${key}`];
    expect(sample, `give a sample value for ignored ${section}.${key} in IGNORED_SAMPLES`).toBeDefined();
    const { doc } = placed(section, key, sample);
    const { doc: without } = placed(section, `x-without-${key}`, sample);
    expect(convert(doc)).toEqual(convert(without));
  });

  it("an ignored attribute with a value Ployz cannot honour is still refused", () => {
    expect(() => convert(placed("network", "driver", "overlay").doc)).toThrow('networks.n.driver: "overlay": the services of a namespace share one bridge network; only driver: bridge');
    expect(() => convert(placed("network", "enable_ipv4", false).doc)).toThrow("networks.n.enable_ipv4: the namespace's network has IPv4; remove enable_ipv4: false");
    expect(() => convert(placed("service", "networks", { default: { aliases: ["www"] } }).doc)).toThrow(
      'services.web.networks.default.aliases: Ployz does not support "aliases" — the services of a namespace share one network and reach each other by service name',
    );
    expect(() => convert(placed("service", "networks", ["back"]).doc)).toThrow('services.web.networks[0]: network "back" is not declared under top-level networks:');
  });
});

describe("docs/compose.md", () => {
  it("holds the current table", () => {
    const doc = readFileSync(fileURLToPath(new URL("../../docs/compose.md", import.meta.url)), "utf8");
    expect(doc, "docs/compose.md is out of date: run `npx tsx scripts/compose-doc.ts`").toBe(withCoverageTable(doc));
  });
});
