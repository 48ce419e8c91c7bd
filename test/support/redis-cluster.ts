/**
 * A Redis Cluster for tests, first match wins:
 *   1. seed URLs from the environment (CREMA_TEST_REDIS_CLUSTER_URLS, comma-separated: the user's
 *      own cluster; tests that kill nodes always start their own instead),
 *   2. local `redis-server` binaries: 3 masters and 3 replicas on free loopback ports, each in a
 *      temporary directory, joined with `redis-cli --cluster create` and a short node timeout so
 *      that a replica takes over from a killed master within seconds.
 */
import { type ChildProcess, execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Cluster, Redis } from 'ioredis';
import { shardLayout } from '../../core/shards.js';
import { eventually } from './eventually.js';
import { freePort, killAndWait, onFreePort, portIsFree, spawnServer, untilAnswering } from './servers.js';

const run = promisify(execFile);

/** Node timeout of the local cluster: a master is declared failed after this long. */
export const CLUSTER_NODE_TIMEOUT_MS = 1500;

export interface ClusterNode {
  readonly port: number;
  readonly url: string;
}

export interface FailoverResult {
  /** The master that was killed. */
  readonly killed: ClusterNode;
  /** Its former replica, master now. */
  readonly promoted: ClusterNode;
  /** From the kill to the cluster answering `cluster_state:ok` with the replica promoted. */
  readonly failoverMs: number;
}

export interface RedisClusterServer {
  readonly kind: 'env' | 'local';
  /** Seed URLs, as Crema's cluster setting takes them. */
  readonly urls: readonly string[];
  /** Stops every node this harness started and removes their files. */
  dispose(): Promise<void>;
}

/** A cluster this harness started, whose nodes tests may stop, kill and restart. */
export interface LocalRedisCluster extends RedisClusterServer {
  readonly kind: 'local';
  /**
   * kill -9 of the master that serves `key`, once its replica is in sync; resolves when the
   * replica has taken over. With `replicated`, the master first waits (WAIT) until its replica
   * has every write so far; without, the writes of the last moments may be lost, as in a real crash.
   */
  killMasterOf(key: string, options?: { replicated?: boolean }): Promise<FailoverResult>;
  /** Starts a killed node again; it rejoins as a replica of the master that replaced it. */
  restart(node: ClusterNode): Promise<void>;
  /** The master that serves `key` and its replica, as the cluster sees them now. */
  topologyOf(key: string): Promise<{ master: ClusterNode; replica: ClusterNode }>;
  /** SIGSTOP (a node that stops answering, replication included) or SIGCONT of a node of this cluster. */
  signal(node: ClusterNode, signal: 'SIGSTOP' | 'SIGCONT'): void;
  /** kill -9 of a node, with no waiting for anything else. */
  kill(node: ClusterNode): Promise<void>;
  /** Resolves when `node` is a master and every running node says the cluster is ok. */
  waitUntilMaster(node: ClusterNode): Promise<void>;
}

/** The user's cluster when CREMA_TEST_REDIS_CLUSTER_URLS is set, else a local one. */
export async function startSharedRedisCluster(): Promise<RedisClusterServer> {
  const urls = process.env.CREMA_TEST_REDIS_CLUSTER_URLS;
  // Tests that stop or kill nodes always start their own (startLocalRedisCluster).
  if (urls) return { kind: 'env', urls: urls.split(',').map((u) => u.trim()), dispose: async () => {} };
  return startLocalRedisCluster();
}

interface LocalNode extends ClusterNode {
  readonly directory: string;
  child?: ChildProcess;
}

/**
 * A free port whose cluster bus port (the port + 10000, which a cluster node binds too) is free
 * and exists: an ephemeral port above 55535 has none, and one whose bus port another process holds
 * would keep the node from starting.
 */
export async function freeNodePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await freePort();
    if (port + 10_000 <= 65_535 && (await portIsFree(port + 10_000))) return port;
  }
  throw new Error('no free port with a free cluster bus port (port + 10000)');
}

/** PEM files of a TLS cluster: every node serves `cert` (which must name 127.0.0.1) and trusts `ca`. */
export interface ClusterTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** The CA of each TLS node this harness started, by port, for its own connections to the node. */
const tlsNodes = new Map<number, Buffer>();

/**
 * 3 masters and 3 replicas from the local `redis-server`, append-only (fsync every second, as
 * compose runs it). With `tls`, the nodes speak TLS only, to clients, to each other and to replicas.
 */
