/**
 * Named points in the deploy and roll-forward paths where a test can make ployzd die (`kill`:
 * SIGKILL to itself, as `kill -9` would) or freeze (`stop`: SIGSTOP, as a stalled process would),
 * to prove that what it leaves half-done is finished by the reconciler. Only with
 * `ployzd run --fault-injection` and `PLOYZ_FAULTS=<point>:<kill|stop>[,…]`.
 */
export const FAULT_POINTS = [
  "deploy.after-start",
  "deploy.before-commit",
  "deploy.after-commit",
  "rollforward.after-instances",
  "rollforward.before-routing",
  "rollforward.after-routing-record",
  "drain.after-first-removal",
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export interface Faults {
  hit(point: FaultPoint): void;
}

export const NO_FAULTS: Faults = { hit: () => {} };

/** The faults `PLOYZ_FAULTS` asks for; each fires once. Unknown points are refused, so a typo never passes for a test that ran. */
export function faultsFrom(spec: string | undefined, log: (point: string, action: string) => void): Faults {
  if (!spec) return NO_FAULTS;
  const armed = new Map<string, "kill" | "stop">();
  for (const part of spec.split(",").map((p) => p.trim()).filter(Boolean)) {
    const [point, action] = part.split(":");
    if (!(FAULT_POINTS as readonly string[]).includes(point!) || (action !== "kill" && action !== "stop")) {
      throw new Error(`PLOYZ_FAULTS: "${part}" is not <point>:<kill|stop> with a point of ${FAULT_POINTS.join(", ")}`);
    }
    armed.set(point!, action);
  }
  return {
    hit(point) {
      const action = armed.get(point);
      if (!action) return;
      armed.delete(point);
      log(point, action);
      process.kill(process.pid, action === "kill" ? "SIGKILL" : "SIGSTOP");
    },
  };
}
