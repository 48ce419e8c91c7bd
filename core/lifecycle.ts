/** Start-up and shutdown: signals are handled here and nowhere else. */
import type { Logger } from './log.js';

export interface Closable {
  close(): Promise<void>;
}

/**
 * Wraps a close function so that it runs once: later calls wait on the same promise.
 */
export function once(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}

/**
 * Runs every cleanup, in order, even when one throws; rethrows the first failure at the end.
 */
export async function closeAll(cleanups: readonly (() => Promise<unknown> | unknown)[]): Promise<void> {
  let failure: unknown;
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      failure ??= error;
    }
  }
  if (failure !== undefined) throw failure;
}

/**
 * Closes `service` on the first SIGTERM or SIGINT and exits 0 when it has closed; a second
 * signal, or a close that takes longer than `timeoutMs`, exits 1 at once.
 */
export function closeOnSignal(service: Closable, log: Logger, timeoutMs = 10_000): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log.warn({ signal }, 'second signal: exiting without a clean shutdown');
      process.exit(1);
    }
    signalled = true;
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => {
      log.error({ timeoutMs }, 'shutdown took too long: exiting');
      process.exit(1);
    }, timeoutMs);
    timer.unref();
    service.close().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
