/**
 * Runs stages in this process: serves their metrics, closes them on SIGTERM/SIGINT, and closes
 * everything in order when they stop or fail. Used by every command's entry point.
 */
import { ConfigError } from './errors.js';
import { closeAll, closeOnSignal, once } from './lifecycle.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { type MetricsServer, startMetricsServer } from './metrics-server.js';
import { type RedisClient, closeRedis, isAnswering, onAccessDenied } from './redis.js';
import type { Config } from './settings/index.js';

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

/**
 * A stage that can only be built once something is known, such as the shared settings stored in
 * Redis: `prepare` runs when the stage starts, then `build` makes the stage and it runs. Closing it
 * while it prepares aborts `prepare`'s signal and ends `start()` without building anything.
 */
export function preparedStage<T>(prepare: (signal: AbortSignal) => Promise<T>, build: (prepared: T) => Stage): Stage {
  const stopping = new AbortController();
  let stage: Stage | undefined;
  let running: Promise<void> | undefined;
  const run = async () => {
    let prepared: T;
    try {
      prepared = await prepare(stopping.signal);
    } catch (error) {
      if (stopping.signal.aborted) return;
      throw error;
    }
    if (stopping.signal.aborted) return;
    stage = build(prepared);
    await stage.start();
  };
  return {
    start: () => (running ??= run()),
    close: once(async () => {
      stopping.abort();
      await stage?.close();
      await running?.catch(() => {});
    }),
  };
}

export interface StageRun {
  /** Where `/metrics` and `/healthz` listen. */
  readonly config: Pick<Config, 'metricsHost' | 'metricsPort'>;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Stages, in the order they are started; closed in the same order (sources first). */
  readonly stages: readonly Stage[];
  /** Connections closed after the stages. */
  readonly connections: readonly RedisClient[];
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
          // Ready is not enough: a Redis that stopped answering keeps its connections open.
          const redis = connections.map((c) => (isAnswering(c) ? 'ready' : c.status === 'ready' ? 'not answering' : c.status));
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
  // Redis refusing a login, a command or a certificate is the user's to fix, like a bad setting,
  // and a retry would be refused again: one line naming the setting, exit code 2, at once (before
  // any stage logs that it will retry). Nothing is lost: the stages are safe against kill -9.
  for (const connection of connections) {
    onAccessDenied(connection, (error) => {
      log.fatal({ connection: error.connection, err: error.message }, 'redis refused access: stopping');
      process.stderr.write(`crema: ${error.message}\n`);
      process.exit(2);
    });
  }
  try {
    await Promise.all(stages.map((stage) => stage.start()));
  } catch (error) {
    if (error instanceof ConfigError) {
      // A configuration a stage refuses (shared settings that disagree) is the user's to fix, like
      // a bad flag: said on standard error as the CLI says those, and logged for collectors.
      log.fatal({ problems: error.problems }, 'invalid configuration: not starting');
      process.stderr.write(`crema: ${error.message}\n`);
    } else {
      log.fatal({ err: error }, 'stage failed');
    }
    await close().catch(() => {});
    process.exit(error instanceof ConfigError ? 2 : 1);
  }
  await close();
}

/** Stages run as one: started together, closed together (in order); the group stops when any stops or fails. */
export function stageGroup(stages: readonly Stage[]): Stage {
  if (stages.length === 1) return stages[0]!;
  return {
    start: async () => {
      await Promise.all(stages.map((stage) => stage.start()));
    },
    close: once(() => closeAll(stages.map((stage) => () => stage.close()))),
  };
}
