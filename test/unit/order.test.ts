import { describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG, catalogProblems } from '../../core/catalog.js';
import { MAX_DRINKS_PER_ORDER, createOrderValidator } from '../../core/order.js';

const validate = createOrderValidator(DEFAULT_CATALOG);

describe('order validation', () => {
  it('accepts the original format, with extra fields ignored', () => {
    const check = validate('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Americano","Espresso"],"branch":"x"}');
    expect(check).toEqual({
      ok: true,
      order: { customerAgeGrade: '1020', paymentMethod: 'Cash', orders: ['Americano', 'Espresso'], orderedAt: undefined },
    });
  });

  it('reads orderedAt as ISO-8601 or epoch ms', () => {
    const iso = validate('{"customerAgeGrade":"9999","paymentMethod":"Debit","orders":["Flat White"],"orderedAt":"2026-11-21T10:00:00+00:00"}');
    expect(iso.ok && iso.order.orderedAt).toBe(Date.UTC(2026, 10, 21, 10));
    const ms = validate('{"customerAgeGrade":"9999","paymentMethod":"Debit","orders":["Flat White"],"orderedAt":1795304356789}');
    expect(ms.ok && ms.order.orderedAt).toBe(1_795_304_356_789);
  });

  const bad: [string, string, RegExp][] = [
    ['', 'empty_line', /empty/],
    ['   ', 'empty_line', /empty/],
    ['{"customerAgeGrade":"1020"', 'invalid_json', /not valid JSON/],
    ['\u0000\u0001\ufffd\ufffdPNG', 'invalid_json', /not valid JSON/],
    ['[1,2]', 'not_an_object', /got an array/],
    ['"text"', 'not_an_object', /got a string/],
    ['null', 'not_an_object', /got null/],
    ['{"paymentMethod":"Cash","orders":["Espresso"]}', 'missing_field', /customerAgeGrade is missing/],
    ['{"customerAgeGrade":1020,"paymentMethod":"Cash","orders":["Espresso"]}', 'wrong_type', /customerAgeGrade must be a string, got a number/],
    ['{"customerAgeGrade":"1121","paymentMethod":"Cash","orders":["Espresso"]}', 'unknown_value', /customerAgeGrade "1121" is not in the catalog/],
    ['{"customerAgeGrade":"1020","orders":["Espresso"]}', 'missing_field', /paymentMethod is missing/],
    ['{"customerAgeGrade":"1020","paymentMethod":["Cash"],"orders":["Espresso"]}', 'wrong_type', /paymentMethod must be a string/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Bitcoin","orders":["Espresso"]}', 'unknown_value', /paymentMethod "Bitcoin"/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash"}', 'missing_field', /orders is missing/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":"Espresso"}', 'wrong_type', /orders must be an array/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":[]}', 'empty_orders', /at least one drink/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso",3]}', 'wrong_type', /orders\[1\] must be a string/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso","Tea"]}', 'unknown_value', /orders\[1\] "Tea" is not in the catalog/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":"yesterday"}', 'invalid_ordered_at', /orderedAt must be ISO-8601/],
    ['{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"],"orderedAt":"2026-11-21T10:00:00"}', 'invalid_ordered_at', /orderedAt/],
  ];
  it.each(bad)('rejects %j as %s', (line, reason, message) => {
    const check = validate(line);
    expect(check.ok).toBe(false);
    if (!check.ok) {
      expect(check.reason).toBe(reason);
      expect(check.message).toMatch(message);
    }
  });

  it('caps the drinks in one order', () => {
    const drinks = JSON.stringify(Array(MAX_DRINKS_PER_ORDER + 1).fill('Espresso'));
    const check = validate(`{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":${drinks}}`);
    expect(check.ok === false && check.reason).toBe('too_many_drinks');
  });

  it('uses the catalog it was built with', () => {
    const custom = createOrderValidator({ coffeeTypes: ['Tea'], paymentMethods: ['Card'], ageGrades: ['adult'] });
    expect(custom('{"customerAgeGrade":"adult","paymentMethod":"Card","orders":["Tea"]}').ok).toBe(true);
    expect(custom('{"customerAgeGrade":"1020","paymentMethod":"Cash","orders":["Espresso"]}').ok).toBe(false);
  });
});

describe('catalog', () => {
  it('has the original 9 coffees, 3 payment methods and 10 age grades', () => {
    expect(DEFAULT_CATALOG.coffeeTypes).toHaveLength(9);
    expect(DEFAULT_CATALOG.paymentMethods).toEqual(['Cash', 'Credit', 'Debit']);
    expect(DEFAULT_CATALOG.ageGrades).toHaveLength(10);
    expect(catalogProblems(DEFAULT_CATALOG)).toEqual([]);
  });

  it('reports empty and repeated values', () => {
    expect(catalogProblems({ coffeeTypes: [], paymentMethods: ['Cash', 'Cash'], ageGrades: [' '] })).toEqual([
      'coffeeTypes must be a non-empty list',
      'paymentMethods lists "Cash" twice',
      'ageGrades contains an empty value',
    ]);
  });
});
