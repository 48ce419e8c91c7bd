/** Polls until a condition holds, or fails with a message that says what never happened. */
export async function eventually(
  condition: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; message: string | (() => string | Promise<string>) },
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const message = typeof options.message === 'function' ? await options.message() : options.message;
      throw new Error(`${message} (after ${options.timeoutMs ?? 15_000} ms)${lastError ? `: ${(lastError as Error).message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}
