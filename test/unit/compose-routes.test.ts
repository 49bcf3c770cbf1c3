import { describe, expect, it } from "vitest";
import { composeToSpec } from "../../model/compose.ts";

const convert = (services: Record<string, unknown>) => composeToSpec({ name: "shop", services }, { fileName: "compose.yaml", baseDir: "/srv" }).spec;

describe("Compose ports and the gateway", () => {
  it("routes a service that publishes a port as <service>.<namespace>.localhost on that port", () => {
    const spec = convert({ web: { image: "busybox", ports: ["127.0.0.1:8081:80", "9000"] } });
    expect(spec.services.web!.routes).toEqual([{ hostnames: ["web.shop.localhost"], pathPrefix: "/", port: 80, tls: "none" }]);
  });

  it("gives no route to a service that only exposes container ports, or publishes UDP only", () => {
    const spec = convert({ worker: { image: "busybox", ports: ["9000"] }, dns: { image: "busybox", ports: ["127.0.0.1:5353:53/udp"] } });
    expect(spec.services.worker!.routes).toEqual([]);
    expect(spec.services.dns!.routes).toEqual([]);
  });
});
