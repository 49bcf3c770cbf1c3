import type { CommandModule } from "yargs";
import { readContext } from "../runtime/context.ts";
import { connectClient, type PloyzClient } from "../runtime/client.ts";

/** Options every command takes. */
export interface GlobalArgs {
  json: boolean;
  context: string | undefined;
}

/**
 * A top-level command's options and action. Its name and description live in
 * cli/commands/index.ts, so `--help` and every other command load none of its code.
 */
export type CommandBody<A> = Required<Pick<CommandModule<GlobalArgs, A>, "handler">> & Pick<CommandModule<GlobalArgs, A>, "builder">;

/** Runs `fn` with a client for the chosen context and always closes it. */
export async function withClient<T>(args: GlobalArgs, fn: (client: PloyzClient) => Promise<T>): Promise<T> {
  const client = await connectClient(readContext(process.env, args.context));
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

/** Like withClient, but connects only when `client()` is first called (so a bad file is reported without a cluster). */
export async function withLazyClient<T>(args: GlobalArgs, fn: (client: () => Promise<PloyzClient>) => Promise<T>): Promise<T> {
  let connecting: Promise<PloyzClient> | undefined;
  const client = () => (connecting ??= connectClient(readContext(process.env, args.context)));
  try {
    return await fn(client);
  } finally {
    if (connecting) await (await connecting).close();
  }
}
