/**
 * Writes line protocol to InfluxDB through the v2 write API of `@influxdata/influxdb-client`
 * (InfluxDB 1.8+, 2.x and 3 Core all accept it). One call is one attempt: the client's own
 * retry buffer is turned off, because the exporter retries from its checkpoint instead and must
 * know exactly which lines were acknowledged.
 */
import { HttpError, InfluxDB, RequestTimedOutError, type WriteApi, setLogger } from '@influxdata/influxdb-client';
import { CremaError } from '../core/errors.js';

/** The InfluxDB the exporter writes to (v2 write API: 1.8+, 2.x, 3 Core). */
export interface InfluxSettings {
  readonly url: string;
  /** API token, or `user:password` on 1.8+; empty for none. */
  readonly token: string;
  /** 2.x organization; empty elsewhere. */
  readonly org: string;
  /** Bucket (2.x), database (3 Core) or `database/retention-policy` (1.8+). */
  readonly bucket: string;
  readonly timeoutMs: number;
}

/** Lines per HTTP request; InfluxDB's own guidance is 5,000–10,000. */
export const LINES_PER_REQUEST = 5000;

/** Where points go; the exporter needs nothing else. */
export interface PointSink {
  /** Resolves once InfluxDB has acknowledged every line; rejects with an {@link InfluxWriteError}. */
  write(lines: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/** A write InfluxDB did not acknowledge; `type` says why, for logs and `coffee_errors_total`. */
export class InfluxWriteError extends CremaError {
  constructor(message: string, type: string, readonly status?: number) {
    super(message, type);
  }
}

// The client logs every failed write on the console; the exporter logs state changes itself.
setLogger({ error: () => {}, warn: () => {} });

export class InfluxWriter implements PointSink {
  private readonly api: WriteApi;

  constructor(settings: InfluxSettings) {
    const influx = new InfluxDB({ url: settings.url, token: settings.token || undefined, timeout: settings.timeoutMs });
    this.api = influx.getWriteApi(settings.org, settings.bucket, 'ms', {
      batchSize: LINES_PER_REQUEST + 1,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: LINES_PER_REQUEST,
      gzipThreshold: 64 * 1024,
    });
  }

  async write(lines: readonly string[]): Promise<void> {
    for (let i = 0; i < lines.length; i += LINES_PER_REQUEST) {
      this.api.writeRecords(lines.slice(i, i + LINES_PER_REQUEST));
      try {
        await this.api.flush();
      } catch (error) {
        throw describeWriteError(error);
      }
    }
  }

  async close(): Promise<void> {
    // Nothing is buffered between writes; dispose drops the client without a last flush.
    this.api.dispose();
  }
}

/** Turns the client's errors into typed ones whose message says what to fix. */
export function describeWriteError(error: unknown): InfluxWriteError {
  if (error instanceof HttpError) {
    const detail = error.body ? `: ${error.body.slice(0, 300)}` : '';
    if (error.statusCode === 401 || error.statusCode === 403) {
      return new InfluxWriteError(`InfluxDB refused the credentials (${error.statusCode}); check INFLUX_TOKEN${detail}`, 'influx_unauthorized', error.statusCode);
    }
    if (error.statusCode === 404) {
      return new InfluxWriteError(`InfluxDB has no such bucket or database (404); check INFLUX_BUCKET and INFLUX_ORG${detail}`, 'influx_not_found', error.statusCode);
    }
    if (error.statusCode === 400 || error.statusCode === 422) {
      return new InfluxWriteError(`InfluxDB rejected the points (${error.statusCode})${detail}`, 'influx_rejected', error.statusCode);
    }
    return new InfluxWriteError(`InfluxDB answered ${error.statusCode}${detail}`, 'influx_unavailable', error.statusCode);
  }
  if (error instanceof RequestTimedOutError) {
    return new InfluxWriteError('InfluxDB did not answer within INFLUX_TIMEOUT_SECONDS', 'influx_timeout');
  }
  return new InfluxWriteError(`InfluxDB unreachable: ${(error as Error).message}`, 'influx_unavailable');
}
