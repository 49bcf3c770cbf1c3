import { KvWatchInclude, type KV } from "@nats-io/kv";
import { fromCallback } from "xstate";
import type { MeshPeerEvent } from "../../machines/mesh-peer.ts";
import { readMachines } from "../store/machines.ts";

/**
 * Watches the `machines` KV and sends the whole membership (never a diff) to the mesh peer each
 * time it changes. A watch that ends by itself is reported as WATCH_FAILED.
 */
export function createWatchMachines(machines: KV) {
  return fromCallback<MeshPeerEvent>(({ sendBack }) => {
    let stopped = false;
    let iterator: { stop(): void } | undefined;
    void (async () => {
      try {
        const watch = await machines.watch({ include: KvWatchInclude.UpdatesOnly });
        iterator = watch;
        sendBack({ type: "MEMBERS", machines: (await readMachines(machines)).machines });
        for await (const _ of watch) {
          if (stopped) break;
          sendBack({ type: "MEMBERS", machines: (await readMachines(machines)).machines });
        }
        if (!stopped) sendBack({ type: "WATCH_FAILED", reason: "watch ended" });
      } catch (error) {
        iterator?.stop();
        if (!stopped) sendBack({ type: "WATCH_FAILED", reason: error instanceof Error ? error.message : String(error) });
      }
    })();
    return () => {
      stopped = true;
      iterator?.stop();
    };
  });
}
