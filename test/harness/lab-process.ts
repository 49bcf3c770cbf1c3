/**
 * A lab owned by a process of its own, for tests that kill that owner (kill -9) and check that a
 * sweep removes everything it made: a lab of PLOYZ_LAB_MACHINES machines (with dockerd unless
 * PLOYZ_LAB_DOCKER=0), a wireguard-go interface in each. Prints one JSON line when it is all up,
 * then waits to be killed.
 */
import { join } from "node:path";
import { ensureWireGuardInterface } from "../../actors/mesh/wireguard-interface.ts";
import { createWireGuardKeyFile } from "../../actors/mesh/wireguard-keys.ts";
import { createLab } from "../../runtime/lab/index.ts";

const lab = await createLab({ machines: Number(process.env.PLOYZ_LAB_MACHINES ?? "2"), docker: process.env.PLOYZ_LAB_DOCKER !== "0" });
for (const machine of lab.machines) {
  const privateKeyFile = join(machine.dir, "wireguard.key");
  createWireGuardKeyFile(privateKeyFile);
  await ensureWireGuardInterface(machine.commands, { name: machine.wireguard, privateKeyFile, listenPort: 51820, logFile: join(machine.dir, "wireguard-go.log") });
}
process.stdout.write(`${JSON.stringify({ id: lab.id, dir: lab.dir, wireguards: lab.machines.map((m) => m.wireguard), namespaces: lab.machines.map((m) => m.namespace) })}\n`);
setInterval(() => {}, 60_000);
