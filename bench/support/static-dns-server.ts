/**
 * The DNS benchmark's baseline as a process of its own (as the cluster DNS is inside ployzd): a
 * minimal dns-packet server on 127.0.0.1 answering every A question with the addresses given.
 * Prints its port on stdout once it listens; stops on SIGTERM.
 *
 *   node --import tsx bench/support/static-dns-server.ts 10.0.0.1,10.0.0.2,…
 */
import { startStaticDns } from "../../test/harness/dns.ts";

const addresses = (process.argv[2] ?? "").split(",").filter(Boolean);
const server = await startStaticDns({ addresses });
process.stdout.write(`${server.port}\n`);
process.once("SIGTERM", () => void server.close().then(() => process.exit(0)));
