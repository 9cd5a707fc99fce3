import { describe, expect, it } from 'vitest';
import { formatCell, formatDuration, formatJson, formatNumber, formatShortTime, formatTime, keyMetrics, MISSING } from '../src/format';

describe('formatNumber', () => {
  it('groups whole numbers', () => {
    expect(formatNumber(1024)).toBe('1,024');
    expect(formatNumber(-1234567)).toBe('-1,234,567');
    expect(formatNumber(0)).toBe('0');
  });
  it('keeps 4 significant digits', () => {
    expect(formatNumber(0.61234)).toBe('0.6123');
    expect(formatNumber(123.456)).toBe('123.5');
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(12345.6)).toBe('12,346');
  });
  it('uses exponents for tiny and huge values', () => {
    expect(formatNumber(0.000012)).toBe('1.20e-5');
    expect(formatNumber(1e16 + 0.5)).toBe('10,000,000,000,000,000');
  });
  it('shows missing values as a dash', () => {
    expect(formatNumber(null)).toBe(MISSING);
    expect(formatNumber(undefined)).toBe(MISSING);
    expect(formatNumber(NaN)).toBe('NaN');
    expect(formatNumber('x')).toBe('x');
  });
});

describe('formatTime', () => {
  it('is local YYYY-MM-DD HH:MM:SS (tests run in UTC)', () => {
    expect(formatTime(1764500000.5)).toBe('2025-11-30 10:53:20');
  });
  it('dash for missing', () => {
    expect(formatTime(null)).toBe(MISSING);
  });
});

describe('formatShortTime', () => {
  const now = 1764500000; // 2025-11-30 10:53:20 UTC
  it('drops what the reader already knows', () => {
    expect(formatShortTime(now - 60, now)).toBe('10:52:20');
    expect(formatShortTime(now - 86400 * 3, now)).toBe('11-27 10:53');
    expect(formatShortTime(now - 86400 * 400, now)).toBe('2024-10-26');
    expect(formatShortTime(null, now)).toBe(MISSING);
  });
});

describe('formatDuration', () => {
  it('covers ms, s, minutes and hours', () => {
    expect(formatDuration(0.35)).toBe('350 ms');
    expect(formatDuration(1.5)).toBe('1.50 s');
    expect(formatDuration(12.34)).toBe('12.3 s');
    expect(formatDuration(245)).toBe('4m 05s');
    expect(formatDuration(7380)).toBe('2h 03m');
  });
  it('dash for missing or negative', () => {
    expect(formatDuration(null)).toBe(MISSING);
    expect(formatDuration(-1)).toBe(MISSING);
  });
});

describe('formatJson / keyMetrics / formatCell', () => {
  it('writes objects compactly', () => {
    expect(formatJson({ f1: 0.2, model: 'smol' })).toBe('f1=0.2, model="smol"');
    expect(formatJson([1, 2])).toBe('[1,2]');
    expect(formatJson('x'.repeat(300)).length).toBe(200);
  });
  it('takes the first numeric metrics', () => {
    expect(keyMetrics({ f1: 0.21234, exact: 0.5, latency_s: 1.25, rouge: 0.1 })).toBe('f1 0.2123 · exact 0.5 · latency_s 1.25');
    expect(keyMetrics(null)).toBe('');
  });
  it('formats by column type', () => {
    expect(formatCell(1.5, 'number')).toBe('1.5');
    expect(formatCell('a\n  b', 'longtext')).toBe('a\n  b');
    expect(formatCell(null, 'text')).toBe('');
    expect(formatCell({ a: 1 }, 'json')).toBe('a=1');
  });
});
