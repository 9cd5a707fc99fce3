import { describe, expect, it } from 'vitest';
import { apiPath, segment } from '../src/paths';
import { normalizeSearch } from '../src/normalize';

describe('REST paths', () => {
  it('encodes every segment, dots included', () => {
    expect(apiPath(['runs', '../../etc/passwd'])).toBe('/runs/..%2F..%2Fetc%2Fpasswd');
    expect(segment('..')).toBe('%2E%2E');
    expect(segment('.')).toBe('%2E');
    expect(apiPath(['datasets', 'a b?#'])).toBe('/datasets/a%20b%3F%23');
  });
  it('adds the non-empty query values', () => {
    expect(apiPath(['indexes', 'idx', 'search'], { q: "try & 'except'", k: 5, where: null, x: '' })).toBe(
      "/indexes/idx/search?q=try%20%26%20'except'&k=5"
    );
  });
});

describe('normalizeSearch', () => {
  it('reads hits or results', () => {
    const hit = { rank: 1, id: 'a', score: 1, text: 't' };
    expect(normalizeSearch({ hits: [hit] } as never).hits).toEqual([hit]);
    expect(normalizeSearch({ results: [hit] } as never).hits).toEqual([hit]);
    expect(normalizeSearch({} as never).hits).toEqual([]);
  });
});
