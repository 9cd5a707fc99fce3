/** The JSON shapes of extension/CONTRACT.md (REST answers and MIME payloads). */

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export interface RunRow {
  id: string;
  name: string;
  kind: string;
  status: string;
  started_at: number | null;
  ended_at: number | null;
  duration_s: number | null;
  params: Record<string, Json>;
  metrics: Record<string, number | null>;
  tags: Record<string, Json>;
  parent_id: string | null;
}

export interface RunsAnswer {
  total: number;
  offset: number;
  limit: number;
  runs: RunRow[];
}

export type HistoryPoint = [number, number | null, number | null];

export interface RunDetail extends RunRow {
  history: Record<string, HistoryPoint[]>;
  artifacts: Record<string, string>;
  environment: Record<string, Json>;
  records: Record<string, Json>;
  error: string | null;
  notebook: string | null;
  comparison?: boolean;
}

export interface DatasetRow {
  name: string;
  current: string | null;
  versions: number;
  records: number | null;
  created_at: number | null;
}

export interface DatasetVersion {
  version: number | string;
  ref: string;
  records: number | null;
  created_at: number | null;
  parent: string | null;
  hash?: string | null;
  steps: { step: string; in: number | null; out: number | null }[];
}

export interface DatasetDetail {
  name: string;
  current: string | null;
  versions: DatasetVersion[];
}

export interface TableColumn {
  name: string;
  type: 'text' | 'longtext' | 'number' | 'time' | 'json' | string;
}

export interface TablePayload {
  version: number;
  title?: string;
  columns: TableColumn[];
  rows: Record<string, Json>[];
  total?: number;
}

export interface SearchHit {
  rank: number;
  id: string;
  chunk?: number;
  score: number | null;
  text: string;
  metadata?: Record<string, Json>;
}

export interface SearchPayload {
  version: number;
  index: string;
  query: string;
  where: string | null;
  k: number;
  elapsed_ms?: number | null;
  note?: string;
  terms?: string[];
  method?: string | null;
  /** the explore widget's last error (a bad filter), shown instead of stale hits */
  error?: string | null;
  hits: SearchHit[];
}

export interface MetricSummary {
  mean: number | null;
  ci?: [number | null, number | null];
}

export interface ComparisonPayload {
  version?: number;
  run_id?: string;
  eval_set?: string;
  n_examples?: number;
  baseline?: string;
  primary_metric: string;
  best?: string | null;
  metrics: string[];
  leaderboard: ({ variant: string } & Record<string, MetricSummary | string>)[];
  paired?: Record<string, Record<string, { wins: number; ties: number; losses: number; p_bootstrap?: number }>>;
  warnings?: string[];
  /** how the comparison was measured: evidence source, gaps */
  notes?: string[];
  grounding?: GroundingPayload;
  examples?: Record<string, Json>[];
  hint?: string;
  /** the comparison widget's snapshot: the example on screen */
  view?: {
    position: number;
    count: number;
    order?: string;
    example?: {
      example?: string;
      question?: string;
      reference?: string;
      answers?: { variant: string; output: string; score?: number | null }[];
    } | null;
  };
}

export interface GroundingTest {
  variant: string;
  against: string;
  role: string;
  diff: number | null;
  ci: (number | null)[];
  p: number | null;
  n: number;
  verdict: string;
}

export interface GroundingRag {
  variant: string;
  twin: string | null;
  metric: string;
  n: number;
  hits: number;
  misses: number;
  gap: number | null;
  from_misses: number | null;
  from_hits: number | null;
  answers: number;
  citing: number;
  bad_citations: number;
  citing_on_hits: number;
  citing_gold: number;
  abstain_hits: number;
  abstain_misses: number;
}

/** Comparison.grounding().to_dict() */
export interface GroundingPayload {
  baseline: string;
  metric: string;
  alpha?: number;
  hallucination: Record<string, { mean: number | null; ci: (number | null)[] }>;
  tests: GroundingTest[];
  rag: GroundingRag[];
  findings: string[];
  notes?: string[];
}

export interface CurationStep {
  step: string;
  params?: Record<string, Json>;
  in: number | null;
  out: number | null;
  removed?: number | Record<string, number> | null;
  flagged?: number | null;
}

export interface CurationPayload {
  version?: number;
  source: string;
  result: string;
  steps: CurationStep[];
  removed_examples?: Record<string, Json>[];
}

export interface ReviewPayload {
  version?: number;
  dataset: string;
  committed: string | null;
  heading?: string;
  status: string;
  summary: {
    total: number;
    accepted: number;
    rejected: number;
    edited: number;
    pending: number;
    kept?: number;
    removed_by_curation?: number;
    rejected_by_review?: number;
    flagged?: number;
  };
  items: {
    id: string;
    text: string;
    decision: 'accepted' | 'rejected' | 'edited' | null;
    status?: string;
    truncated?: boolean;
    edited_text?: string | null;
  }[];
  filter?: string;
  page?: number;
  pages?: number;
  matching?: number;
}

/** One side of a monitor report: a time window, a run's calls, a dataset or a list of texts. */
export interface MonitorSide {
  kind: string;
  label: string;
  start: number | null;
  end: number | null;
  run: string | null;
  volume: number | null;
  models: string[];
  sampled: number | null;
  without_text: number | null;
}

/** Operational figures of one side (every number may be null). */
export type MonitorFigures = Record<string, number | null>;

export interface DriftExample {
  index?: number;
  text: string;
  distance: number | null;
  nearest: string;
}

export interface DriftEntry {
  kind: string;
  status: string;
  method: string | null;
  statistic: number | null;
  p_value: number | null;
  alpha: number | null;
  flagged: boolean;
  verdict: string;
  n_current: number | null;
  n_reference: number | null;
  reason: string | null;
  null: { low: number | null; high: number | null; count: number | null }[];
  examples: DriftExample[];
}

export interface TimelinePoint {
  t: number | null;
  calls: number | null;
  latency_p50: number | null;
}

/** `application/vnd.llmops.monitor+json`, `GET monitor?model=`, `POST monitor`. */
export interface MonitorPayload {
  version?: number;
  model: string | null;
  status: string;
  verdict: string;
  flagged: boolean;
  current_side: MonitorSide;
  reference_side: MonitorSide;
  current: MonitorFigures;
  reference: MonitorFigures;
  drift: Record<string, DriftEntry>;
  notes: string[];
  timeline: TimelinePoint[];
  created_at: number | null;
  elapsed_s: number | null;
}

/** A row of `GET monitor`. */
export interface MonitoredModel {
  model: string;
  calls: number | null;
  last_call: number | null;
  errors: number | null;
  verdict: string | null;
  prompt_p: number | null;
  output_p: number | null;
  checked_at: number | null;
}

/** A row of `GET traces` (prompt and output clipped). */
export interface TraceRow {
  id: number | string;
  ts: number | null;
  source: string;
  model: string;
  prompt: string | null;
  output: string | null;
  context: [string | number, number | null][] | null;
  latency_s: number | null;
  tokens_in: number | null;
  tokens_out: number | null;
  error: string | null;
  run_id: string | null;
  tags: Record<string, Json>;
  text_mode: string;
}

/** `GET traces/<id>`: one logged call in full. */
export interface TracePayload extends Omit<TraceRow, 'context'> {
  version?: number;
  as_repr: string[];
  cached: boolean;
  passages: { id: string | number; score: number | null; text: string | null }[];
  note: string;
}
