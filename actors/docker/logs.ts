import type Docker from "dockerode";
import { translateDockerError } from "./containers.ts";

/** The last `tail` lines a container printed (stdout and stderr), as text. */
export async function containerLogs(docker: Docker, containerId: string, tail: number, since?: number): Promise<string> {
  try {
    const buffer = (await docker.getContainer(containerId).logs({ stdout: true, stderr: true, tail, follow: false, ...(since ? { since } : {}) })) as unknown as Buffer;
    return demux(buffer);
  } catch (error) {
    throw translateDockerError(error, `logs of container ${containerId}`);
  }
}

/** The last lines a container printed, on one line, for error messages (empty if unavailable). */
export async function lastLogLines(docker: Docker, containerId: string, lines: number): Promise<string> {
  try {
    return (await containerLogs(docker, containerId, lines)).split("\n").filter(Boolean).join(" | ").slice(0, 500);
  } catch {
    return "";
  }
}

/** Docker's multiplexed log format: an 8-byte header (stream, size) before each frame. */
export function demux(buffer: Buffer): string {
  let out = "";
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(offset + 4);
    out += buffer.subarray(offset + 8, offset + 8 + size).toString("utf8");
    offset += 8 + size;
  }
  return offset === 0 && buffer.length > 0 ? buffer.toString("utf8") : out;
}
