/** Structured logs: JSON lines on standard output, one logger per process. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(options: { level: string; host: string; stage: string }): Logger {
  return pino({
    level: options.level,
    base: { host: options.host, stage: options.stage, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}

/** A library's console message in Crema's words: the log line's message and fields, or undefined to keep the text. */
export type ConsoleTranslator = (text: string) => { readonly msg: string; readonly fields?: Record<string, unknown>; readonly level?: 'warn' | 'error' } | undefined;

/** Distinct console messages remembered, so that a repeated one is logged once. */
const REMEMBERED = 100;

/**
 * Sends what libraries write with `console.*` (the Redis client's warnings, say) to `log` as
 * structured lines: the first line of the text only (no stack traces), each distinct message once
 * per process. `translate` puts known messages into Crema's words.
 */
export function routeConsole(log: Logger, translate: ConsoleTranslator = () => undefined): void {
  const seen = new Set<string>();
  const route = (level: 'info' | 'warn' | 'error') => (...args: unknown[]) => {
    const text = args
      .map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a : String(a)))
      .join(' ')
      .split('\n')[0]!
      .trim();
    const translated = translate(text);
    const key = translated ? `${translated.msg} ${JSON.stringify(translated.fields ?? {})}` : text;
    if (seen.has(key)) return;
    if (seen.size < REMEMBERED) seen.add(key);
    if (translated) log[translated.level ?? level]({ ...translated.fields }, translated.msg);
    else log[level]({ text }, 'message from a library');
  };
  console.log = route('info');
  console.info = route('info');
  console.warn = route('warn');
  console.error = route('error');
}
