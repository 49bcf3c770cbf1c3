import { show } from "./manifest-errors.ts";

/** A Ployz port as Compose's short syntax gives it. */
export interface ShortPort {
  container: number;
  published?: number;
  protocol?: string;
}

/** `"8080:80"`, `"80"`, `"127.0.0.1:8080:80/udp"`, `"[127.0.0.1]::80"` → a Ployz port, or why not. */
export function parseShortPort(text: string): ShortPort | string {
  let rest = text.trim();
  let protocol: string | undefined;
  const slash = rest.lastIndexOf("/");
  if (slash >= 0) {
    protocol = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (protocol !== "tcp" && protocol !== "udp") return `protocol "${protocol}" is not supported (tcp or udp)`;
  }
  let hostIp: string | undefined;
  const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(rest);
  if (bracketed) [, hostIp, rest] = bracketed as unknown as [string, string, string];
  const parts = rest.split(":");
  if (parts.length === 3 && hostIp === undefined) hostIp = parts.shift();
  if (parts.length > 2) return "expected [HOST_IP:][PUBLISHED:]CONTAINER[/PROTOCOL]";
  if (hostIp !== undefined && hostIp !== "127.0.0.1") return `host IP ${hostIp}: Ployz publishes ports on 127.0.0.1 only`;
  const [publishedText, containerText] = parts.length === 2 ? parts : [undefined, parts[0]!];
  const container = parsePortNumber(containerText ?? "");
  if (typeof container === "string") return container;
  if (!publishedText) return protocol ? { container, protocol } : { container };
  const published = parsePortNumber(publishedText);
  if (typeof published === "string") return published;
  return protocol ? { container, published, protocol } : { container, published };
}

/** A port number 1–65535 from text, or why not. */
export function parsePortNumber(text: string): number | string {
  if (/^\d+-\d+$/.test(text)) return "port ranges are not supported";
  if (!/^\d+$/.test(text)) return `${show(text)} is not a port number`;
  const port = Number(text);
  return port >= 1 && port <= 65535 ? port : `${port} is not a port 1–65535`;
}
