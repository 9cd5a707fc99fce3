/** Tolerant readers of payloads (pure): older producers name search hits `results`. */
import { SearchHit, SearchPayload } from './types';

export function normalizeSearch(s: SearchPayload & { results?: SearchHit[] }): SearchPayload {
  const hits = Array.isArray(s.hits) ? s.hits : Array.isArray(s.results) ? s.results : [];
  return { ...s, hits, note: s.note || '' };
}
