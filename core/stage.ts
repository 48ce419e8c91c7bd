/**
 * Runs stages in this process: serves their metrics, closes them on SIGTERM/SIGINT, and closes
 * everything in order when they stop or fail. Used by every command's entry point.
 */
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import { closeAll, closeOnSignal, once } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';
import { closeRedis } from './redis.js';

export interface Stage {
  /**
   * Binds the stage's listening ports, if it has any. Called for every stage before any stage
   * starts, so that a port in use stops a command before it has read or written anything.
   */
  listen?(): Promise<unknown>;
  /** Settles when the stage has stopped by itself or was closed. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export interface StageRun {
  readonly config: Config;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stages, in the order they are started; closed in the same order (sources first). */
  readonly stages: readonly Stage[];
  /** Connections closed after the stages. */
  readonly connections: readonly Redis[];
  /** Whether to serve /metrics and /healthz on `CREMA_METRICS_PORT` (a web server serves its own). @defaultValue true */
  readonly metricsServer?: boolean;
}

/**
 * Runs the stages until they stop or a signal arrives; exits the process non-zero on failure.
 * Rejects, having started nothing, when a port cannot be bound ({@link ListenError}).
 */
export async function runStages(run: StageRun): Promise<void> {
  const { config, log, metrics, stages, connections } = run;
  let server: MetricsServer | undefined;
  try {
    if ((run.metricsServer ?? true) && config.metricsPort > 0) {
      server = await startMetricsServer({
        host: config.metricsHost,
        port: config.metricsPort,
        registry: metrics.registry,
        health: async () => {
          const redis = connections.map((c) => c.status);
          return { ok: redis.every((s) => s === 'ready'), redis };
        },
        settings: { port: 'metricsPort', host: 'metricsHost' },
      });
    }
    for (const stage of stages) await stage.listen?.();
  } catch (error) {
    // Nothing has started but the listening stages: close those, the server and the connections.
    await closeAll([...stages.filter((s) => s.listen).map((s) => () => s.close()), () => server?.close(), ...connections.map((c) => () => closeRedis(c))]).catch(() => {});
    throw error;
  }
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
