import type { Logger } from "pino";
import { fromCallback } from "xstate";
import type { ApplierEvent } from "../../machines/routing-consumer.ts";
import type { DnsControl } from "./dns-control.ts";

export interface DnsDeps {
  /** The DNS process's control socket (runtime/dns-process.ts starts or adopts the process). */
  control: DnsControl;
  log: Logger;
}

/**
 * The DNS's applier (of machines/routing-consumer.ts): sends each projection, whole and in order,
 * to the DNS process (`ployzd dns`, which answers `*.ployz.internal` and outlives ployzd), and
 * reports it applied once that process answers from it. A control socket that fails ends the
 * consumer (APPLIER_CRASHED): its supervisor restarts it, and the process supervisor brings a DNS
 * process that died back.
 */
export function createDnsApplier(deps: DnsDeps) {
  return fromCallback<ApplierEvent, { kind: "gateway" | "dns" }>(({ sendBack, receive }) => {
    let stopped = false;
    let queue: Promise<void> = Promise.resolve();
    receive((event) => {
      const projection = event.projection;
      queue = queue.then(async () => {
        if (stopped) return;
        try {
          await deps.control.apply(projection);
          if (!stopped) sendBack({ type: "APPLIED", seq: projection.seq, excluded: [] });
        } catch (error) {
          if (stopped) return;
          stopped = true; // this consumer ends: nothing queued after it is sent
          deps.log.error({ error: error instanceof Error ? error.message : String(error) }, "the DNS process did not take the projection");
          sendBack({ type: "APPLIER_CRASHED", error: error instanceof Error ? error.message : String(error) });
        }
      });
    });
    return () => {
      stopped = true;
    };
  });
}
