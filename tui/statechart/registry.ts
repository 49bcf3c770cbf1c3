import type { AnyStateMachine } from "xstate";
import { apiMachine } from "../../machines/api.ts";
import { deployLeaseMachine } from "../../machines/deploy-lease.ts";
import { deployMachine } from "../../machines/deploy.ts";
import { namespaceReconcilerMachine } from "../../machines/namespace-reconciler.ts";
import { reconcilerMachine } from "../../machines/reconciler.ts";
import { rollForwardMachine } from "../../machines/roll-forward.ts";
import { routingConsumerMachine } from "../../machines/routing-consumer.ts";
import { meshLinkMachine } from "../../machines/mesh-link.ts";
import { meshPeerMachine } from "../../machines/mesh-peer.ts";
import { joinListenerMachine } from "../../machines/join-listener.ts";
import { nodeMachine } from "../../machines/node.ts";
import { supervisedChildMachine } from "../../machines/supervised-child.ts";

/**
 * Every statechart in machines/, by its id (`createMachine({ id })`) — the name
 * `ployzctl debug statechart NAME` takes and the `chart` an actor snapshot carries.
 */
export const STATECHARTS: Readonly<Record<string, AnyStateMachine>> = {
  [nodeMachine.id]: nodeMachine,
  [supervisedChildMachine.id]: supervisedChildMachine,
  [meshPeerMachine.id]: meshPeerMachine,
  [meshLinkMachine.id]: meshLinkMachine,
  [joinListenerMachine.id]: joinListenerMachine,
  [deployMachine.id]: deployMachine,
  [deployLeaseMachine.id]: deployLeaseMachine,
  [rollForwardMachine.id]: rollForwardMachine,
  [apiMachine.id]: apiMachine,
  [reconcilerMachine.id]: reconcilerMachine,
  [namespaceReconcilerMachine.id]: namespaceReconcilerMachine,
  [routingConsumerMachine.id]: routingConsumerMachine,
};

export const STATECHART_NAMES = Object.keys(STATECHARTS);

/** The statechart called `name`, or undefined. */
export function statechartNamed(name: string): AnyStateMachine | undefined {
  return Object.hasOwn(STATECHARTS, name) ? STATECHARTS[name] : undefined;
}
