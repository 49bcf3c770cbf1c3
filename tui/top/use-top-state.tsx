import { createContext, useContext, useSyncExternalStore, type ReactNode } from "react";
import type { TopFeed, TopState } from "../../runtime/top-feed.ts";

/** Where the one subscription's state lives for the components below. */
const TopStateContext = createContext<TopState | undefined>(undefined);

/** The only subscription of the TUI: the feed's state, given to every component through context. */
export function TopStateProvider({ feed, children }: { feed: Pick<TopFeed, "subscribe" | "getState">; children: ReactNode }) {
  const state = useSyncExternalStore(feed.subscribe, feed.getState);
  return <TopStateContext.Provider value={state}>{children}</TopStateContext.Provider>;
}

/** The cluster's state as `top` sees it now. */
export function useTopState(): TopState {
  const state = useContext(TopStateContext);
  if (!state) throw new Error("useTopState outside a TopStateProvider");
  return state;
}
