import type { z } from "zod";
import type Docker from "dockerode";
import { DockerStreamDemuxer } from "../../model/docker-stream.ts";
import { errorText } from "../../model/errors.ts";
import type { ContainerLogPage, logsRequestSchema } from "../../model/participant.ts";
import { dockerTimestamp, splitTimestamp, type LogCursor, type LogLine, type LogTime } from "../../model/log-lines.ts";
import { translateDockerError } from "./containers.ts";
import { managedContainer } from "./managed-containers.ts";

type LogsRequestParsed = z.output<typeof logsRequestSchema>;

export interface ReadLogLinesOptions {
  /** Lines after this cursor; without one, the last `tail` lines (from `since` on, when given). */
  cursor?: LogCursor | undefined;
  tail: number;
  since?: LogTime | undefined;
  /** Lines up to this time: every reader of one round stops at the same moment. */
  until: LogTime;
  /** At most this many new lines and bytes; the rest is read next round. */
  maxLines: number;
  maxBytes: number;
}

/**
 * One bounded page of a container's log lines with their times. The log is read as a stream and
 * left as soon as the page is full, so a container that printed gigabytes since the cursor costs
 * one page of memory here, and its reader sees `truncated` and comes back for the rest.
 */
export async function readLogLines(docker: Docker, containerId: string, options: ReadLogLinesOptions): Promise<{ lines: LogLine[]; truncated: boolean }> {
  const since = options.cursor?.time ?? options.since;
  let stream: NodeJS.ReadableStream;
  try {
    stream = await logStream(docker, containerId, {
      stdout: true,
      stderr: true,
      timestamps: true,
      // Not following: a silent container's log ends at once (a followed one would wait for a line past `until`).
      follow: false,
      until: dockerTimestamp(options.until),
      ...(since ? { since: dockerTimestamp(since) } : {}),
      ...(options.cursor ? {} : { tail: options.tail }),
    });
  } catch (error) {
    throw translateDockerError(error, `logs of container ${containerId}`);
  }
  const demuxer = new DockerStreamDemuxer();
  const partial = { 1: "", 2: "" };
  const decoder = { 1: new TextDecoder(), 2: new TextDecoder() };
  const lines: LogLine[] = [];
  let skip = options.cursor;
  let bytes = 0;
  let truncated = false;
  const take = (raw: string, channel: 1 | 2) => {
    const line: LogLine = { ...splitTimestamp(raw, options.until), stream: channel === 1 ? "stdout" : "stderr" };
    if (skip) {
      // Docker's `since` is inclusive: the cursor's own lines come again first, and are counted off
      if (line.time < skip.time) return;
      if (line.time === skip.time && skip.shown > 0) {
        skip = { time: skip.time, shown: skip.shown - 1 };
        return;
      }
      skip = undefined;
    }
    lines.push(line);
    bytes += line.text.length;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (const piece of demuxer.push(chunk)) {
        const text = partial[piece.stream] + decoder[piece.stream].decode(piece.bytes, { stream: true });
        const parts = text.split("\n");
        partial[piece.stream] = parts.pop()!;
        for (const raw of parts) take(raw, piece.stream);
      }
      if (lines.length >= options.maxLines || bytes >= options.maxBytes) {
        truncated = true;
        break;
      }
    }
  } finally {
    (stream as unknown as { destroy?: () => void }).destroy?.();
  }
  if (!truncated) for (const channel of [1, 2] as const) if (partial[channel]) take(partial[channel], channel);
  // a chunk may carry more than the page holds: the cursor counts lines, so cutting anywhere is safe
  if (lines.length > options.maxLines) lines.length = options.maxLines;
  return { lines, truncated };
}

/**
 * `container.logs` of a participant: a page of each container asked, the answer's bounds shared
 * among them. A container this cluster does not manage (or that is gone) gets an error, not lines.
 */
export async function readLogPages(docker: Docker, clusterId: string, request: LogsRequestParsed): Promise<ContainerLogPage[]> {
  const share = request.containers.length;
  return await Promise.all(
    request.containers.map(async ({ containerId, cursor }): Promise<ContainerLogPage> => {
      try {
        const container = await managedContainer(docker, clusterId, containerId);
        const page = await readLogLines(docker, container.Id, {
          cursor,
          tail: request.tail,
          since: request.since,
          until: request.until,
          maxLines: Math.max(1, Math.floor(request.maxLines / share)),
          maxBytes: Math.max(1, Math.floor(request.maxBytes / share)),
        });
        return { containerId, ...page };
      } catch (error) {
        return { containerId, lines: [], truncated: false, error: errorText(error) };
      }
    }),
  );
}

/**
 * `GET /containers/{id}/logs` as a stream even when not following: dockerode buffers the whole
 * answer unless `follow` is set, and a chatty container's answer can be gigabytes.
 */
function logStream(docker: Docker, containerId: string, query: Record<string, unknown>): Promise<NodeJS.ReadableStream> {
  return new Promise((resolve, reject) => {
    docker.modem.dial(
      { path: `/containers/${encodeURIComponent(containerId)}/logs?`, method: "GET", isStream: true, statusCodes: { 200: true, 404: "no such container", 500: "server error" }, options: query },
      (error: unknown, data: unknown) => (error ? reject(error) : resolve(data as NodeJS.ReadableStream)),
    );
  });
}
