/**
 * Writes the plain data of Prometheus and promtool files (maps, lists, strings, numbers, booleans)
 * as block-style YAML. Strings are plain when YAML reads them back unchanged, single-quoted when they
 * hold double quotes and nothing to escape, else JSON strings (which YAML reads as double-quoted
 * scalars); multi-line strings become literal blocks, so PromQL expressions stay as written.
 */
export type YamlValue = string | number | boolean | null | readonly YamlValue[] | { readonly [key: string]: YamlValue | undefined };

/** The YAML text of `value`, ending with a newline; keys whose value is `undefined` are left out. */
export function toYaml(value: YamlValue, header = ''): string {
  const comment = header
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  return `${comment ? `${comment}\n` : ''}${block(value, 0).join('\n')}\n`;
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Strings YAML reads back as the same string without quotes (no booleans, nulls or numbers). */
const PLAIN = /^[A-Za-z_][A-Za-z0-9_./-]*$/;
const RESERVED = /^(true|false|yes|no|on|off|y|n|null)$/i;

/** Multi-line strings a literal block (`|-`) keeps exactly: no final newline, no leading space, no control characters. */
const BLOCK_SAFE = /^(?! )[^\u0000-\u0008\u000b-\u001f\u007f]*[^\n]$/;

function scalar(value: string | number | boolean | null, indent: number): string {
  if (typeof value === 'number') return number(value);
  if (typeof value === 'string' && value.includes('\n') && BLOCK_SAFE.test(value)) {
    const pad = ' '.repeat(indent + 2);
    return `|-\n${value
      .split('\n')
      .map((line) => (line ? pad + line : ''))
      .join('\n')}`;
  }
  if (typeof value === 'string' && PLAIN.test(value) && !RESERVED.test(value)) return value;
  // PromQL is full of double quotes: single quotes keep it as written.
  if (typeof value === 'string' && value.includes('"') && !/['\\\u0000-\u001f]/.test(value)) return `'${value}'`;
  return JSON.stringify(value);
}

/** A number both YAML 1.1 and 1.2 read back as that number (1.1 wants a dot in exponent floats). */
function number(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`toYaml: cannot write ${value}`);
  const text = String(value);
  return /e/.test(text) && !text.includes('.') ? text.replace('e', '.0e') : text;
}

function isScalar(value: YamlValue): value is string | number | boolean | null {
  return value === null || typeof value !== 'object';
}

function key(name: string): string {
  return KEY.test(name) ? name : JSON.stringify(name);
}

function block(value: YamlValue, indent: number): string[] {
  const pad = ' '.repeat(indent);
  if (isScalar(value)) return [pad + scalar(value, indent)];
  if (Array.isArray(value)) {
    if (value.length === 0) return [`${pad}[]`];
    return value.flatMap((item: YamlValue) => {
      if (isScalar(item)) return [`${pad}- ${scalar(item, indent)}`];
      const lines = block(item, indent + 2);
      return [`${pad}- ${lines[0]!.slice(indent + 2)}`, ...lines.slice(1)];
    });
  }
  const entries = Object.entries(value).filter((entry): entry is [string, YamlValue] => entry[1] !== undefined);
  if (entries.length === 0) return [`${pad}{}`];
  return entries.flatMap(([name, item]) => {
    if (isScalar(item)) return [`${pad}${key(name)}: ${scalar(item, indent)}`];
    if (Array.isArray(item) && item.length === 0) return [`${pad}${key(name)}: []`];
    if (!Array.isArray(item) && Object.keys(item).length === 0) return [`${pad}${key(name)}: {}`];
    return [`${pad}${key(name)}:`, ...block(item, indent + 2)];
  });
}
