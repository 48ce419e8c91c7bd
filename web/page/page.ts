/**
 * The live page: loads the recent windows, follows the live stream, and redraws the charts and
 * the current window's totals. Everything shown is set as text, never as HTML.
 */
import type { AlertsEvent, FiringAlert, HelloEvent, StatusEvent, WindowSnapshot } from '../api-types.js';
import { OrdersLine, type Slot, StackedBars } from './charts.js';
import { HistoryError, fetchWindows } from './history-api.js';
import { type ConnectionState, LiveStream } from './live-stream.js';
import { type Dimension, WindowStore, windowSlots } from './window-store.js';

/** Windows shown, as the original page did. */
const WINDOWS_SHOWN = 20;
const HISTORY_RETRY_MS = 3000;

function element<T extends HTMLElement = HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page is missing #${id}`);
  return found as T;
}

const store = new WindowStore(WINDOWS_SHOWN * 3);
let windowMs = 10_000;
let dimension: Dimension = 'age';
// Redis as the stream reports it (its subscription) and as the last history read met it (the API's
// connection, which can come back later than the subscription): either one down shows the outage,
// and each is cleared only by its own source.
let streamRedisDown = false;
let historyRedisDown = false;
const redisIsDown = () => streamRedisDown || historyRedisDown;
let historyFailed = false;
/** No processor has stored the shared settings (the window size) yet. */
let noProcessor = false;
let connection: ConnectionState = 'connecting';
let historyTimer: ReturnType<typeof setTimeout> | undefined;
let historyLoad: AbortController | undefined;

const bars = new StackedBars(element('chart'), element('legend'));
const orders = new OrdersLine(element('line'));
const time = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
const number = new Intl.NumberFormat();

function render(): void {
  const windows = store.list();
  const latest = store.latest();
  const byStart = new Map(windows.map((w) => [w.start, w]));
  const now = Date.now();
  const slots: Slot[] = windowSlots(latest?.start, now, windowMs, WINDOWS_SHOWN).map((start) => ({ start, window: byStart.get(start) }));
  element('empty').hidden = slots.some((s) => s.window !== undefined);
  bars.render(slots, dimension, windowMs, now);
  orders.render(slots, windowMs, now);
  renderTotals(latest);
  renderState();
}

function renderTotals(w: WindowSnapshot | undefined): void {
  element('totals-window').textContent = w ? `${time.format(w.start)}–${time.format(w.end)}${w.final ? ' · closed' : ' · open'}` : '–';
  element('totals-orders').textContent = number.format(w?.orders ?? 0);
  element('totals-drinks').textContent = number.format(w?.drinks ?? 0);
  element('totals-late').textContent = number.format(w?.late ?? 0);
  const top = w ? Object.entries(w.coffee).sort((a, b) => b[1] - a[1])[0] : undefined;
  element('totals-top').textContent = top && top[1] > 0 ? `${top[0]} (${number.format(top[1])})` : '–';
}

function renderState(): void {
  const badge = element('connection');
  const state = connection === 'live' && redisIsDown() ? 'redis-down' : connection;
  badge.dataset.state = state;
  badge.textContent = { connecting: 'connecting…', live: 'live', reconnecting: 'reconnecting…', 'redis-down': 'Redis unreachable' }[state];
  const notice = element('notice');
  const text = redisIsDown()
    ? 'The server cannot reach Redis: showing the last known windows; updates resume when it is back.'
    : noProcessor
      ? 'No processor has run on this prefix yet, so there are no windows; waiting for one.'
      : historyFailed
        ? 'Could not load the recent windows; retrying.'
        : '';
  notice.textContent = text;
  notice.hidden = text === '';
}

/** The banner of firing alerts (from Alertmanager through the server); hidden when none fires. */
function renderAlerts({ alerts, omitted }: AlertsEvent): void {
  const banner = element('alerts');
  const list = element('alerts-list');
  const more: HTMLLIElement[] = [];
  if (omitted > 0) {
    const item = document.createElement('li');
    item.className = 'alerts-more';
    item.textContent = `… and ${number.format(omitted)} more, not shown here: see Alertmanager.`;
    more.push(item);
  }
  list.replaceChildren(
    ...alerts.map((alert: FiringAlert) => {
      const item = document.createElement('li');
      item.dataset.severity = alert.severity;
      const name = document.createElement('strong');
      name.textContent = alert.summary || alert.name;
      const detail = document.createElement('span');
      detail.textContent = ` ${alert.description} (${alert.name}, ${alert.severity}, since ${time.format(Date.parse(alert.startsAt))})`;
      item.append(name, detail);
      return item;
    }),
    ...more,
  );
  const firing = alerts.length + omitted;
  element('alerts-title').textContent = firing === 1 ? '1 alert firing' : `${number.format(firing)} alerts firing`;
  banner.hidden = firing === 0;
}

let scheduled = false;
/** Coalesces bursts of updates (a tick publishes several windows) into one redraw. */
function scheduleRender(): void {
  if (scheduled) return;
  scheduled = true;
  setTimeout(() => {
    scheduled = false;
    render();
  }, 30);
}

async function loadHistory(): Promise<void> {
  clearTimeout(historyTimer);
  historyLoad?.abort();
  const load = (historyLoad = new AbortController());
  try {
    const page = await fetchWindows(WINDOWS_SHOWN, load.signal);
    windowMs = page.windowMs;
    for (const w of page.windows) store.put(w);
    historyFailed = false;
    historyRedisDown = false;
    noProcessor = false;
  } catch (error) {
    if (load.signal.aborted) return;
    if (error instanceof HistoryError && error.reason === 'no_shared_settings') noProcessor = true;
    else if (error instanceof HistoryError && error.status === 503) historyRedisDown = true;
    else historyFailed = true;
    historyTimer = setTimeout(() => void loadHistory(), HISTORY_RETRY_MS);
  }
  scheduleRender();
}

const live = new LiveStream('api/stream', {
  onHello(hello: HelloEvent) {
    if (hello.windowMs !== null) windowMs = hello.windowMs;
    streamRedisDown = hello.redis === 'down';
    // Resumed streams replay what was missed; otherwise the history fills the hole.
    if (!hello.resumed) void loadHistory();
    scheduleRender();
  },
  onWindow(w: WindowSnapshot) {
    if (store.put(w)) scheduleRender();
  },
  onStatus(status: StatusEvent) {
    streamRedisDown = status.redis === 'down';
    // Windows published while the server's subscription was down were never relayed.
    if (!streamRedisDown) void loadHistory();
    scheduleRender();
  },
  onAlerts(event: AlertsEvent) {
    renderAlerts(event);
  },
  onState(state: ConnectionState) {
    connection = state;
    renderState();
  },
});

for (const button of document.querySelectorAll<HTMLButtonElement>('button[data-dimension]')) {
  button.addEventListener('click', () => {
    dimension = button.dataset.dimension as Dimension;
    for (const other of document.querySelectorAll<HTMLButtonElement>('button[data-dimension]')) {
      other.setAttribute('aria-pressed', String(other === button));
    }
    render();
  });
}

new ResizeObserver(() => scheduleRender()).observe(element('chart'));
// Time moves on when no orders come: keep the axis on the current window.
let currentSlot = 0;
setInterval(() => {
  const slot = Math.floor(Date.now() / windowMs);
  if (slot !== currentSlot) scheduleRender();
  currentSlot = slot;
}, 1000);
render();
live.open();
