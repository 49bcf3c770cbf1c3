import { namespaceSpecSchema, type NamespaceSpec, type ReadinessProbe } from "../../model/manifest.ts";
import { BUSYBOX_IMAGE } from "../../test/harness/docker.ts";

/** The workload every deploy benchmark runs: busybox httpd serving one page on this port. */
export const HTTPD_PORT = 8080;
export const HTTPD_IMAGE = BUSYBOX_IMAGE;
/** As examples/demo.yaml: write /www/index.html, then httpd in the foreground. */
export const HTTPD_SCRIPT = `mkdir -p /www && echo 'hello from ployz bench' > /www/index.html && exec httpd -f -p ${HTTPD_PORT} -h /www`;
export const HTTPD_COMMAND = ["/bin/sh", "-c", HTTPD_SCRIPT];

/** How often readiness is checked, by ployz and by every baseline. */
export const PROBE_INTERVAL_MS = 100;

/**
 * A one-service namespace of `replicas` httpd instances with an HTTP readiness probe on
 * HTTPD_PORT every PROBE_INTERVAL_MS, and retries enough (the maximum, 100) that only a broken
 * container fails it. No resources are reserved, so any number fits on one machine.
 */
export function httpdNamespace(namespace: string, options: { replicas: number; startPeriodMs?: number; env?: Record<string, string> }): NamespaceSpec {
  const readiness = {
    type: "http",
    port: HTTPD_PORT,
    path: "/",
    interval: PROBE_INTERVAL_MS,
    retries: 100,
    startPeriod: options.startPeriodMs ?? 0,
  } satisfies Partial<ReadinessProbe>;
  return namespaceSpecSchema.parse({
    namespace,
    services: { web: { image: HTTPD_IMAGE, command: HTTPD_COMMAND, replicas: options.replicas, readiness, env: options.env ?? {} } },
  });
}

/**
 * Polls `url` until it answers 200: the first try at once, then every `intervalMs` (each try
 * times out after 1 s, as ployz's probe does by default). Returns the number of tries.
 */
export async function waitForHttp200(url: string, intervalMs: number, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  let lastError = "";
  for (let tries = 1; ; tries++) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000), redirect: "manual" });
      await response.body?.cancel();
      if (response.status === 200) return tries;
      lastError = `HTTP ${response.status}`;
    } catch (error) {
      lastError = error instanceof Error ? error.message : String(error);
    }
    if (performance.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms (last: ${lastError})`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
