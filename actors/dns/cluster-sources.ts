import { networkInterfaces } from "node:os";
import type Docker from "dockerode";
import type { Logger } from "pino";
import { afterListing, afterRefusal, emptySourceTable, judgeSource, type SourceTable } from "../../model/dns-sources.ts";
import { watchContainerEvents } from "../docker/container-events.ts";
import { listManagedContainers } from "../docker/managed-containers.ts";
import { sleep } from "../sleep.ts";

export interface ClusterSourcesDeps {
  docker: Docker;
  clusterId: string;
  log: Logger;
  now?: () => number;
}

/** At most one listing per this long: addresses that nobody knows cannot keep dockerd busy. */
const MIN_LISTING_GAP_MS = 100;
/** Waits between attempts to follow dockerd's events while it is away. */
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 2_000;

/**
 * The sources that may use the cluster DNS (model/dns-sources.ts says who and why), with the
 * addresses of this cluster's running containers asked of dockerd: listed at start, again on
 * every event about one of them, and again when an unknown address asks. Listings are coalesced:
 * one at a time, and every caller waits for one that began after it asked.
 */
export class ClusterSources {
  private table: SourceTable = emptySourceTable();
  private listing: Promise<void> | undefined;
  private next: Promise<void> | undefined;
  private listingFails = false;
  private lastListingEnded = Number.NEGATIVE_INFINITY;
  private eventsFail = false;
  private readonly now: () => number;

  constructor(private readonly deps: ClusterSourcesDeps) {
    this.now = deps.now ?? Date.now;
  }

  /** May `address` use the DNS? Synchronous when the table knows; a promise when dockerd must be asked. */
  trusts(address: string): boolean | Promise<boolean> {
    const verdict = judgeSource(this.table, address, this.now());
    if (verdict !== "ask-docker") return verdict === "allow";
    return this.refresh().then(() => {
      if (judgeSource(this.table, address, this.now()) === "allow") return true;
      this.table = afterRefusal(this.table, address, this.now());
      return false;
    });
  }

  /** Resolves once a listing that started after this call has ended (it never rejects). */
  refresh(): Promise<void> {
    if (!this.listing) {
      this.listing = this.list().finally(() => (this.listing = undefined));
      return this.listing;
    }
    this.next ??= this.listing.then(() => {
      this.next = undefined;
      return this.refresh();
    });
    return this.next;
  }

  /**
   * Follows dockerd's events about this cluster's containers until `signal` aborts, reconnecting
   * while dockerd is away. `beforeEachAttempt` runs before every (re)connection: dockerd coming
   * (back) is when its bridge may have appeared or moved.
   */
  async follow(signal: AbortSignal, beforeEachAttempt: () => Promise<void>): Promise<void> {
    let wait = RETRY_MIN_MS;
    while (!signal.aborted) {
      await beforeEachAttempt();
      const watching = watchContainerEvents(this.deps.docker, this.deps.clusterId, signal, () => void this.refresh());
      // Listed as the subscription starts; a container that starts unseen in between is listed when it first asks.
      void this.refresh().then(() => {
        if (this.listingFails) return;
        wait = RETRY_MIN_MS;
        if (this.eventsFail) this.deps.log.info("following dockerd's container events again");
        this.eventsFail = false;
      });
      try {
        await watching;
      } catch (error) {
        if (signal.aborted) return;
        if (!this.eventsFail) this.deps.log.warn({ err: error }, "cannot follow dockerd's container events; retrying (the DNS trusts the containers it knew, and asks dockerd about others)");
        this.eventsFail = true;
        await sleep(wait, signal);
        wait = Math.min(wait * 2, RETRY_MAX_MS);
      }
    }
  }

  private async list(): Promise<void> {
    const wait = this.lastListingEnded + MIN_LISTING_GAP_MS - this.now();
    if (wait > 0) await sleep(wait);
    try {
      const containers = await listManagedContainers(this.deps.docker, this.deps.clusterId);
      this.table = afterListing(
        containers.flatMap((c) => (c.state === "running" && c.address ? [c.address] : [])),
        hostAddresses(),
      );
      if (this.listingFails) this.deps.log.info({ containers: this.table.containers.size }, "dockerd lists this cluster's containers again");
      this.listingFails = false;
    } catch (error) {
      // The host's own addresses need no dockerd.
      this.table = afterListing(this.table.containers, hostAddresses());
      if (!this.listingFails) this.deps.log.warn({ err: error }, "cannot list this cluster's containers; the DNS refuses addresses it does not know until dockerd answers");
      this.listingFails = true;
    } finally {
      this.lastListingEnded = this.now();
    }
  }
}

/** Every address of this host's interfaces, now. */
function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((addresses) => (addresses ?? []).map((a) => a.address));
}
