import { errorText } from "../../model/errors.ts";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { Logger } from "pino";
import { fromCallback } from "xstate";
import type { ApplierEvent } from "../../machines/routing-consumer.ts";
import { renderCaddyConfig, servableProjection, type ExcludedRoute, type GatewayListen, type GatewayTls } from "../../model/caddy-config.ts";
import { compareText } from "../../model/compare.ts";
import { acmeHostnames, summarize, unsupportedReason, type CertificatePlan, type CertificateRecord, type CertificateStatusRecord } from "../../model/certificates.ts";
import { emptyProjection, type RoutingProjection } from "../../model/routing.ts";
import type { AcmeSettings } from "./acme.ts";
import type { CaddyAdmin } from "./caddy-admin.ts";
import { watchCertificates } from "./certificate-store.ts";
import { orderCertificates, type CertificateOrders } from "./certificates.ts";

export interface GatewayDeps {
  /** Caddy's admin API (a unix socket). */
  admin: CaddyAdmin;
  listen: GatewayListen;
  /** KV `tls`: certificates every gateway serves, the ACME account, order locks. */
  tls: KV;
  nc: NatsConnection;
  machineId: string;
  /** This machine's ACME directory; without it, it orders nothing (it still serves stored certificates). */
  acme?: AcmeSettings;
  /** Records a certificate order's outcome as Status (`ployzctl events`). */
  recordOrder?: (record: CertificateStatusRecord) => Promise<void>;
  log: Logger;
}

/**
 * The gateway's applier (of machines/routing-consumer.ts): turns each projection it is sent — plus
 * the certificates in KV `tls` and the ACME challenges being validated — into a whole Caddy
 * config, and loads it through Caddy's admin API. Records it cannot serve are left out and
 * reported (APPLIED names them), never sent to Caddy. Certificates are ordered here too
 * (`orderCertificates`), so any machine's gateway can obtain one and every gateway serves it.
 * Caddy keeps serving the last config it accepted while this actor restarts or NATS is away.
 */
export function createGatewayApplier(deps: GatewayDeps) {
  return fromCallback<ApplierEvent, { kind: "gateway" | "dns" }>(({ sendBack, receive }) => {
    const abort = new AbortController();
    const signal = abort.signal;
    let projection: RoutingProjection | undefined;
    let excluded: ExcludedRoute[] = [];
    let certificates: ReadonlyMap<string, CertificateRecord> = new Map();
    const challenges = new Map<string, string>();
    let plan: { plan: CertificatePlan; ordering: string | undefined } | undefined;
    let orders: CertificateOrders | undefined;
    const caddy = caddyLoader(deps.admin);

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
      if (!projection || signal.aborted) return;
      const seq = projection.seq;
      try {
        await caddy.load(renderCaddyConfig(projection, deps.listen, tls()));
        if (!signal.aborted) sendBack({ type: "APPLIED", seq, excluded });
      } catch (error) {
        deps.log.error({ error: errorText(error) }, "caddy refused the config; it keeps serving the last one it accepted");
        if (!signal.aborted) sendBack({ type: "APPLY_FAILED", error: errorText(error) });
      }
    };
    const reportTls = () => {
      if (signal.aborted) return;
      const waiting = acmeHostnames(projection ?? emptyProjection())
        .filter((h) => !certificates.has(h))
        .map((hostname) => {
          if (!deps.acme) return { hostname, reason: "acme not configured on this machine (ployzd run --acme-directory)" };
          if (plan?.ordering === hostname) return { hostname, reason: "ordering" };
          return plan?.plan.waiting.find((w) => w.hostname === hostname) ?? { hostname, reason: unsupportedReason(hostname) ?? "waiting to be ordered" };
        });
      sendBack({
        type: "TLS",
        tls: {
          ...(deps.listen.https ? { https: deps.listen.https } : {}),
          acme: deps.acme ? { configured: true, directory: deps.acme.directory } : { configured: false },
          certificates: served().map(summarize).sort((a, b) => compareText(a.hostname, b.hostname)),
          waiting,
        },
      });
    };
    reportTls();

    receive((event) => {
      const servable = servableProjection(event.projection);
      for (const e of servable.excluded) if (!excluded.some((x) => x.namespace === e.namespace && x.service === e.service)) deps.log.warn(e, "routing record left out");
      projection = servable.projection;
      excluded = servable.excluded;
      void apply();
      reportTls();
      orders?.wake();
    });

    const failed = (what: string) => (error: unknown) => {
      if (signal.aborted) return;
      deps.log.error({ error: errorText(error) }, `${what} failed`);
      sendBack({ type: "APPLY_FAILED", error: `${what}: ${errorText(error)}` });
    };
    watchCertificates({
      nc: deps.nc,
      tls: deps.tls,
      signal,
      log: deps.log,
      onChange: (latest) => {
        certificates = latest;
        reportTls();
        orders?.wake();
        void apply();
      },
    }).catch(failed("watching certificates"));

    if (deps.acme) {
      orders = orderCertificates({
        tls: deps.tls,
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
          void apply();
        },
        publish: async (challenge) => {
          challenges.set(challenge.token, challenge.keyAuthorization);
          await apply();
        },
        withdraw: async (challenge) => {
          challenges.delete(challenge.token);
          await apply();
        },
        onOrder: (outcome) => {
          deps.recordOrder?.({ type: "certificate", machine: deps.machineId, at: new Date().toISOString(), ...outcome }).catch((error: unknown) => deps.log.error({ err: error, hostname: outcome.hostname }, "could not record the certificate order as Status"));
        },
        onPlan: (latest, ordering) => {
          plan = { plan: latest, ordering };
          reportTls();
        },
      });
      orders.done.catch(failed("ordering certificates"));
    }
    return () => abort.abort();
  });
}

/**
 * Loads whole configs into Caddy one at a time, in the order asked, skipping a config identical
 * to the one last accepted. A refusal rejects that load; the next load tries again.
 */
function caddyLoader(admin: CaddyAdmin) {
  let loaded = "";
  let queue: Promise<void> = Promise.resolve();
  return {
    load(config: Record<string, unknown>): Promise<void> {
      const body = JSON.stringify(config);
      const run = queue.then(async () => {
        if (body === loaded) return;
        await admin.load(config);
        loaded = body;
      });
      queue = run.catch(() => undefined); // the caller hears this one's failure; the queue goes on
      return run;
    },
  };
}
