/** Reads the recent windows from the history API. */
import type { ApiError, WindowsResponse } from '../api-types.js';

/** The API answered with an error; a 503's `reason` says whether Redis is unreachable or no processor has run yet. */
export class HistoryError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly reason?: ApiError['reason'],
  ) {
    super(message);
  }
}

export async function fetchWindows(limit: number, signal?: AbortSignal): Promise<WindowsResponse> {
  const response = await fetch(`api/windows?limit=${limit}`, { signal, headers: { accept: 'application/json' } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({ error: response.statusText }))) as ApiError;
    throw new HistoryError(response.status, body.error, body.reason);
  }
  return (await response.json()) as WindowsResponse;
}
