/** Formatting of numbers, times and durations for tables and details (pure functions). */

export const MISSING = '–';

function isNum(v: unknown): v is number {
  return typeof v === 'number' && isFinite(v);
}

/** Whole numbers with thousands separators, others to 4 significant digits; null/NaN as a dash. */
export function formatNumber(v: unknown): string {
  if (!isNum(v)) {
    return v === null || v === undefined ? MISSING : String(v);
  }
  if (Number.isInteger(v)) {
    return groupDigits(String(v));
  }
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e15)) {
    return v.toExponential(2);
  }
  if (a >= 1e4) {
    return groupDigits(String(Math.round(v)));
  }
  // 4 significant digits, trailing zeros dropped
  return String(Number(v.toPrecision(4)));
}

function groupDigits(s: string): string {
  const neg = s.startsWith('-');
  const digits = neg ? s.slice(1) : s;
  if (!/^\d+$/.test(digits)) {
    return s;
  }
  const grouped = digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return (neg ? '-' : '') + grouped;
}

function pad2(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

/** Epoch seconds as local `YYYY-MM-DD HH:MM:SS`; missing as a dash. */
export function formatTime(epochSeconds: unknown): string {
  if (!isNum(epochSeconds)) {
    return MISSING;
  }
  const d = new Date(epochSeconds * 1000);
  return (
    `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ` +
    `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`
  );
}

/** A compact time for narrow tables: `HH:MM:SS` today, `MM-DD HH:MM` this year, else `YYYY-MM-DD`. */
export function formatShortTime(epochSeconds: unknown, nowSeconds: number = Date.now() / 1000): string {
  if (!isNum(epochSeconds)) {
    return MISSING;
  }
  const full = formatTime(epochSeconds);
  const now = formatTime(nowSeconds);
  if (full.slice(0, 10) === now.slice(0, 10)) {
    return full.slice(11);
  }
  if (full.slice(0, 4) === now.slice(0, 4)) {
    return full.slice(5, 16);
  }
  return full.slice(0, 10);
}

/** A duration in seconds: `350 ms`, `12.3 s`, `4m 05s`, `2h 03m`; missing as a dash. */
export function formatDuration(seconds: unknown): string {
  if (!isNum(seconds) || seconds < 0) {
    return MISSING;
  }
  if (seconds < 1) {
    return `${Math.round(seconds * 1000)} ms`;
  }
  if (seconds < 60) {
    return `${seconds < 10 ? seconds.toFixed(2) : seconds.toFixed(1)} s`;
  }
  const total = Math.round(seconds);
  if (total < 3600) {
    return `${Math.floor(total / 60)}m ${pad2(total % 60)}s`;
  }
  const h = Math.floor(total / 3600);
  return `${h}h ${pad2(Math.floor((total % 3600) / 60))}m`;
}

/** Compact JSON for a cell (`{"f1": 0.2}` → `f1=0.2`), truncated past `max` characters. */
export function formatJson(v: unknown, max = 200): string {
  let s: string;
  if (v === null || v === undefined) {
    return MISSING;
  }
  if (typeof v === 'string') {
    s = v;
  } else if (typeof v === 'number') {
    s = formatNumber(v);
  } else if (typeof v === 'object' && !Array.isArray(v)) {
    s = Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${k}=${typeof x === 'number' ? formatNumber(x) : JSON.stringify(x)}`)
      .join(', ');
  } else {
    s = JSON.stringify(v);
  }
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}

/** The first `n` metrics of a run, `f1 0.2 · exact 0.5`. */
export function keyMetrics(metrics: Record<string, unknown> | null | undefined, n = 3): string {
  if (!metrics) {
    return '';
  }
  return Object.entries(metrics)
    .filter(([, v]) => typeof v === 'number' || v === null)
    .slice(0, n)
    .map(([k, v]) => `${k} ${formatNumber(v)}`)
    .join(' · ');
}

/** Any value as one cell's text. */
export function formatCell(v: unknown, type: string): string {
  switch (type) {
    case 'number':
      return formatNumber(v);
    case 'time':
      return formatTime(v);
    case 'json':
      return formatJson(v);
    default:
      return v === null || v === undefined ? '' : typeof v === 'string' ? v : formatJson(v, 100000);
  }
}