export async function startLocalRedisCluster(options: { masters?: number; tls?: ClusterTls } = {}): Promise<LocalRedisCluster> {
  const masters = options.masters ?? 3;
  const { tls } = options;
  const ca = tls && (await readFile(tls.ca));
  const listen = (port: number) =>
    tls
      ? ['--port', '0', '--tls-port', String(port), '--tls-cluster', 'yes', '--tls-replication', 'yes', '--tls-auth-clients', 'no', '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca]
      : ['--port', String(port)];
  const startNode = async (node: LocalNode) => {
    const logFile = join(node.directory, 'redis.log');
    node.child = await spawnServer(
      'redis-server',
      [
        ...listen(node.port), '--bind', '127.0.0.1',
        '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', String(CLUSTER_NODE_TIMEOUT_MS),
        '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec',
        '--dir', node.directory, '--logfile', logFile,
      ],
      'install it (apt-get install redis-server)',
    );
    await untilAnswering(node.child, `cluster node on port ${node.port}`, () => answers(node.port), { logFile });
  };
  // A new node, on another port when the one picked was taken before the node bound it.
  const launchNode = () =>
    onFreePort(freeNodePort, async (port) => {
      const node: LocalNode = { port, url: `${tls ? 'rediss' : 'redis'}://127.0.0.1:${port}`, directory: await mkdtemp(join(tmpdir(), `crema-cluster-${port}-`)) };
      if (ca) tlsNodes.set(port, ca);
      try {
        await startNode(node);
        return node;
      } catch (error) {
        await disposeNodes([node]);
        throw error;
      }
    });
  const nodes: LocalNode[] = [];
  const dispose = () => disposeNodes(nodes);
  try {
    const launched = await Promise.allSettled(Array.from({ length: masters * 2 }, launchNode));
    for (const result of launched) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = launched.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
    await run('redis-cli', [...(tls ? ['--tls', '--cacert', tls.ca] : []), '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'], { timeout: 30_000 });
    await eventually(() => healthy(nodes, masters), { timeoutMs: 30_000, message: 'the local cluster did not become ok with every replica in sync' });
  } catch (error) {
    await dispose();
    throw error;
  }

  const local = (node: ClusterNode) => {
    const found = nodes.find((n) => n.port === node.port);
    if (!found) throw new Error(`no node on port ${node.port}`);
    return found;
  };
  const waitUntilMaster = async (node: ClusterNode) => {
    await eventually(
      async () => {
        const info = await withNode(node.port, (r) => r.info('replication'));
        if (!/role:master/.test(info)) return false;
        const living = nodes.filter((n) => n.child);
        return (await Promise.all(living.map((n) => withNode(n.port, (r) => r.cluster('INFO') as Promise<string>)))).every((i) => /cluster_state:ok/.test(i));
      },
      { timeoutMs: 30_000, intervalMs: 50, message: `node ${node.port} did not become a master of an ok cluster` },
    );
  };
  const topologyOf = async (key: string) => {
    const slot = await withNode(nodes.find((n) => n.child)!.port, (r) => r.cluster('KEYSLOT', key) as Promise<number>);
    const lines = parseNodes(await nodesOf(nodes.find((n) => n.child)!.port));
    const owner = lines.find((l) => l.master && !l.failed && l.slots.some(([from, to]) => slot >= from && slot <= to));
    const replica = lines.find((l) => l.masterId === owner?.id && !l.failed);
    if (!owner || !replica) throw new Error(`slot ${slot} has no master with a replica: ${JSON.stringify(lines)}`);
    return { master: local({ port: owner.port, url: '' }), replica: local({ port: replica.port, url: '' }) };
  };

  return {
    kind: 'local',
    urls: nodes.map((n) => n.url),
    topologyOf,
    signal(node, signal) {
      const child = local(node).child;
      if (!child?.pid) throw new Error(`node ${node.port} is not running`);
      child.kill(signal);
    },
    async kill(node) {
      const target = local(node);
      await killAndWait(target.child);
      target.child = undefined;
    },
    waitUntilMaster,
    async killMasterOf(key, killOptions = {}) {
      await eventually(() => healthy(nodes, masters), { timeoutMs: 30_000, message: 'the cluster was not healthy before the kill' });
      const { master, replica: promoted } = await topologyOf(key);
      if (killOptions.replicated) await withNode(master.port, (r) => r.wait(1, 5000));
      const killedAt = Date.now();
      await killAndWait(master.child);
      master.child = undefined;
      await waitUntilMaster(promoted);
      return { killed: master, promoted, failoverMs: Date.now() - killedAt };
    },
    async restart(node) {
      const local = nodes.find((n) => n.port === node.port);
      if (!local) throw new Error(`no node on port ${node.port}`);
      if (local.child) return;
      await startNode(local);
      await eventually(() => healthy(nodes, masters), { timeoutMs: 30_000, message: `node ${node.port} did not rejoin in sync` });
    },
    dispose,
  };
}

interface NodeLine {
  readonly id: string;
  readonly port: number;
  readonly self: boolean;
  readonly master: boolean;
  readonly failed: boolean;
  /** For a replica, its master's id. */
  readonly masterId: string | undefined;
  readonly slots: readonly [number, number][];
}

/** `CLUSTER NODES` as records. */
function parseNodes(text: string): NodeLine[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id, address, flags, masterId, , , , , ...slots] = line.split(' ');
      const flagList = flags!.split(',');
      return {
        id: id!,
        port: Number(/:(\d+)@/.exec(address!)?.[1]),
        self: flagList.includes('myself'),
        master: flagList.includes('master'),
        failed: flagList.includes('fail') || flagList.includes('fail?'),
        masterId: masterId === '-' ? undefined : masterId,
        slots: slots.filter((s) => /^\d/.test(s)).map((s) => {
          const [from, to] = s.split('-').map(Number);
          return [from!, to ?? from!] as [number, number];
        }),
      };
    });
}

