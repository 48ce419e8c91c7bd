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
