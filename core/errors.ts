/**
 * Typed errors. Lua scripts answer with negative codes; {@link scriptError} is the one place
 * that turns a code into an error.
 */

export class CremaError extends Error {
  constructor(
    message: string,
    /** Stable, low-cardinality name of the failure, used as the metric label `type`. */
    readonly type: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad configuration; lists every problem found, each naming the setting. */
export class ConfigError extends CremaError {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  ${problems.join('\n  ')}`, 'config');
  }
}

/**
 * A server cannot listen where its settings say: the port is taken or needs privileges, or the
 * address is not one of this machine's. The message names the setting to change.
 */
export class ListenError extends CremaError {
  constructor(
    message: string,
    /** The system's error code, such as `EADDRINUSE`. */
    readonly code: string,
  ) {
    super(message, 'listen');
  }
}

/** The stored read position of a file is not the one this collector expected (another writer, or a replayed push). */
export class OffsetConflictError extends CremaError {
  constructor(
    readonly fileKey: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`offset of ${fileKey} is ${actual || 'unset'}, expected ${expected}: another collector may follow this file`, 'offset_conflict');
  }
}

/** This processor's lease expired or was taken over; its claimed batch is no longer its own. */
export class LeaseLostError extends CremaError {
  constructor(readonly consumer: string) {
    super(`lease of consumer ${consumer} was lost; its batch will be recounted by whoever holds it`, 'lease_lost');
  }
}

/**
 * The batch a processor is committing is no longer at the head of its processing list: the
 * list was recovered by another processor, or a Redis failover lost the latest claim or commit.
 * Nothing was written; the processor takes its lease again and recounts what the list holds.
 */
export class ClaimLostError extends CremaError {
  constructor(readonly consumer: string) {
    super(`the batch claimed by consumer ${consumer} is no longer where it was claimed; recounting what is claimed now`, 'claim_lost');
  }
}

/** Codes returned by the Lua scripts. */
export const ScriptCode = {
  Ok: 0,
  OffsetConflict: -1,
  LeaseLost: -2,
  ClaimLost: -3,
  /** An argument was malformed; the script wrote nothing. Its message follows the code. */
  InvalidArgument: -4,
} as const;

/** Context a script error needs to be explained. */
export interface ScriptErrorContext {
  readonly consumer?: string;
  readonly fileKey?: string;
  readonly expected?: string;
  readonly actual?: string;
}

/** Turns a negative script code into its typed error. */
export function scriptError(code: number, context: ScriptErrorContext): CremaError {
  switch (code) {
    case ScriptCode.OffsetConflict:
      return new OffsetConflictError(context.fileKey ?? '?', context.expected ?? '?', context.actual ?? '');
    case ScriptCode.LeaseLost:
      return new LeaseLostError(context.consumer ?? '?');
    case ScriptCode.ClaimLost:
      return new ClaimLostError(context.consumer ?? '?');
    default:
      return new CremaError(`unexpected script result ${code}`, 'script');
  }
}

/** A short type for any error: the typed one's, or a Redis/network one's. */
export function errorType(error: unknown): string {
  if (error instanceof CremaError) return error.type;
  const e = error as { code?: unknown; name?: unknown };
  if (typeof e?.code === 'string' && /^[A-Z_]+$/.test(e.code)) return e.code.toLowerCase();
  if (typeof e?.name === 'string' && e.name !== 'Error') return e.name.replace(/Error$/, '').toLowerCase() || 'error';
  return 'error';
}
