/** `crema acl`: the Redis users per stage, derived from the keys table and the scripts. */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { aclCommand, aclSetUser, passwordPlaceholder, stageAcls, stageScripts } from '../../core/acl.js';
import { REDIS_STAGES, RedisKeys, globLiteral } from '../../core/keys.js';
import { scriptCommands } from '../../core/scripts.js';

/** Redis's glob match, for the patterns `crema acl` writes (`*`, and `\` escapes). */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern.replace(/\\(.)|\*|[.+^${}()|[\]?]/g, (m, escaped: string | undefined) => (escaped !== undefined ? `\\${escaped}` : m === '*' ? '.*' : `\\${m}`));
  return new RegExp(`^${source}$`).test(text);
}

describe('crema acl', () => {
  const keys = new RedisKeys('coffee:');
  const acls = stageAcls(keys);

  it('grants every key and channel of RedisKeys to the stages that use it', () => {
    const names = Object.entries(keys).filter(([name, value]) => typeof value === 'string' && name !== 'prefix') as [string, string][];
    expect(names.length).toBeGreaterThan(10);
    for (const [name, value] of names) {
      // A prefix field stands for the keys under it.
      const key = name.endsWith('Prefix') ? `${value}x` : value;
      const granted = acls.filter((acl) => [...acl.keys, ...acl.channels].some((selector) => globMatches(selector.replace(/^(%R)?[~&]/, ''), key)));
      expect(granted.length, `${name} (${key}) is granted to no stage`).toBeGreaterThan(0);
    }
    expect(keys.grants('web')).toEqual({
      keys: [
        { pattern: 'coffee:windows', access: 'read' },
        { pattern: 'coffee:settings', access: 'read' },
        { pattern: 'coffee:closed-through', access: 'read' },
        { pattern: 'coffee:window:*', access: 'read' },
      ],
      channels: ['coffee:stats'],
    });
  });

  it('matches the prefix literally, whatever glob characters it holds', () => {
    expect(globLiteral('shop*[1]?\\:')).toBe('shop\\*\\[1\\]\\?\\\\:');
    const tricky = stageAcls(new RedisKeys('{shop*}:'));
    const processor = tricky.find((acl) => acl.stage === 'processor')!;
    expect(processor.keys).toContain('~{shop\\*}:orders');
    expect(processor.keys).toContain('~{shop\\*}:window:*');
    expect(processor.keys.some((k) => globMatches(k.slice(1), '{shopX}:orders'))).toBe(false);
    expect(processor.channels).toEqual(['&{shop\\*}:stats']);
  });

  it('gives each stage the commands of its own scripts; the processor runs every script not named for another stage', () => {
    const all = [...scriptCommands().keys()].sort();
    expect(stageScripts('collector').sort()).toEqual(['initPosition', 'pushBatch']);
    expect([...stageScripts('collector'), ...stageScripts('processor')].sort()).toEqual(all);
    expect(stageScripts('web')).toEqual([]);
    const commands = Object.fromEntries(acls.map((acl) => [acl.stage, acl.commands]));
    for (const name of stageScripts('processor')) for (const command of scriptCommands().get(name)!) expect(commands.processor).toContain(command);
    expect(commands.collector).toEqual(expect.arrayContaining(['eval', 'evalsha', 'rpush', 'hset', 'hmget']));
    expect(commands.collector).not.toContain('lpop');
    expect(commands.web).not.toContain('eval');
    for (const stage of REDIS_STAGES) expect(commands[stage], stage).toEqual(expect.arrayContaining(['client|setname', 'info', 'ping', 'select']));
  });

  it('lets the web and the exporter only read what the processor writes', () => {
    const byStage = Object.fromEntries(acls.map((acl) => [acl.stage, acl]));
    expect(byStage.web!.keys.every((k) => k.startsWith('%R~'))).toBe(true);
    expect(byStage.exporter!.keys).toEqual(['%R~coffee:open', '%R~coffee:changes', '~coffee:export:checkpoint', '%R~coffee:settings', '%R~coffee:closed-through', '%R~coffee:window:*']);
    expect(byStage.web!.commands).not.toEqual(expect.arrayContaining(['set']));
  });

  it('prints one ACL SETUSER line per stage, with passwords as SHA-256 only, and a placeholder Redis refuses for a missing one', () => {
    const { lines, withoutPassword } = aclCommand('coffee:', 1, { processor: 'processor-secret-0123456789' });
    expect(lines.map((line) => line.split(' ').slice(0, 7).join(' '))).toEqual([
      `ACL SETUSER crema-collector reset on ${passwordPlaceholder('collector')} resetchannels`,
      `ACL SETUSER crema-processor reset on #${createHash('sha256').update('processor-secret-0123456789').digest('hex')} resetchannels`,
      `ACL SETUSER crema-exporter reset on ${passwordPlaceholder('exporter')} resetchannels`,
      `ACL SETUSER crema-web reset on ${passwordPlaceholder('web')} resetchannels`,
    ]);
    expect(lines.join('\n')).not.toContain('processor-secret');
    expect(withoutPassword).toEqual(['crema-collector', 'crema-exporter', 'crema-web']);
    // Redis takes `#` with exactly 64 lower-case hex digits; the placeholder is not that.
    expect(passwordPlaceholder('web')).not.toMatch(/^#[0-9a-f]{64}$/);
    expect(aclSetUser(stageAcls(new RedisKeys('coffee:'), [new RedisKeys('{coffee:0}:')])[3]!, undefined)).toBe(lines[3]);
    // One shard: the prefix's own keys on one Redis, and shard 0's hash tag on a cluster.
    expect(lines[3]).toBe(
      `ACL SETUSER crema-web reset on ${passwordPlaceholder('web')} resetchannels %R~coffee:windows %R~coffee:settings %R~coffee:closed-through %R~coffee:window:* ` +
        '%R~{coffee:0}:windows %R~{coffee:0}:settings %R~{coffee:0}:closed-through %R~{coffee:0}:window:* &coffee:stats &{coffee:0}:stats ' +
        '+client|setname +cluster|slots +get +hgetall +info +ping +select +ssubscribe +subscribe +sunsubscribe +unsubscribe +zrange',
    );
  });

  it('grants every shard its own keys and channel, and the prefix its shared settings', () => {
    const { lines } = aclCommand('coffee:', 3, {});
    const processor = lines[1]!;
    for (const shard of [0, 1, 2]) {
      expect(processor).toContain(` ~{coffee:${shard}}:orders `);
      expect(processor).toContain(` ~{coffee:${shard}}:processing:* `);
      expect(processor).toContain(` &{coffee:${shard}}:stats `);
    }
    expect(processor).toContain(' ~coffee:settings ');
    expect(processor).toContain(' +spublish ');
    expect(lines[0]).toContain(' ~{coffee:2}:offsets ');
    expect(lines[0]).not.toContain('{coffee:3}');
  });
});
