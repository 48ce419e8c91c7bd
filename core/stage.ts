/**
 * Runs stages in this process: serves their metrics, closes them on SIGTERM/SIGINT, and closes
 * everything in order when they stop or fail. Used by every command's entry point.
 */
import type { Redis } from 'ioredis';
import { closeAll, closeOnSignal, once } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { startMetricsServer } from './metrics-server.js';
import { closeRedis } from './redis.js';
import type { Config } from './settings/index.js';

export interface Stage {
  /** Settles when the stage has stopped by itself or was closed. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface StageRun {
  /** Where `/metrics` and `/healthz` listen. */
  readonly config: Pick<Config, 'metricsHost' | 'metricsPort'>;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stages, in the order they are started; closed in the same order (sources first). */
  readonly stages: readonly Stage[];
  /** Connections closed after the stages. */
  readonly connections: readonly Redis[];
  /** Whether to serve /metrics and /healthz on `CREMA_METRICS_PORT` (a web server serves its own). @defaultValue true */
  readonly metricsServer?: boolean;
}

/** Runs the stages until they stop or a signal arrives; exits the process non-zero on failure. */
export async function runStages(run: StageRun): Promise<void> {
  const { config, log, metrics, stages, connections } = run;
  const server =
    (run.metricsServer ?? true) && config.metricsPort > 0
      ? await startMetricsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          registry: metrics.registry,
          health: async () => {
            const redis = connections.map((c) => c.status);
            return { ok: redis.every((s) => s === 'ready'), redis };
          },
        })
      : undefined;
  if (server) log.info({ url: `http://${config.metricsHost}:${server.port}/metrics` }, 'serving metrics');

  const close = once(() =>
    closeAll([...stages.map((stage) => () => stage.close()), () => server?.close(), ...connections.map((c) => () => closeRedis(c))]),
  );
  closeOnSignal({ close }, log);
  try {
    await Promise.all(stages.map((stage) => stage.start()));
  } catch (error) {
    log.fatal({ err: error }, 'stage failed');
    await close().catch(() => {});
    process.exit(1);
  }
  await close();
}