function nodesOf(port: number): Promise<string> {
  return withNode(port, (r) => r.cluster('NODES') as Promise<string>);
}

/** Every running node says the cluster is ok, `masters` masters cover the slots, and every replica's link is up. */
async function healthy(nodes: readonly LocalNode[], masters: number): Promise<boolean> {
  const living = nodes.filter((n) => n.child);
  for (const node of living) {
    const info = await withNode(node.port, (r) => r.cluster('INFO') as Promise<string>);
    if (!/cluster_state:ok/.test(info)) return false;
    const replication = await withNode(node.port, (r) => r.info('replication'));
    if (/role:slave/.test(replication) && !/master_link_status:up/.test(replication)) return false;
  }
  const lines = parseNodes(await nodesOf(living[0]!.port));
  return lines.filter((l) => l.master && !l.failed && l.slots.length > 0).length === masters;
}

/** Stops the nodes and removes their files. */
async function disposeNodes(nodes: readonly LocalNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => killAndWait(n.child)));
  await Promise.all(nodes.map((n) => rm(n.directory, { recursive: true, force: true })));
  for (const n of nodes) tlsNodes.delete(n.port);
}

async function withNode<T>(port: number, use: (redis: Redis) => Promise<T>): Promise<T> {
  const ca = tlsNodes.get(port);
  const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, ...(ca && { tls: { ca } }) });
  redis.on('error', () => {});
  try {
    await redis.connect();
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

async function answers(port: number): Promise<boolean> {
  try {
    return (await withNode(port, (r) => r.ping())) === 'PONG';
  } catch {
    return false;
  }
}

/**
 * A fresh prefix whose `shards` shards are served by as many different masters (as long as there
 * are that many): a test on it spans the cluster.
 */
export async function prefixOnDistinctMasters(cluster: Cluster, shards: number): Promise<string> {
  const slots = (await cluster.call('CLUSTER', 'SLOTS')) as [number, number, [string, number]][];
  const masters = new Set(slots.map(([, , [, port]]) => port)).size;
  const masterOf = async (key: string) => {
    const slot = Number(await cluster.call('CLUSTER', 'KEYSLOT', key));
    return slots.find(([from, to]) => slot >= from && slot <= to)![2][1];
  };
  for (let attempt = 0; attempt < 500; attempt++) {
    const prefix = `test:${attempt}:${Math.random().toString(36).slice(2, 8)}:`;
    const queues = shardLayout(prefix, shards, true).shards.map((keys) => keys.queue);
    if (new Set(await Promise.all(queues.map(masterOf))).size === Math.min(shards, masters)) return prefix;
  }
  throw new Error(`no prefix puts ${shards} shards on ${Math.min(shards, masters)} masters`);
}
