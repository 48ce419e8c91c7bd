/**
 * A read position in a file: its generation (how often the file was truncated under the
 * collector) and the byte offset of the next unread line. Stored in Redis as `<generation>:<offset>`.
 */
export interface Position {
  readonly generation: number;
  readonly offset: number;
}

export function formatPosition(p: Position): string {
  return `${p.generation}:${p.offset}`;
}

export function parsePosition(text: string): Position | undefined {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) return undefined;
  return { generation: Number(match[1]), offset: Number(match[2]) };
}
