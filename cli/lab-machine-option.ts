import { InvalidArgumentError } from "../model/errors.ts";
import { findContext, listContexts } from "../runtime/context.ts";
import { runInContextNamespace } from "../runtime/context-namespace.ts";

/**
 * `--machine NAME` before the command word is the global shortcut for the context of lab machine
 * NAME (`ployzctl --machine dev-2 machine ls`); after it, `--machine` stays the command's own
 * option (`top --machine m1`). Returns the arguments with the shortcut turned into `--context`.
 */
export function expandMachineShortcut(args: readonly string[], env: NodeJS.ProcessEnv): string[] {
  const out = [...args];
  for (let i = 0; i < out.length; i++) {
    const word = out[i]!;
    if (word === "--context") {
      i++;
      continue;
    }
    if (!word.startsWith("-")) break; // the command word: what follows is the command's
    const inline = word.startsWith("--machine=") ? word.slice("--machine=".length) : undefined;
    if (word !== "--machine" && inline === undefined) continue;
    const name = inline ?? out[i + 1];
    if (!name) throw new InvalidArgumentError("--machine needs the name of a lab machine (e.g. dev-2)");
    const labMachines = listContexts(env).filter((c) => c.netns !== undefined).map((c) => c.name);
    if (!labMachines.includes(name)) {
      throw new InvalidArgumentError(`--machine ${name}: no lab machine of that name (${labMachines.length ? `lab machines: ${labMachines.join(", ")}` : "no lab is up: `ployzctl dev up --machines N`"})`);
    }
    out.splice(i, inline === undefined ? 2 : 1, "--context", name);
    i++;
  }
  return out;
}

/** The value of `--context` in the arguments, if given. */
export function contextOption(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--") return undefined;
    if (args[i] === "--context") return args[i + 1];
    if (args[i]!.startsWith("--context=")) return args[i]!.slice("--context=".length);
  }
  return undefined;
}

/**
 * When the chosen context is a lab machine's (it names a network namespace) and this process is
 * not inside it, runs this CLI again there and returns its exit status; undefined otherwise.
 */
export function reenterForContext(args: readonly string[], env: NodeJS.ProcessEnv): number | undefined {
  const context = findContext(env, contextOption(args));
  return context ? runInContextNamespace(context) : undefined;
}
