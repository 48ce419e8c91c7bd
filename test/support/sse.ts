/** A minimal Server-Sent Events client over node:http, for stream tests and the benchmark. */
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { eventually } from './eventually.js';

export interface SseEvent {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  /** performance.now() when the event's last line arrived. */
  readonly receivedAt: number;
}

export class SseTestClient {
  readonly events: SseEvent[] = [];
  /** Comment lines seen (heartbeats). */
  comments = 0;
  status: number | undefined;
  ended = false;
  private readonly req: ClientRequest;
  private buffer = '';
  private response: IncomingMessage | undefined;
  /** Called for each event as it arrives. */
  onEvent: ((event: SseEvent) => void) | undefined;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      this.response = res;
      this.status = res.statusCode;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.feed(chunk));
      res.on('end', () => (this.ended = true));
      res.on('close', () => (this.ended = true));
      res.on('error', () => (this.ended = true));
    });
    this.req.on('error', () => (this.ended = true));
    this.req.end();
  }

  /** Events of one name, in arrival order. */
  named(event: string): SseEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  async waitFor(condition: (client: SseTestClient) => boolean, message: string, timeoutMs = 10_000): Promise<void> {
    await eventually(() => condition(this), { timeoutMs, message: () => `${message}; got ${this.events.length} events, status ${this.status}, ended ${this.ended}` });
  }

  close(): void {
    this.response?.destroy();
    this.req.destroy();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let id: string | undefined;
      let event = 'message';
      const data: string[] = [];
      let fields = 0;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments++;
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        fields++;
        if (field === 'id') id = value;
        else if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (fields === 0 || data.length === 0) continue;
      const parsed: SseEvent = { id, event, data: data.join('\n'), receivedAt: performance.now() };
      this.events.push(parsed);
      this.onEvent?.(parsed);
    }
  }
}
