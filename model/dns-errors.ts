import { PloyzError } from "./errors.ts";

/** The cluster DNS cannot listen where it must (address not on this machine, no permission for port 53…). */
export class DnsListenError extends PloyzError {
  override readonly code = "dns-listen-failed";
}

/** The host's resolver did not answer a query forwarded to it (timed out, refused the connection…). */
export class DnsUpstreamError extends PloyzError {
  override readonly code = "dns-upstream-failed";
}
