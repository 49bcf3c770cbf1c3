import { NoResponderError, RequestTimeoutError } from "../model/errors.ts";
import {
  applyActors,
  applyAnswer,
  applyAskFailed,
  applyAsking,
  applyEvents,
  applyInvalidMessage,
  applyOverview,
  applyOverviewError,
  emptyTopModel,
  machinesToAsk,
  type TopModel,
} from "../model/top-model.ts";
import type { ActorSnapshotMessage } from "../model/actor-table.ts";
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
 * Every member without a fresh snapshot is asked for its actors at once (request/reply to its
 * inspector), so the first frame shows each machine as it is, or why it cannot say, instead of
 * waiting for the next heartbeat. Listeners hear of it throttled to a few times a second.
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

  /** Marks the members to ask as asking (in the same state as the overview that named them: no frame shows them unasked) and asks. */
  const askMachines = (next: TopModel): TopModel => {
    for (const machine of machinesToAsk(next, now()).filter((id) => !options.machine || id === options.machine)) {
      next = applyAsking(next, machine, now());
      void askActors(client, machine).then((answer) => {
        if (closed) return;
        update("message" in answer ? applyAnswer(model, answer.message, now()) : applyAskFailed(model, machine, answer.error, now()));
      });
    }
    return next;
  };

  let overviewTimer: NodeJS.Timeout | undefined;
  const readOverview = async () => {
    try {
      const overview = await client.overview();
      if (!closed) update(askMachines(applyOverview(model, overview, now())));
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
 * One look (`ployz top --once`, `ployzctl debug actors`): the overview, then every member asked
 * for its actors at once; a machine that cannot answer is shown unreachable, with why.
 */
export async function collectTopOnce(client: PloyzClient, options: { machine?: string; now?: () => number } = {}): Promise<TopState> {
  const now = options.now ?? Date.now;
  let model = emptyTopModel;
  try {
    model = applyOverview(model, await client.overview(), now());
  } catch (error) {
    model = applyOverviewError(model, error instanceof Error ? error.message : String(error), now());
  }
  const machines = machinesToAsk(model, now()).filter((id) => !options.machine || id === options.machine);
  if (options.machine && !machines.includes(options.machine)) machines.push(options.machine);
  for (const machine of machines) model = applyAsking(model, machine, now());
  const answers = await Promise.all(machines.map(async (machine) => ({ machine, answer: await askActors(client, machine) })));
  for (const { machine, answer } of answers) {
    model = "message" in answer ? applyAnswer(model, answer.message, now()) : applyAskFailed(model, machine, answer.error, now());
  }
  return { model, now: now() };
}

/** A machine's actors, or in a few words why it did not give them. */
async function askActors(client: PloyzClient, machine: string): Promise<{ message: ActorSnapshotMessage } | { error: string }> {
  try {
    return { message: await client.actors(machine) };
  } catch (error) {
    if (error instanceof NoResponderError) return { error: "no responder (its ployzd is down, or runs with --no-inspector)" };
    if (error instanceof RequestTimeoutError) return { error: "asked for its actors: no answer within 2 s" };
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
