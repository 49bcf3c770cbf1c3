import { ConversionLog, type Doc, type Path } from "./compose-conversion.ts";
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

/** `ports:` (short and long syntax) and `expose:`; published ports are always on 127.0.0.1. */
export function servicePorts(rawPorts: unknown, rawExpose: unknown, service: Path, log: ConversionLog): Doc[] {
  const out: Doc[] = [];
  log.list(rawPorts, [...service, "ports"]).forEach((item, i) => {
    const at = [...service, "ports", i];
    const ployzAt = [...service, "ports", out.length];
    if (typeof item === "number" || typeof item === "string") {
      const port = parseShortPort(String(item));
      if (typeof port === "string") return log.fail(at, `${show(item)}: ${port}`);
      log.from(ployzAt, at, true);
      return out.push(port as unknown as Doc);
    }
    const long = log.mapping(item, at, "a port");
    if (!long) return;
    log.checkKeys(long, at, ["target", "published", "protocol", "host_ip"]);
    if (long.host_ip !== undefined && long.host_ip !== "127.0.0.1") log.fail([...at, "host_ip"], `${show(long.host_ip)}: Ployz publishes ports on 127.0.0.1 only`);
    let published: unknown = long.published;
    if (typeof published === "string") {
      const port = parsePortNumber(published);
      if (typeof port === "string") return log.fail([...at, "published"], `${show(published)}: ${port}`);
      published = port;
    }
    log.from(ployzAt, at);
    log.from([...ployzAt, "container"], [...at, "target"]);
    out.push({ container: long.target, ...(published === undefined ? {} : { published }), ...(long.protocol === undefined ? {} : { protocol: long.protocol }) });
  });
  log.list(rawExpose, [...service, "expose"]).forEach((item, i) => {
    const at = [...service, "expose", i];
    const port = typeof item === "number" || typeof item === "string" ? parseShortPort(String(item)) : `expected a port, got ${show(item)}`;
    if (typeof port === "string") return log.fail(at, port);
    if (port.published !== undefined) return log.fail(at, `${show(item)}: expose takes a container port only`);
    if (out.some((p) => p.container === port.container && (p.protocol ?? "tcp") === (port.protocol ?? "tcp"))) return;
    log.from([...service, "ports", out.length], at, true);
    out.push(port as unknown as Doc);
  });
  return out;
}
