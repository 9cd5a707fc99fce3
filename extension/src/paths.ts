/** URL paths of REST routes (pure). */

/** One path segment, percent-encoded; `.` and `..` are encoded too so the browser never resolves them. */
export function segment(s: string): string {
  const e = encodeURIComponent(s);
  return e === '.' ? '%2E' : e === '..' ? '%2E%2E' : e;
}

/** `/runs/<id>?k=v`: encoded segments and a query string of the non-empty values. */
export function apiPath(segments: string[], query?: Record<string, string | number | null | undefined>): string {
  const path = segments.map(s => '/' + segment(s)).join('');
  const q = Object.entries(query || {})
    .filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  return q ? `${path}?${q}` : path;
}
