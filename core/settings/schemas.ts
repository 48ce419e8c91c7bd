/**
 * Zod schemas for setting values as they arrive: text from a flag or the environment (a list
 * setting gets an array of texts). Each message reads after the setting's name.
 */
import { z } from 'zod';

/** A whole number in `[min, max]`. */
export const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

/** A number above 0 and at most `max`, fractions allowed. */
export const positiveNumber = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().positive('must be greater than 0').max(max, `must be at most ${max}`));

/** true/false, 1/0, yes/no. */
/** A number from 0 to `max`, fractions allowed. */
export const zeroOrMore = (max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+(\.\d+)?$/, 'must be a number')
    .transform(Number)
    .pipe(z.number().max(max, `must be at most ${max}`));

export const booleanText = z
  .string()
  .trim()
  .toLowerCase()
  .refine((v) => ['true', 'false', '1', '0', 'yes', 'no'].includes(v), 'must be true or false')
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

function hasProtocol(text: string, protocols: readonly string[]): boolean {
  try {
    return protocols.includes(new URL(text).protocol);
  } catch {
    return false;
  }
}

export const redisUrl = z
  .string()
  .trim()
  .refine((v) => hasProtocol(v, ['redis:', 'rediss:']), 'must be a redis:// or rediss:// URL, such as redis://:password@host:6379/0');

export const httpUrl = z
  .string()
  .trim()
  .refine((v) => hasProtocol(v, ['http:', 'https:']), 'must be an http:// or https:// URL, such as http://influxdb:8086');

/** A name that is safe in keys, labels and logs. */
export const name = z
  .string()
  .trim()
  .regex(/^[A-Za-z0-9_.:@-]+$/, 'may contain only letters, digits and _ . : @ -');

export const nonEmpty = z.string().trim().min(1, 'must not be empty');

/** A web origin: scheme and host, no path. */
export const origin = z
  .string()
  .trim()
  .regex(/^https?:\/\/[^/\s]+$/, 'must be an origin such as https://dash.example.com (scheme and host, no path)');
