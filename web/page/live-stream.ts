/**
 * The live stream: an EventSource on `/api/stream` that resumes where it left off. EventSource
 * reconnects by itself after a dropped connection and sends `Last-Event-ID`; when it gives up
 * (an HTTP error such as 503) a new one is opened with backoff, carrying the id in the query.
 */
import { type AlertsEvent, type HelloEvent, STREAM_EVENTS, type StatusEvent, type WindowSnapshot } from '../api-types.js';

export type ConnectionState = 'connecting' | 'live' | 'reconnecting';

export interface LiveStreamHandlers {
  onHello(hello: HelloEvent): void;
  onWindow(window: WindowSnapshot): void;
  onStatus(status: StatusEvent): void;
  onAlerts(alerts: AlertsEvent): void;
  onState(state: ConnectionState): void;
}

const MAX_BACKOFF_MS = 10_000;

export class LiveStream {
  private source: EventSource | undefined;
  private lastEventId = '';
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly url: string,
    private readonly handlers: LiveStreamHandlers,
  ) {}

  open(): void {
    const query = this.lastEventId ? `?lastEventId=${encodeURIComponent(this.lastEventId)}` : '';
    const source = new EventSource(this.url + query);
    this.source = source;
    source.addEventListener(STREAM_EVENTS.hello, (event) => {
      this.attempt = 0;
      this.handlers.onState('live');
      this.handlers.onHello(JSON.parse((event as MessageEvent<string>).data) as HelloEvent);
    });
    source.addEventListener(STREAM_EVENTS.window, (event) => {
      const message = event as MessageEvent<string>;
      if (message.lastEventId) this.lastEventId = message.lastEventId;
      this.handlers.onWindow(JSON.parse(message.data) as WindowSnapshot);
    });
    source.addEventListener(STREAM_EVENTS.status, (event) => {
      this.handlers.onStatus(JSON.parse((event as MessageEvent<string>).data) as StatusEvent);
    });
    source.addEventListener(STREAM_EVENTS.alerts, (event) => {
      this.handlers.onAlerts(JSON.parse((event as MessageEvent<string>).data) as AlertsEvent);
    });
    source.addEventListener('error', () => {
      this.handlers.onState('reconnecting');
      if (source.readyState === EventSource.CLOSED) this.reopenLater();
    });
  }

  close(): void {
    clearTimeout(this.timer);
    this.source?.close();
  }

  private reopenLater(): void {
    this.source?.close();
    clearTimeout(this.timer);
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt++) * (0.5 + Math.random() / 2);
    this.timer = setTimeout(() => this.open(), delay);
  }
}
