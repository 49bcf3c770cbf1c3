import { applyActors, applyEvents, applyInvalidMessage, applyOverview, applyOverviewError, emptyTopModel, type TopModel } from "../model/top-model.ts";
import type { PloyzClient } from "./client.ts";

/** What the TUI renders from: the model and the moment it is seen at. Replaced, never mutated. */
export interface TopState {
  model: TopModel;
  now: number;
}

/** One subscription to the whole cluster, for `ployz top`. */
export interface TopFeed {
  getState(): TopState;
  /** `listener` runs at most once per `minRenderMs`, and at least once per `tickMs` (ages move). */
  subscribe(listener: () => void): () => void;
  close(): void;
}

export interface TopFeedOptions {
  /** How often the overview (store) is read again. */
  overviewEveryMs?: number;
  /** At most one new state per this many ms, however busy the cluster is. */
  minRenderMs?: number;
  /** A new state at least this often, so ages and reachability move on their own. */
  tickMs?: number;
  machine?: string;
  now?: () => number;
}

/**
 * Subscribes to every machine's actor snapshots and events (`ployz.actors.*`, `ployz.events.*`),
 * reads the overview from the API every 2 s, and folds everything into one immutable TopModel.
 * Listeners hear of it throttled to a few times a second.
 */
export function startTopFeed(client: PloyzClient, options: TopFeedOptions = {}): TopFeed {
  const now = options.now ?? Date.now;
  const minRenderMs = options.minRenderMs ?? 250;
  const live = options.machine ? { machine: options.machine } : {};
  let model = emptyTopModel;
  let state: TopState = { model, now: now() };
  let flushedAt = 0;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const listeners = new Set<() => void>();

  const flush = () => {
    timer = undefined;
    if (closed) return;
    flushedAt = now();
    state = { model, now: flushedAt };
    for (const listener of listeners) listener();
  };
  const schedule = () => {
    if (timer || closed) return;
    const wait = flushedAt + minRenderMs - now();
    if (wait <= 0) flush();
    else timer = setTimeout(flush, wait);
  };
  const update = (next: TopModel) => {
    model = next;
    schedule();
  };

  const onInvalid = () => update(applyInvalidMessage(model));
  const stopActors = client.watchActors((message) => update(applyActors(model, message, now())), { ...live, onInvalid });
  const stopEvents = client.watchEvents((message) => update(applyEvents(model, message)), { ...live, onInvalid });
  const tick = setInterval(schedule, options.tickMs ?? 1_000);

  let overviewTimer: NodeJS.Timeout | undefined;
  const readOverview = async () => {
    try {
      const overview = await client.overview();
      if (!closed) update(applyOverview(model, overview, now()));
    } catch (error) {
      if (!closed) update(applyOverviewError(model, error instanceof Error ? error.message : String(error), now()));
    }
    if (!closed) overviewTimer = setTimeout(() => void readOverview(), options.overviewEveryMs ?? 2_000);
  };
  void readOverview();

  return {
    getState: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      closed = true;
      stopActors();
      stopEvents();
      clearInterval(tick);
      clearTimeout(timer);
      clearTimeout(overviewTimer);
      listeners.clear();
    },
  };
}

/**
 * One look (`ployz top --once`, `ployzctl debug actors`): the overview, then every member's next
 * snapshot, waiting at most `waitMs` (a machine publishes at least every 2 s; one that stays
 * silent is shown unreachable).
 */
export async function collectTopOnce(client: PloyzClient, options: { waitMs?: number; machine?: string; now?: () => number } = {}): Promise<TopState> {
  const now = options.now ?? Date.now;
  let model = emptyTopModel;
  let wake: (() => void) | undefined;
  const stop = client.watchActors(
    (message) => {
      model = applyActors(model, message, now());
      wake?.();
    },
    { ...(options.machine ? { machine: options.machine } : {}), onInvalid: () => (model = applyInvalidMessage(model)) },
  );
  try {
    try {
      model = applyOverview(model, await client.overview(), now());
    } catch (error) {
      model = applyOverviewError(model, error instanceof Error ? error.message : String(error), now());
    }
    const expected = (model.overview?.value.machines ?? []).filter((m) => m.state === "active" && (!options.machine || m.id === options.machine)).map((m) => m.id);
    const deadline = now() + (options.waitMs ?? 2_500);
    const complete = () => (expected.length ? expected.every((id) => model.snapshots[id]) : Object.keys(model.snapshots).length > 0);
    while (!complete() && now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
  } finally {
    stop();
  }
  return { model, now: now() };
}
