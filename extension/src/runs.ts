/** Sorting and filtering of the runs table (pure functions). */
import { RunRow } from './types';

export const REFRESH_MS = 3000;

/** Sort keys of the runs table: a column or `metric:<name>`. */
export type RunSortKey = 'name' | 'kind' | 'status' | 'started_at' | 'duration_s' | string;

function value(run: RunRow, key: RunSortKey): string | number | null {
  if (key.startsWith('metric:')) {
    const v = run.metrics ? run.metrics[key.slice(7)] : null;
    return typeof v === 'number' && isFinite(v) ? v : null;
  }
  const v = (run as unknown as Record<string, unknown>)[key];
  if (typeof v === 'number') {
    return isFinite(v) ? v : null;
  }
  return typeof v === 'string' ? v : null;
}

/**
 * A sorted copy: numbers numerically, text case-insensitively, missing values last in both directions,
 * ties kept in their incoming order.
 */
export function sortRuns(runs: RunRow[], key: RunSortKey, descending: boolean): RunRow[] {
  const indexed = runs.map((r, i) => ({ r, i, v: value(r, key) }));
  indexed.sort((a, b) => {
    if (a.v === null || b.v === null) {
      return a.v === b.v ? a.i - b.i : a.v === null ? 1 : -1;
    }
    let c: number;
    if (typeof a.v === 'number' && typeof b.v === 'number') {
      c = a.v - b.v;
    } else {
      c = String(a.v).localeCompare(String(b.v), undefined, { sensitivity: 'base', numeric: true });
    }
    if (c === 0) {
      return a.i - b.i;
    }
    return descending ? -c : c;
  });
  return indexed.map(x => x.r);
}

/**
 * Runs whose name, kind or status (or id) contain every word of the query, case-insensitively. A word
 * `field:value` (field: name, kind, status, id) must match that field.
 */
export function filterRuns(runs: RunRow[], query: string): RunRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return runs.slice();
  }
  return runs.filter(r =>
    words.every(w => {
      const m = /^(name|kind|status|id):(.*)$/.exec(w);
      if (m) {
        const v = (r as unknown as Record<string, unknown>)[m[1]];
        return typeof v === 'string' && v.toLowerCase().includes(m[2]);
      }
      return [r.name, r.kind, r.status, r.id].some(v => typeof v === 'string' && v.toLowerCase().includes(w));
    })
  );
}

/** Whether the table should keep refreshing. */
export function anyRunning(runs: RunRow[]): boolean {
  return runs.some(r => r.status === 'running');
}

/** The next sort state after a click on a header: same key flips, a new key starts descending for
 * times, durations and metrics and ascending for text. */
export function nextSort(
  current: { key: RunSortKey; descending: boolean },
  clicked: RunSortKey
): { key: RunSortKey; descending: boolean } {
  if (current.key === clicked) {
    return { key: clicked, descending: !current.descending };
  }
  const numeric = clicked === 'started_at' || clicked === 'duration_s' || clicked.startsWith('metric:');
  return { key: clicked, descending: numeric };
}
