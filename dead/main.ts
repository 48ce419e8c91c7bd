/** `crema dead`: wires arguments, configuration and one Redis connection to a subcommand. */
import { ConfigError } from '../core/errors.js';
import { RedisKeys } from '../core/keys.js';
import { type RedisClient, closeRedis, createRedis, createRedisCluster, isClusterTarget } from '../core/redis.js';
import { shardLayout } from '../core/shards.js';
import { Scripts } from '../core/scripts.js';
import { type Config, loadConfig, maskUrl } from '../core/settings/index.js';
import { DEAD_USAGE, UsageError, parseDeadArgs } from './args.js';
import { type DeadOutput, runDeadCommand } from './commands.js';
import { DeadLetterStore } from './store.js';

/** How long the command waits for Redis before it gives up. */
const CONNECT_TIMEOUT_MS = 5000;

const processOutput: DeadOutput = {
  out: (text) => process.stdout.write(text),
  bytes: (data) => process.stdout.write(data),
  err: (text) => process.stderr.write(text),
};

/** Runs `crema dead <argv>`; returns the exit code: 0 done, 1 failed (or some chosen letters were not there), 2 bad arguments. */
export async function runDead(argv: readonly string[], output: DeadOutput = processOutput): Promise<number> {
  if (output === processOutput) {
    // Output piped into a reader that stops early (`| head`) ends quietly.
    process.stdout.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') throw error;
    });
  }
  let args: ReturnType<typeof parseDeadArgs>;
  let config: Config;
  try {
    args = parseDeadArgs(argv);
    if (args.help) {
      output.out(`${DEAD_USAGE}\n`);
      return 0;
    }
    config = loadConfig('dead', args.settingArgs);
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`crema dead: ${error.message} (crema dead --help lists the subcommands and flags)\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      output.err(`crema dead: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  // A command, not a service: one attempt to connect, no reconnecting.
  const cluster = isClusterTarget(config);
  const redis: RedisClient = cluster
    ? createRedisCluster(config, { name: 'crema:dead', clusterOverrides: { clusterRetryStrategy: () => null } })
    : createRedis(config.redisUrl, { name: 'crema:dead', overrides: { retryStrategy: () => null, connectTimeout: CONNECT_TIMEOUT_MS } });
  let connectionError: Error | undefined;
  redis.on('error', (error: Error) => {
    connectionError ??= error; // reported below, or by the failed command
  });
  try {
    try {
      await redis.connect();
    } catch (error) {
      const where = cluster ? `the Redis Cluster at ${(config.redisClusterUrls ?? []).map(maskUrl).join(', ')}` : `Redis at ${maskUrl(config.redisUrl)}`;
      output.err(`crema dead ${args.subcommand}: cannot reach ${where}: ${(connectionError ?? (error as Error)).message}\n`);
      return 1;
    }
    // Dead letters are kept per shard: the stored shard count says where.
    const shards = Number((await redis.hget(new RedisKeys(config.prefix).settings, 'shards')) ?? '1');
    if (shards > 1 && config.shard === undefined) {
      output.err(`crema dead ${args.subcommand}: this prefix has ${shards} shards, each with its own dead letters; choose one with --shard (0…${shards - 1})\n`);
      return 2;
    }
    if ((config.shard ?? 0) >= shards) {
      output.err(`crema dead ${args.subcommand}: --shard ${config.shard} is not one of this prefix's ${shards} shards (0…${shards - 1})\n`);
      return 2;
    }
    const keys = shardLayout(config.prefix, shards, cluster).shards[config.shard ?? 0]!;
    return await runDeadCommand(args, { store: new DeadLetterStore(redis, keys), scripts: new Scripts(redis, keys), deadMax: config.deadMax, output, now: Date.now() });
  } catch (error) {
    output.err(`crema dead ${args.subcommand}: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await closeRedis(redis);
  }
}
