/** Reads the recent windows from the history API. */
import type { ApiError, WindowsResponse } from '../api-types.js';

/** The API answered with an error; `status` 503 means Redis is unreachable. */
export class HistoryError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function fetchWindows(limit: number, signal?: AbortSignal): Promise<WindowsResponse> {
  const response = await fetch(`api/windows?limit=${limit}`, { signal, headers: { accept: 'application/json' } });
  if (!response.ok) {
    const body = (await response.json().catch(() => ({ error: response.statusText }))) as ApiError;
    throw new HistoryError(response.status, body.error);
  }
  return (await response.json()) as WindowsResponse;
}
