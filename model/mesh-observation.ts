import { z } from "zod";

/** Where one peer's link stands, as this machine's meshPeer sees it (machines/mesh-link.ts). */
export const PEER_LINK_STATES = ["configuring", "up", "stale", "removed"] as const;
export type PeerLinkState = (typeof PEER_LINK_STATES)[number];

/** One WireGuard peer as this machine sees it right now. */
export const meshPeerObservationSchema = z.object({
  machine: z.string(),
  name: z.string(),
  overlayIp: z.string(),
  endpoint: z.string(),
  state: z.enum(PEER_LINK_STATES),
  /** Since the latest handshake with it; null before the first one. */
  handshakeAgeMs: z.number().nullable(),
  /** Round trip over the overlay measured at this moment; null when it did not answer in time (or was not asked). */
  latencyMs: z.number().nullable(),
  rxBytes: z.number(),
  txBytes: z.number(),
});
export type MeshPeerObservation = z.infer<typeof meshPeerObservationSchema>;

/**
 * This machine's side of the mesh, asked live (`ployz.m.<id>.observe.mesh`): its interface, each
 * peer's state, handshake age and latency, and the members it left out with why. Never stored.
 */
export const meshObservationSchema = z.object({
  type: z.literal("mesh"),
  machine: z.string(),
  at: z.string(),
  /** off: this machine has no WireGuard configuration (a single dev machine). */
  state: z.enum(["off", "starting", "applying", "in-sync", "failed"]),
  interface: z
    .object({ name: z.string(), implementation: z.enum(["kernel", "wireguard-go"]), overlayIp: z.string(), listenPort: z.number() })
    .optional(),
  peers: z.array(meshPeerObservationSchema),
  ignored: z.array(z.object({ machineId: z.string(), reason: z.string() })),
  /** Why the meshPeer is not running, when it is not. */
  error: z.string().optional(),
});
export type MeshObservation = z.infer<typeof meshObservationSchema>;
