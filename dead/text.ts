/**
 * How `crema dead` writes what it finds: bytes shown safely on a terminal, times, durations and
 * aligned tables. Pure functions.
 */

/** Bytes as text a terminal shows literally, and whether they were valid UTF-8. */
export interface SafeText {
  readonly text: string;
  /** The bytes are well-formed UTF-8 (what was escaped is then only control and invisible characters). */
  readonly utf8: boolean;
}

/**
 * Shows bytes safely: well-formed UTF-8 as its characters; every byte that is not part of a
 * well-formed UTF-8 character as `\xNN`; control characters (C0, DEL, C1) as `\n`, `\r`, `\t` or
 * `\xNN` / `\u0085`, and the characters that reorder text on screen (bidirectional overrides and
 * isolates) as `\uNNNN`, so that no line can move the cursor, change colours or hide its content;
 * a backslash as `\\`, so that the escapes are unambiguous.
 */
export function safeText(bytes: Uint8Array, maxChars = Number.POSITIVE_INFINITY): SafeText & { readonly cut: boolean } {
  let text = '';
  let utf8 = true;
  let chars = 0;
  let i = 0;
  while (i < bytes.length) {
    if (chars >= maxChars) return { text, utf8, cut: true };
    const decoded = decodeOne(bytes, i);
    if (decoded === undefined) {
      utf8 = false;
      text += `\\x${hex(bytes[i]!)}`;
      i += 1;
    } else {
      text += escapeCodePoint(decoded.codePoint);
      i += decoded.length;
    }
    chars += 1;
  }
  return { text, utf8, cut: false };
}

/** The code point of the well-formed UTF-8 sequence at `i`, or undefined (RFC 3629: no overlongs, surrogates or values past U+10FFFF). */
function decodeOne(bytes: Uint8Array, i: number): { codePoint: number; length: number } | undefined {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return { codePoint: b0, length: 1 };
  let length: number;
  let min: number;
  let codePoint: number;
  if (b0 >= 0xc2 && b0 <= 0xdf) [length, min, codePoint] = [2, 0x80, b0 & 0x1f];
  else if (b0 >= 0xe0 && b0 <= 0xef) [length, min, codePoint] = [3, 0x800, b0 & 0x0f];
  else if (b0 >= 0xf0 && b0 <= 0xf4) [length, min, codePoint] = [4, 0x10000, b0 & 0x07];
  else return undefined;
  if (i + length > bytes.length) return undefined;
  for (let k = 1; k < length; k++) {
    const b = bytes[i + k]!;
    if ((b & 0xc0) !== 0x80) return undefined;
    codePoint = (codePoint << 6) | (b & 0x3f);
  }
  if (codePoint < min || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) return undefined;
  return { codePoint, length };
}

const NAMED: Readonly<Record<number, string>> = { 0x09: '\\t', 0x0a: '\\n', 0x0d: '\\r', 0x5c: '\\\\' };

function escapeCodePoint(codePoint: number): string {
  const named = NAMED[codePoint];
  if (named !== undefined) return named;
  if (codePoint < 0x20 || codePoint === 0x7f) return `\\x${hex(codePoint)}`;
  if (
    (codePoint >= 0x80 && codePoint <= 0x9f) ||
    (codePoint >= 0x202a && codePoint <= 0x202e) ||
    (codePoint >= 0x2066 && codePoint <= 0x2069) ||
    codePoint === 0x200e ||
    codePoint === 0x200f ||
    codePoint === 0x061c ||
    codePoint === 0x2028 ||
    codePoint === 0x2029
  ) {
    return `\\u${codePoint.toString(16).padStart(4, '0')}`;
  }
  return String.fromCodePoint(codePoint);
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}

/** A line's head for a table cell: at most `chars` characters, `…` when cut. */
export function preview(bytes: Uint8Array, chars: number): string {
  const shown = safeText(bytes, chars);
  return shown.cut ? `${shown.text}…` : shown.text;
}

/** A text that may come from the data (a reason, a path), safe for a terminal. */
export function safeString(text: string): string {
  return safeText(Buffer.from(text)).text;
}

/** Epoch ms as UTC without milliseconds: `2026-11-21T10:00:01Z`. */
export function utc(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Epoch ms as UTC with milliseconds. */
export function utcMs(ms: number): string {
  return new Date(ms).toISOString();
}

const UNITS: readonly [string, number][] = [
  ['ms', 1],
  ['s', 1000],
  ['m', 60_000],
  ['h', 3_600_000],
  ['d', 86_400_000],
  ['w', 604_800_000],
];

/** `90s`, `15m`, `12h`, `7d`, `2w` (fractions allowed: `1.5h`) as milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!match) return undefined;
  const unit = UNITS.find(([name]) => name === match[2])![1];
  const ms = Math.round(Number(match[1]) * unit);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration for people: `3 s`, `4 min`, `2 h 5 min`, `3 d 4 h`. */
export function humanDuration(ms: number): string {
  const s = Math.floor(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  return h % 24 === 0 ? `${d} d` : `${d} d ${h % 24} h`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en');
}

/** Rows as columns separated by two spaces; `right` names the columns aligned to the right. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, c) => Math.max(width(h), ...rows.map((row) => width(row[c] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 && !right.has(c) ? cell : right.has(c) ? pad(cell, widths[c]!, 'start') : pad(cell, widths[c]!, 'end')))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function width(text: string): number {
  return [...text].length;
}

function pad(text: string, to: number, side: 'start' | 'end'): string {
  const fill = ' '.repeat(Math.max(0, to - width(text)));
  return side === 'start' ? fill + text : text + fill;
}
