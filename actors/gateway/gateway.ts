import type { JetStreamClient, JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromPromise } from "xstate";
import { renderCaddyConfig, type GatewayListen, type GatewayTls } from "../../model/caddy-config.ts";
import { acmeHostnames, summarize, unsupportedReason, type CertificatePlan, type CertificateRecord } from "../../model/certificates.ts";
import { emptyProjection, type RoutingProjection } from "../../model/routing.ts";
import type { RoutingConsumerStatus } from "../../model/routing-status.ts";
import { httpRequest } from "../http/http-request.ts";
import { reportRouting } from "../routing/consumer-status.ts";
import { followRouting } from "../routing/follow-routing.ts";
import type { AcmeSettings } from "./acme.ts";
import { watchCertificates } from "./certificate-store.ts";
import { orderCertificates, type CertificateOrders } from "./certificates.ts";
import { compareText } from "../../model/compare.ts";

export interface GatewayDeps {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  adminUrl: string;
  listen: GatewayListen;
  /** KV `secrets`: certificates every gateway serves, the ACME account, order locks. */
  secrets: KV;
  machineId: string;
  /** This machine's ACME directory; without it, it orders nothing (it still serves stored certificates). */
  acme?: AcmeSettings;
  /** Shared with the participant, which reports it on `observe.routes`. */
  status: RoutingConsumerStatus;
  log: Logger;
}

/**
 * The gateway: a routing consumer that turns the projection — plus the certificates in KV
 * `secrets` and the ACME challenges being validated — into a whole Caddy config, and loads it
 * through Caddy's admin API on loopback. Certificates are ordered here too (`orderCertificates`),
 * so any machine's gateway can obtain one and every gateway serves it. Caddy keeps serving the
 * last config it accepted while this actor restarts or NATS is away.
 */
export function createGateway(deps: GatewayDeps) {
  return fromPromise<void, { name: string }>(async ({ signal }) => {
    let projection: RoutingProjection | undefined;
    let certificates: ReadonlyMap<string, CertificateRecord> = new Map();
    const challenges = new Map<string, string>();
    let plan: { plan: CertificatePlan; ordering: string | undefined } | undefined;
    let orders: CertificateOrders | undefined;
    const caddy = caddyLoader(deps.adminUrl);

    /** The certificates served: those `tls: acme` routes ask for (others stay in the store, unused). */
    const served = () => {
      const wanted = new Set(acmeHostnames(projection ?? emptyProjection()));
      return [...certificates.values()].filter((c) => wanted.has(c.hostname));
    };
    const tls = (): GatewayTls => ({
      certificates: served(),
      challenges: [...challenges].map(([token, keyAuthorization]) => ({ token, keyAuthorization })),
    });
    /**
     * Loads the whole config, once the projection is known (never an empty one over Caddy's last
     * good), and never after this actor stopped: an order still finishing must not load an old view.
     */
    const apply = async () => {
      if (projection && !signal.aborted) await caddy.load(renderCaddyConfig(projection, deps.listen, tls()));
    };
    const reportTls = () => {
      if (signal.aborted) return; // the status belongs to the gateway that runs now
      const waiting = acmeHostnames(projection ?? emptyProjection())
        .filter((h) => !certificates.has(h))
        .map((hostname) => {
          if (!deps.acme) return { hostname, reason: "acme not configured on this machine (ployzd run --acme-directory)" };
          if (plan?.ordering === hostname) return { hostname, reason: "ordering" };
          return plan?.plan.waiting.find((w) => w.hostname === hostname) ?? { hostname, reason: unsupportedReason(hostname) ?? "waiting to be ordered" };
        });
      deps.status.tls = {
        ...(deps.listen.https ? { https: deps.listen.https } : {}),
        acme: deps.acme ? { configured: true, directory: deps.acme.directory } : { configured: false },
        certificates: served().map(summarize).sort((a, b) => compareText(a.hostname, b.hostname)),
        waiting,
      };
    };
    reportTls();

    const watching = watchCertificates({
      nc: deps.nc,
      secrets: deps.secrets,
      signal,
      log: deps.log,
      onChange: (latest) => {
        certificates = latest;
        reportTls();
        orders?.wake();
        apply().catch((error: unknown) => deps.log.error({ error: message(error) }, "caddy refused the config with the new certificates"));
      },
    });

    if (deps.acme) {
      orders = orderCertificates({
        secrets: deps.secrets,
        settings: deps.acme,
        machineId: deps.machineId,
        log: deps.log,
        signal,
        wanted: () => (projection ? acmeHostnames(projection) : []),
        certificates: () => certificates,
        onCertificate: (record) => {
          const current = certificates.get(record.hostname);
          if (current?.certPem === record.certPem) return;
          certificates = new Map(certificates).set(record.hostname, record);
          reportTls();
          apply().catch((error: unknown) => deps.log.error({ error: message(error) }, "caddy refused the config with the new certificate"));
        },
        publish: async (challenge) => {
          challenges.set(challenge.token, challenge.keyAuthorization);
          await apply();
        },
        withdraw: async (challenge) => {
          challenges.delete(challenge.token);
          await apply();
        },
        onPlan: (latest, ordering) => {
          plan = { plan: latest, ordering };
          reportTls();
        },
      });
    }

    const report = reportRouting(deps.status, deps.log, (r) => r.routes.flatMap((route) => route.hostnames.map((h) => `${h}${route.pathPrefix}`)));
    const routing = followRouting({
      nc: deps.nc,
      js: deps.js,
      jsm: deps.jsm,
      signal,
      onReload: report.onReload,
      onFreshness: report.onFreshness,
      onProjection: async (latest) => {
        projection = latest;
        await apply();
        report.applied(latest);
        reportTls();
        orders?.wake();
      },
    });
    await Promise.all([routing, watching, orders?.done]);
  });
}

/**
 * Loads whole configs into Caddy one at a time, in the order asked, skipping a config identical
 * to the one last accepted. A refusal rejects that load; the next load tries again.
 */
function caddyLoader(adminUrl: string) {
  let loaded = "";
  let queue: Promise<void> = Promise.resolve();
  return {
    load(config: Record<string, unknown>): Promise<void> {
      const body = JSON.stringify(config);
      const run = queue.then(async () => {
        if (body === loaded) return;
        const response = await httpRequest(`${adminUrl}/load`, { method: "POST", headers: { "Content-Type": "application/json" }, body, timeoutMs: 10_000 });
        if (!response.ok) throw new Error(`caddy refused the config: HTTP ${response.status} ${withoutPem(response.text).slice(0, 300)}`);
        loaded = body;
      });
      queue = run.catch(() => undefined);
      return run;
    },
  };
}

/** Caddy's errors quote what they refused: never let a key through to a log or a status. */
const withoutPem = (text: string) => text.replace(/-----BEGIN [^-]+-----[\s\S]*?(-----END [^-]+-----|$)/g, "[PEM removed]");

const message = (error: unknown) => (error instanceof Error ? error.message : String(error));
