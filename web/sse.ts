/** Server-Sent Events framing, and the event ids of the stream (`<epoch>.<sequence>`). */

/** One event: an optional id, a name and a JSON payload on one `data:` line. */
export function sseFrame(event: string, data: unknown, id?: string): string {
  // JSON.stringify never writes a raw line break, so one data line always holds the whole payload.
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** A comment line: keeps proxies and idle-timeouts from closing the stream; EventSource ignores it. */
export function sseComment(text: string): string {
  return `: ${text}\n\n`;
}

/** Tells EventSource how long to wait before it reconnects. */
export function sseRetry(ms: number): string {
  return `retry: ${ms}\n\n`;
}

export interface EventId {
  readonly epoch: string;
  readonly seq: number;
}

export function formatEventId(id: EventId): string {
  return `${id.epoch}.${id.seq}`;
}

/** Parses a `Last-Event-ID`; anything malformed is as good as none. */
export function parseEventId(text: string | undefined): EventId | undefined {
  if (text === undefined) return undefined;
  const match = /^([a-z0-9]{1,20})\.(\d{1,15})$/.exec(text.trim());
  if (!match) return undefined;
  return { epoch: match[1]!, seq: Number(match[2]) };
}
