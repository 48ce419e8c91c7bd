#!/usr/bin/env node
/**
 * The `crema` command: `crema <generate|collect|process|export|serve|up|config|dead> [flags]`.
 * Reads and validates the configuration once, then runs the command's stages.
 */
import type { Redis } from 'ioredis';
import { createCollector } from '../collector/main.js';
import { createExporter } from '../exporter/main.js';
import { ConfigError, ListenError } from '../core/errors.js';
import { runDead } from '../dead/main.js';
import { createLogger } from '../core/log.js';
import { createMetrics } from '../core/metrics.js';
import { COMMANDS, type Command, type Config, type LoadedSettings, describeConfig, loadSettings, settingsMarkdown, wantsMarkdown } from '../core/settings/index.js';
import { type Stage, runStages } from '../core/stage.js';
import { createGenerator } from '../generator/main.js';
import { createProcessor } from '../processor/main.js';
import { createWeb } from '../web/main.js';

const USAGE = `usage: crema <command> [flags]

commands:
  generate   append random orders to a file
  collect    follow order files and push their lines to the Redis queue
  process    count queued orders into time windows in Redis
  export     write window counts to InfluxDB (INFLUX_URL), for Grafana
  serve      serve the live page, its history API and live stream (http://127.0.0.1:8080)
  up         generate, collect, process and serve in one process (the local default),
             and export when INFLUX_URL is set
  config     print the effective configuration (--markdown: the settings table)
  dead       list, count, show, replay and purge dead letters (crema dead --help)

Every flag has an environment variable; see \`crema config\` and the README.`;

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (!(COMMANDS as readonly string[]).includes(command)) {
    process.stderr.write(`crema: unknown command "${command}"\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (command === 'dead') {
    process.exitCode = await runDead(rest);
    return;
  }
  let loaded: LoadedSettings;
  try {
    loaded = loadSettings(command as Command, rest);
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
  dead: 'dead',
};

async function run(config: Config): Promise<void> {
  const logger = (stage: string) => createLogger({ level: config.logLevel, host: config.host, stage });
  const log = logger(STAGE_NAMES[config.command]);
  const metrics = createMetrics(config.host);
  const stages: Stage[] = [];
  const connections: Redis[] = [];
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
