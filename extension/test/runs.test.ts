import { describe, expect, it } from 'vitest';
import { anyRunning, filterRuns, nextSort, sortRuns } from '../src/runs';
import { RunRow } from '../src/types';

function run(id: string, over: Partial<RunRow> = {}): RunRow {
  return {
    id,
    name: id,
    kind: 'run',
    status: 'finished',
    started_at: null,
    ended_at: null,
    duration_s: null,
    params: {},
    metrics: {},
    tags: {},
    parent_id: null,
    ...over
  };
}

const RUNS = [
  run('a', { name: 'load pydoc', kind: 'load', started_at: 30, duration_s: 2, metrics: { records: 100 } }),
  run('b', { name: 'Compare prompts', kind: 'compare', status: 'running', started_at: 50, duration_s: null, metrics: { f1: 0.4 } }),
  run('c', { name: 'curate pydoc', kind: 'curate', status: 'failed', started_at: 10, duration_s: 20, metrics: { f1: 0.2 } }),
  run('d', { name: 'index pydoc-idx', kind: 'index', started_at: null, duration_s: 5 })
];

const ids = (rs: RunRow[]) => rs.map(r => r.id).join('');

describe('sortRuns', () => {
  it('sorts times descending with missing values last', () => {
    expect(ids(sortRuns(RUNS, 'started_at', true))).toBe('bacd');
    expect(ids(sortRuns(RUNS, 'started_at', false))).toBe('cabd');
  });
  it('sorts text case-insensitively', () => {
    expect(ids(sortRuns(RUNS, 'name', false))).toBe('bcda');
  });
  it('sorts durations and metrics, missing last both ways', () => {
    expect(ids(sortRuns(RUNS, 'duration_s', false))).toBe('adcb');
    expect(ids(sortRuns(RUNS, 'duration_s', true))).toBe('cdab');
    expect(ids(sortRuns(RUNS, 'metric:f1', true))).toBe('bcad');
  });
  it('does not change its input and keeps ties in order', () => {
    const copy = RUNS.slice();
    sortRuns(RUNS, 'kind', true);
    expect(RUNS).toEqual(copy);
    const tied = [run('x', { kind: 'k' }), run('y', { kind: 'k' })];
    expect(ids(sortRuns(tied, 'kind', true))).toBe('xy');
  });
});

describe('filterRuns', () => {
  it('matches every word in name, kind or status', () => {
    expect(ids(filterRuns(RUNS, 'pydoc'))).toBe('acd');
    expect(ids(filterRuns(RUNS, 'PYDOC cur'))).toBe('c');
    expect(ids(filterRuns(RUNS, 'running'))).toBe('b');
    expect(ids(filterRuns(RUNS, ''))).toBe('abcd');
  });
  it('supports field:value words', () => {
    expect(ids(filterRuns(RUNS, 'kind:index'))).toBe('d');
    expect(ids(filterRuns(RUNS, 'status:fail'))).toBe('c');
    expect(ids(filterRuns(RUNS, 'kind:pydoc'))).toBe('');
  });
});

describe('refresh and sort state', () => {
  it('refreshes while a run is running', () => {
    expect(anyRunning(RUNS)).toBe(true);
    expect(anyRunning(RUNS.filter(r => r.status !== 'running'))).toBe(false);
  });
  it('a header click flips the same key, a new key picks a natural direction', () => {
    expect(nextSort({ key: 'name', descending: false }, 'name')).toEqual({ key: 'name', descending: true });
    expect(nextSort({ key: 'name', descending: false }, 'started_at')).toEqual({ key: 'started_at', descending: true });
    expect(nextSort({ key: 'started_at', descending: true }, 'kind')).toEqual({ key: 'kind', descending: false });
  });
});
