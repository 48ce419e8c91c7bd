#!/usr/bin/env node
/**
 * The `crema` command: `crema <generate|collect|process|export|serve|up|config|acl|dead> [flags]`.
 * Answers help, version and usage errors (`help.ts`), else reads and validates the configuration
 * once, then runs the command's stages.
 */
import type { RedisClient } from '../core/redis.js';
import { createCollector } from '../collector/main.js';
import { createExporter } from '../exporter/main.js';
import { ConfigError, ListenError } from '../core/errors.js';
import { aclCommand } from '../core/acl.js';
import { createLogger, routeConsole } from '../core/log.js';
import { runDead } from '../dead/main.js';
import { createMetrics } from '../core/metrics.js';
import { type Command, type Config, type LoadedSettings, describeConfig, loadSettings, settingsMarkdown, wantsMarkdown } from '../core/settings/index.js';
import { describeRedisClientMessage } from '../core/redis.js';
import { type Stage, runStages } from '../core/stage.js';
import { createGenerator } from '../generator/main.js';
import { createProcessor } from '../processor/main.js';
import { createWeb } from '../web/main.js';
import { answer } from './help.js';

async function main(argv: readonly string[]): Promise<void> {
  // Help, the version and usage errors are answered before any setting is read.
  // `crema dead` has subcommands and arguments of its own, and its own help.
  if (argv[0] === 'dead') {
    process.exitCode = await runDead(argv.slice(1));
    return;
  }
  const answered = answer(argv);
  if (answered !== undefined) {
    if ('stdout' in answered) process.stdout.write(answered.stdout);
    else {
      process.stderr.write(answered.stderr);
      process.exitCode = 2;
    }
    return;
  }
  const [command, ...rest] = argv as [Command, ...string[]];
  let loaded: LoadedSettings;
  try {
    loaded = loadSettings(command, rest);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`crema ${command}: ${error.message}\n`);
    process.exitCode = 2;
    return;
  }
  if (command === 'config') {
    process.stdout.write(`${wantsMarkdown(rest) ? settingsMarkdown() : describeConfig(loaded)}\n`);
    return;
  }
  if (command === 'acl') {
    printAcl(loaded.config);
    return;
  }
  try {
    await run(loaded.config);
  } catch (error) {
    // A port in use is the user's to change, like a bad setting: one line, exit code 2.
    if (!(error instanceof ListenError)) throw error;
    process.stderr.write(`crema ${command}: ${error.message}\n`);
    process.exitCode = 2;
  }
}

const STAGE_NAMES: Record<Command, string> = {
  generate: 'generator',
  collect: 'collector',
  process: 'processor',
  export: 'exporter',
  serve: 'web',
  up: 'up',
  config: 'config',
  acl: 'acl',
  dead: 'dead',
};

/** `crema acl`: the lines on standard output (for `| redis-cli`), a note on standard error for a missing password. */
function printAcl(config: Config): void {
  const { aclCollectorPassword: collector, aclProcessorPassword: processor, aclExporterPassword: exporter, aclWebPassword: web } = config;
  const { lines, withoutPassword } = aclCommand(config.prefix, config.shards, { collector, processor, exporter, web });
  process.stdout.write(`${lines.join('\n')}\n`);
  if (withoutPassword.length > 0) {
    process.stderr.write(`crema acl: no password given for ${withoutPassword.join(', ')} (CREMA_ACL_<STAGE>_PASSWORD, or its _FILE); their lines hold a placeholder that Redis refuses\n`);
  }
}

async function run(config: Config): Promise<void> {
  const logger = (stage: string) => createLogger({ level: config.logLevel, host: config.host, stage });
  const log = logger(STAGE_NAMES[config.command]);
  // Libraries' own messages (the Redis client's warnings) become log lines too, each once.
  routeConsole(log, describeRedisClientMessage);
  // A promise nobody waited on failed: a bug, said as a log line like everything else, not as a bare stack.
  process.on('unhandledRejection', (reason: unknown) => {
    log.fatal({ err: reason }, 'unhandled rejection: stopping');
    process.exit(1);
  });
  const metrics = createMetrics(config.host);
  const stages: Stage[] = [];
  const connections: RedisClient[] = [];
  if (config.command === 'generate' || config.command === 'up') {
    stages.push(createGenerator(config, config.command === 'up' ? logger('generator') : log, metrics));
  }
  if (config.command === 'collect' || config.command === 'up') {
    const { collector, redis } = createCollector(config, config.command === 'up' ? logger('collector') : log, metrics);
    stages.push(collector);
    connections.push(redis);
  }
  if (config.command === 'process' || config.command === 'up') {
    const { processor, redis } = createProcessor(config, config.command === 'up' ? logger('processor') : log, metrics);
    stages.push(processor);
    connections.push(redis);
  }
  // `up` exports only when told where to: INFLUX_URL is optional there.
  if (config.command === 'export' || (config.command === 'up' && config.influxUrl !== undefined)) {
    const { exporter, redis } = createExporter(config, config.command === 'up' ? logger('exporter') : log, metrics);
    stages.push(exporter);
    connections.push(redis);
  }
  if (config.command === 'serve' || config.command === 'up') {
    const web = createWeb(config, config.command === 'up' ? logger('web') : log, metrics);
    stages.push(web.web);
    connections.push(...web.connections);
  }
  // `serve` answers /metrics and /healthz on its own port.
  await runStages({ config, log, metrics, stages, connections, metricsServer: config.command !== 'serve' });
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`crema: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
