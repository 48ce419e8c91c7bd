/**
 * A small typed InfluxQL builder for dashboard queries (the Grafana foundation SDK has none), and
 * the Grafana query object (a raw InfluxQL target) that carries one into a panel.
 *
 * Queries use Grafana's macros: `$timeFilter` (the dashboard's time range), `$__interval` (the
 * panel's bucket size) and `$__interval_ms` (the same in ms, for rates), plus template variables.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

export type Aggregate = 'sum' | 'last' | 'mean' | 'max' | 'min' | 'count';
export type Fill = 'null' | 'none' | 'previous' | 'linear' | number;

interface Selection {
  readonly aggregate: Aggregate;
  readonly field: string;
  readonly as: string | undefined;
  readonly perMinute: boolean;
}

/** Quotes an identifier (measurement, field, tag) the InfluxQL way. */
export function identifier(name: string): string {
  return `"${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** An immutable InfluxQL `SELECT`; every method returns a new query. */
export class InfluxQL {
  private constructor(
    private readonly measurement: string,
    private readonly selections: readonly Selection[] = [],
    private readonly filters: readonly string[] = [],
    private readonly timeBucket: string | undefined = undefined,
    private readonly tags: readonly string[] = [],
    private readonly fillValue: Fill | undefined = undefined,
  ) {}

  static from(measurement: string): InfluxQL {
    return new InfluxQL(measurement);
  }

  /**
   * Adds `aggregate(field)`. `perMinute` turns a sum per bucket into a rate per minute
   * (`* 60000 / $__interval_ms`), so the value does not change with the zoom level.
   */
  select(aggregate: Aggregate, field: string, options: { as?: string; perMinute?: boolean } = {}): InfluxQL {
    if (options.perMinute && aggregate !== 'sum' && aggregate !== 'count') throw new Error(`a per-minute rate needs sum or count, not ${aggregate}`);
    return this.with({ selections: [...this.selections, { aggregate, field, as: options.as, perMinute: options.perMinute ?? false }] });
  }

  /** Keeps the series whose `tag` is one of the values of a multi-value template variable. */
  whereTagIn(tag: string, variable: string): InfluxQL {
    if (!/^\w+$/.test(variable)) throw new Error(`not a variable name: ${variable}`);
    return this.with({ filters: [...this.filters, `${identifier(tag)} =~ /^$${variable}$/`] });
  }

  /** Buckets by the panel's interval (`$__interval`, at least the panel's minimum interval). */
  groupByTime(bucket = '$__interval'): InfluxQL {
    return this.with({ timeBucket: bucket });
  }

  /** One series per value of `tag`. */
  groupByTag(tag: string): InfluxQL {
    return this.with({ tags: [...this.tags, tag] });
  }

  /** What an empty time bucket shows. */
  fill(value: Fill): InfluxQL {
    return this.with({ fillValue: value });
  }

  toString(): string {
    if (this.selections.length === 0) throw new Error(`query on ${this.measurement} selects nothing`);
    const select = this.selections
      .map((s) => {
        const expression = `${s.aggregate}(${identifier(s.field)})${s.perMinute ? ' * 60000 / $__interval_ms' : ''}`;
        return s.as ? `${expression} AS ${identifier(s.as)}` : expression;
      })
      .join(', ');
    const where = ['$timeFilter', ...this.filters].join(' AND ');
    const groups = [...(this.timeBucket ? [`time(${this.timeBucket})`] : []), ...this.tags.map(identifier)];
    const groupBy = groups.length > 0 ? ` GROUP BY ${groups.join(', ')}` : '';
    const fill = this.fillValue !== undefined ? ` fill(${this.fillValue})` : '';
    return `SELECT ${select} FROM ${identifier(this.measurement)} WHERE ${where}${groupBy}${fill}`;
  }

  private with(change: {
    selections?: readonly Selection[];
    filters?: readonly string[];
    timeBucket?: string;
    tags?: readonly string[];
    fillValue?: Fill;
  }): InfluxQL {
    return new InfluxQL(
      this.measurement,
      change.selections ?? this.selections,
      change.filters ?? this.filters,
      change.timeBucket ?? this.timeBucket,
      change.tags ?? this.tags,
      change.fillValue ?? this.fillValue,
    );
  }
}

/** A raw InfluxQL query as Grafana's InfluxDB data source stores it in a panel. */
export interface InfluxQLDataquery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: 'time_series' | 'table';
  /** Series name; `$tag_<tag>` names a series by its tag value. */
  alias?: string;
}

/** Builds a panel target from an {@link InfluxQL} query. */
export class InfluxQLTarget implements cog.Builder<cog.Dataquery> {
  private refIdValue = 'A';
  private aliasValue: string | undefined;
  private format: InfluxQLDataquery['resultFormat'] = 'time_series';

  constructor(
    private readonly datasource: common.DataSourceRef,
    private readonly query: InfluxQL,
  ) {}

  refId(refId: string): this {
    this.refIdValue = refId;
    return this;
  }

  /** Names each series, e.g. `$tag_coffee`. */
  alias(alias: string): this {
    this.aliasValue = alias;
    return this;
  }

  resultFormat(format: InfluxQLDataquery['resultFormat']): this {
    this.format = format;
    return this;
  }

  build(): InfluxQLDataquery {
    return {
      refId: this.refIdValue,
      datasource: this.datasource,
      query: this.query.toString(),
      rawQuery: true,
      resultFormat: this.format,
      ...(this.aliasValue ? { alias: this.aliasValue } : {}),
      _implementsDataqueryVariant() {},
    };
  }
}
