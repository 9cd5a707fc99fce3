"use strict";(self.rspackChunkllmops_nb=self.rspackChunkllmops_nb||[]).push([[232],{475(o,l,e){var r=e(601),t=e.n(r),a=e(314),p=e.n(a),n=e(140),s=e(272),i=p()(t());i.i(n.A),i.i(s.A),i.push([o.id,`/*
 * llmops-nb: every colour is a JupyterLab theme variable (--jp-*), so the panel and the outputs read well
 * in the light and dark themes. Output views sit inside .jp-RenderedHTMLCommon in some hosts, whose
 * \`td {text-align: right}\` outranks a single class; hence the doubled selectors below.
 */

.llmops-panel {
  background: var(--jp-layout-color1);
  color: var(--jp-ui-font-color1);
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
  display: flex;
  flex-direction: column;
  overflow: hidden;
}

/* Lumino's layouts honour a widget's CSS min-width: the side area opens wide enough for the runs table
   (JupyterLab's \`#jp-left-stack > .lm-Widget {min-width: var(--jp-sidebar-min-width)}\` needs two ids to outrank) */
#jp-left-stack > #llmops-panel,
#jp-right-stack > #llmops-panel {
  min-width: 360px;
}

.llmops-tabs {
  display: flex;
  flex: 0 0 auto;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  background: var(--jp-layout-color2);
}

.llmops-tab {
  flex: 1 1 0;
  background: transparent;
  color: var(--jp-ui-font-color1);
  border: none;
  border-bottom: 2px solid transparent;
  padding: 6px 8px;
  font-size: var(--jp-ui-font-size1);
  font-family: var(--jp-ui-font-family);
  cursor: pointer;
}

.llmops-tab:hover {
  background: var(--jp-layout-color3);
}

.llmops-tab.llmops-tab-active {
  border-bottom-color: var(--jp-brand-color1);
  font-weight: 600;
  background: var(--jp-layout-color1);
}

.llmops-tab:focus-visible,
.llmops-button:focus-visible,
.llmops-run-row:focus-visible,
.llmops-dataset-row:focus-visible,
.llmops-index-row:focus-visible,
.llmops-sort-button:focus-visible {
  outline: 2px solid var(--jp-brand-color1);
  outline-offset: -2px;
}

.llmops-tabpanel {
  flex: 1 1 auto;
  overflow: auto;
  padding: 6px 8px 12px;
}

.llmops-toolbar {
  display: flex;
  gap: 6px;
  align-items: center;
  margin-bottom: 4px;
}

.llmops-toolbar input[type='search'] {
  flex: 1 1 auto;
  min-width: 0;
}

.llmops-panel input {
  background: var(--jp-input-background, var(--jp-layout-color1));
  color: var(--jp-ui-font-color1);
  border: var(--jp-border-width) solid var(--jp-border-color1);
  padding: 3px 6px;
  font-size: var(--jp-ui-font-size1);
  font-family: var(--jp-ui-font-family);
  box-sizing: border-box;
}

.llmops-button {
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: 2px;
  padding: 3px 8px;
  cursor: pointer;
  font-size: var(--jp-ui-font-size1);
  font-family: var(--jp-ui-font-family);
}

.llmops-button:hover {
  background: var(--jp-layout-color3);
}

.llmops-open-notebook {
  margin: 6px 0;
  max-width: 100%;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
}

.llmops-open-notebook-note {
  margin: 0 0 6px;
  overflow-wrap: anywhere;
}

.llmops-open-notebook-note:empty {
  display: none;
}

.llmops-muted {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0, 11px);
}

.llmops-title {
  font-weight: 600;
  color: var(--jp-ui-font-color0);
  margin: 2px 0 4px;
  overflow-wrap: anywhere;
}

.llmops-error {
  color: var(--jp-error-color1);
  background: var(--jp-layout-color2);
  border-left: 3px solid var(--jp-error-color1);
  padding: 3px 6px;
  margin: 4px 0;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

/* the warning colour marks the border (and icon) only: as text colour it reads at contrast ~3.3 in both themes */
.llmops-warning {
  color: var(--jp-ui-font-color1);
  background: var(--jp-layout-color2);
  border-left: 3px solid var(--jp-warn-color1);
  padding: 3px 6px;
  margin: 4px 0;
}

.llmops-section {
  margin-top: 10px;
}

.llmops-section-title {
  font-size: var(--jp-ui-font-size1);
  font-weight: 600;
  margin: 0 0 4px;
  color: var(--jp-ui-font-color1);
}

.llmops-badge {
  display: inline-block;
  margin-left: 6px;
  padding: 0 5px;
  border-radius: 8px;
  font-size: var(--jp-ui-font-size0, 11px);
  border: 1px solid var(--jp-border-color1);
  color: var(--jp-ui-font-color2);
}

.llmops-badge-best {
  border-color: var(--jp-success-color1);
  color: var(--jp-success-color1);
  font-weight: 600;
}

/* ---- tables (panel and outputs) ---- */
.llmops-table,
.jp-RenderedHTMLCommon .llmops-mime table.llmops-table {
  border-collapse: collapse;
  width: 100%;
  font-size: var(--jp-ui-font-size1);
  color: var(--jp-ui-font-color1);
  table-layout: auto;
  margin: 2px 0;
}

.llmops-table th,
.llmops-table td,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table th,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table td {
  padding: 3px 6px;
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  vertical-align: top;
  text-align: left;
  color: var(--jp-ui-font-color1);
  background: transparent;
}

.llmops-table th,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table th {
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-weight: 600;
  position: sticky;
  top: 0;
}

.llmops-table td.llmops-text,
.llmops-table th.llmops-text,
.jp-RenderedHTMLCommon .llmops-table td.llmops-text,
.jp-RenderedHTMLCommon .llmops-table th.llmops-text {
  text-align: left;
  white-space: nowrap;
  max-width: 28em;
  overflow: hidden;
  text-overflow: ellipsis;
}

.llmops-longtext,
.llmops-table td.llmops-longtext,
.jp-RenderedHTMLCommon .llmops-table td.llmops-longtext,
.jp-RenderedHTMLCommon .llmops-mime .llmops-longtext {
  text-align: left;
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
}

.llmops-table td.llmops-num,
.llmops-table th.llmops-num,
.llmops-table td.llmops-time,
.llmops-table th.llmops-time,
.jp-RenderedHTMLCommon .llmops-table td.llmops-num,
.jp-RenderedHTMLCommon .llmops-table th.llmops-num,
.jp-RenderedHTMLCommon .llmops-table td.llmops-time,
.jp-RenderedHTMLCommon .llmops-table th.llmops-time {
  text-align: right;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}

.llmops-table td.llmops-json,
.jp-RenderedHTMLCommon .llmops-table td.llmops-json {
  text-align: left;
  font-family: var(--jp-code-font-family);
  font-size: var(--jp-code-font-size);
  white-space: pre-wrap;
  overflow-wrap: anywhere;
}

.llmops-runs-table .llmops-run-row,
.llmops-datasets-table .llmops-dataset-row,
.llmops-indexes-table .llmops-index-row {
  cursor: pointer;
}

.llmops-runs-table tbody tr:hover,
.llmops-datasets-table tbody tr:hover,
.llmops-indexes-table tbody tr:hover {
  background: var(--jp-layout-color2);
}

.llmops-index-row[aria-selected='true'] {
  background: var(--jp-layout-color3);
  font-weight: 600;
}

.llmops-sortable {
  cursor: pointer;
  user-select: none;
}

.llmops-sort-button {
  background: none;
  border: none;
  padding: 0;
  color: inherit;
  font: inherit;
  cursor: pointer;
}

.llmops-status-running {
  color: var(--jp-brand-color1);
  font-weight: 600;
}

span.llmops-status-failed,
span.llmops-status-crashed {
  color: var(--jp-error-color1);
  font-weight: 600;
}

span.llmops-status-finished {
  color: var(--jp-success-color1);
}

.llmops-kv td:first-child {
  width: 35%;
}

/* ---- charts ---- */
.llmops-chart {
  margin: 4px 0 8px;
}

.llmops-linechart {
  max-width: 100%;
  height: auto;
  display: block;
}

.llmops-linechart .llmops-axis {
  stroke: var(--jp-border-color1);
  stroke-width: 1;
}

.llmops-linechart .llmops-axis-label {
  fill: var(--jp-ui-font-color2);
  font-size: 10px;
  font-family: var(--jp-ui-font-family);
}

.llmops-linechart .llmops-line {
  stroke: var(--jp-brand-color1);
  stroke-width: 1.5;
}

.llmops-linechart .llmops-dot {
  fill: var(--jp-brand-color1);
}

.llmops-bars,
.llmops-funnel {
  /* one grid for all rows, so every bar's track has the same length */
  display: grid;
  grid-template-columns: minmax(4em, max-content) minmax(60px, 1fr) max-content;
  column-gap: 8px;
  row-gap: 3px;
  align-items: center;
  margin: 6px 0;
  max-width: 640px;
}

.llmops-bar-row,
.llmops-funnel-row {
  display: contents;
}

.llmops-bars-caption {
  grid-column: 1 / -1;
}

.llmops-bar-label {
  max-width: 16em;
  overflow: hidden;
  text-overflow: ellipsis;
  white-space: nowrap;
  text-align: left;
  color: var(--jp-ui-font-color1);
}

.llmops-bar-track {
  display: block;
  height: 12px;
  background: var(--jp-layout-color2);
  border: var(--jp-border-width) solid var(--jp-border-color2);
}

.llmops-bar {
  display: block;
  height: 100%;
  background: var(--jp-brand-color1);
}

.llmops-bar.llmops-bar-muted {
  background: var(--jp-layout-color4, var(--jp-border-color1));
}

.llmops-bar.llmops-bar-best {
  background: var(--jp-success-color1);
}

.llmops-bar-value,
.llmops-funnel-counts {
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
  color: var(--jp-ui-font-color1);
  font-size: var(--jp-ui-font-size0, 11px);
}

/* ---- search hits ---- */
.llmops-search {
  margin-top: 10px;
  display: flex;
  flex-direction: column;
  gap: 4px;
}

.llmops-search-row {
  display: flex;
  gap: 4px;
}

.llmops-search-q {
  flex: 1 1 auto;
  min-width: 0;
}

.llmops-search-k {
  width: 4.5em;
}

.llmops-hits {
  list-style: none;
  padding: 0;
  margin: 4px 0;
}

.llmops-hit {
  border-bottom: var(--jp-border-width) solid var(--jp-border-color2);
  padding: 4px 0;
}

.llmops-hit-head {
  display: flex;
  gap: 8px;
  align-items: baseline;
  flex-wrap: wrap;
}

.llmops-hit-rank {
  color: var(--jp-ui-font-color2);
}

.llmops-hit-score {
  font-variant-numeric: tabular-nums;
  color: var(--jp-brand-color1);
}

.llmops-hit-id {
  font-weight: 600;
  overflow-wrap: anywhere;
}

.llmops-hit-text {
  margin-top: 2px;
  color: var(--jp-content-font-color1, var(--jp-ui-font-color1));
  max-height: 16em;
  overflow: auto;
}

/* ---- datasets ---- */
.llmops-lineage {
  padding-left: 1.2em;
  margin: 6px 0;
}

.llmops-dataset-version {
  margin: 0 0 8px;
}

.llmops-dataset-version.llmops-current .llmops-version-ref {
  font-weight: 600;
}

.llmops-lineage-edge {
  color: var(--jp-ui-font-color2);
  font-size: var(--jp-ui-font-size0, 11px);
}

.llmops-steps {
  margin: 2px 0 0;
  padding-left: 1.2em;
  font-variant-numeric: tabular-nums;
}

.llmops-step-name {
  font-family: var(--jp-code-font-family);
}

/* ---- review ---- */
.llmops-review-summary {
  display: flex;
  flex-wrap: wrap;
  gap: 6px;
  margin: 4px 0;
}

.llmops-chip {
  border: var(--jp-border-width) solid var(--jp-border-color1);
  border-radius: 10px;
  padding: 0 8px;
  font-variant-numeric: tabular-nums;
}

.llmops-decision-accepted {
  color: var(--jp-success-color1);
}

.llmops-decision-rejected {
  color: var(--jp-error-color1);
}

.llmops-decision-edited {
  color: var(--jp-brand-color1);
}

.llmops-table td.llmops-decision-accepted,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table td.llmops-decision-accepted {
  color: var(--jp-success-color1);
  font-weight: 600;
}

.llmops-table td.llmops-decision-rejected,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table td.llmops-decision-rejected {
  color: var(--jp-error-color1);
  font-weight: 600;
}

.llmops-table td.llmops-decision-edited,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table td.llmops-decision-edited {
  color: var(--jp-brand-color1);
  font-weight: 600;
}

/* ---- output renderers ---- */
.llmops-renderer {
  color: var(--jp-content-font-color1, var(--jp-ui-font-color1));
  font-family: var(--jp-ui-font-family);
  font-size: var(--jp-ui-font-size1);
  overflow-x: auto;
  padding: 2px 0;
}

.llmops-mime {
  max-width: 1100px;
}

.llmops-hidden {
  display: none !important;
}

.llmops-saved-note {
  margin-top: 4px;
  font-style: italic;
}

/* ---- the comparison widget's example ---- */
.llmops-example {
  margin-top: 8px;
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
  padding-top: 4px;
}

.llmops-answer {
  margin: 4px 0;
  padding-left: 8px;
  border-left: 2px solid var(--jp-border-color1);
}

.llmops-answer-head {
  font-weight: 600;
}

/* comparison grounding: hallucination tests, the RAG breakdown, findings in words */
.llmops-grounding {
  margin-top: 8px;
  border-top: var(--jp-border-width) solid var(--jp-border-color2);
  padding-top: 4px;
}

.llmops-grounding .llmops-table {
  margin-bottom: 6px;
}

.llmops-findings {
  margin: 4px 0;
  padding-left: 18px;
  color: var(--jp-ui-font-color1);
  line-height: 1.4;
}
`,""]),e.d(l,{},{A:i})},140(o,l,e){var r=e(601),t=e.n(r),a=e(314),p=(e.n(a))()(t());p.push([o.id,`/*
 * The HTML fallbacks Python puts in every llmops bundle carry their own \\3c style>; JupyterLab's sanitizer strips
 * it from untrusted outputs (a notebook opened from elsewhere) but keeps the class attributes. These rules give
 * those classes the same look from the extension's stylesheet. JupyterLab's
 * \`:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td {text-align: right}\` (0,2,1) is outranked by
 * \`.jp-RenderedHTMLCommon table.llmops-t td\` (0,2,2).
 */
table.llmops-t,
.jp-RenderedHTMLCommon table.llmops-t {
  border-collapse: collapse;
  font-size: 12px;
  margin: 0 0 6px;
  table-layout: auto;
}

table.llmops-t th,
table.llmops-t td,
.jp-RenderedHTMLCommon table.llmops-t th,
.jp-RenderedHTMLCommon table.llmops-t td {
  padding: 2px 8px;
  border: none;
  border-bottom: 1px solid var(--jp-border-color2);
  text-align: left;
  vertical-align: top;
  white-space: pre-wrap;
  max-width: 60em;
  line-height: 1.35;
  color: var(--jp-content-font-color1);
}

table.llmops-t th,
.jp-RenderedHTMLCommon table.llmops-t th {
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
  font-weight: 600;
  white-space: nowrap;
}

table.llmops-t .llmops-num,
.jp-RenderedHTMLCommon table.llmops-t .llmops-num {
  text-align: right;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}

table.llmops-t .llmops-json,
.jp-RenderedHTMLCommon table.llmops-t .llmops-json {
  font-family: var(--jp-code-font-family);
  font-size: 11px;
}

.jp-RenderedHTMLCommon .llmops-cap {
  font-weight: 600;
  margin: 4px 0;
}

.jp-RenderedHTMLCommon .llmops-muted {
  color: var(--jp-ui-font-color2);
}

.jp-RenderedHTMLCommon .llmops-warn {
  color: var(--jp-warn-color0);
  margin: 2px 0;
}

.jp-RenderedHTMLCommon .llmops-hint {
  color: var(--jp-ui-font-color2);
  font-family: var(--jp-code-font-family);
  font-size: 11px;
  margin: 2px 0;
}

.jp-RenderedHTMLCommon mark.llmops-hl {
  background: var(--jp-search-selected-match-background-color);
  color: var(--jp-search-selected-match-color);
}

/* widget snapshots (llmops_nb/widgets/snapshot.py) */
.jp-RenderedHTMLCommon .llmops-snap {
  font-family: var(--jp-ui-font-family);
  color: var(--jp-ui-font-color1);
  background: var(--jp-layout-color1);
  border: 1px solid var(--jp-border-color2);
  border-radius: 4px;
  padding: 6px 8px;
  max-width: 1100px;
}

.jp-RenderedHTMLCommon .llmops-snap .ls-title {
  font-weight: 600;
  margin: 0 0 4px;
}

.jp-RenderedHTMLCommon .llmops-snap .ls-muted {
  color: var(--jp-ui-font-color2);
  font-size: 12px;
}

.jp-RenderedHTMLCommon .llmops-snap .ls-error {
  color: var(--jp-error-color1);
  font-size: 12px;
}

.jp-RenderedHTMLCommon .llmops-snap table.ls-t {
  border-collapse: collapse;
  width: 100%;
}

.jp-RenderedHTMLCommon .llmops-snap table.ls-t th,
.jp-RenderedHTMLCommon .llmops-snap table.ls-t td {
  text-align: left;
  vertical-align: top;
  padding: 3px 8px;
  color: var(--jp-content-font-color1);
  border-bottom: 1px solid var(--jp-border-color2);
}

.jp-RenderedHTMLCommon .llmops-snap table.ls-t th {
  background: var(--jp-layout-color2);
  font-weight: 600;
}

.jp-RenderedHTMLCommon .llmops-snap table.ls-t td.ls-num {
  text-align: right;
  font-variant-numeric: tabular-nums;
  white-space: nowrap;
}

.jp-RenderedHTMLCommon .llmops-snap .ls-pre {
  white-space: pre-wrap;
  word-break: break-word;
  text-align: left;
  font-family: var(--jp-code-font-family);
  font-size: 12px;
}
`,""]),e.d(l,{},{A:p})},272(o,l,e){var r=e(601),t=e.n(r),a=e(314),p=(e.n(a))()(t());p.push([o.id,`/*
 * The monitor report (output and panel), the Monitor tab and the trace view. Theme variables only; the warning
 * colour marks borders, icons and chart strokes, never text (as text it reads at contrast ~3.3).
 */

.llmops-grow {
  flex: 1 1 auto;
  min-width: 0;
}

.llmops-toolbar .llmops-title {
  margin: 0;
}

/* ---- verdict ---- */
.llmops-monitor-verdict {
  margin: 4px 0;
  padding: 3px 6px;
  border-left: 3px solid var(--jp-border-color1);
  background: var(--jp-layout-color2);
  color: var(--jp-ui-font-color1);
}

.llmops-monitor-verdict.llmops-verdict-no-drift {
  border-left-color: var(--jp-success-color1);
}

.llmops-monitor-verdict.llmops-flagged {
  border-left: 4px solid var(--jp-warn-color1);
  outline: 1px solid var(--jp-warn-color2);
  outline-offset: -1px;
  color: var(--jp-ui-font-color0);
}

.llmops-warn-icon {
  color: var(--jp-warn-color0);
}

.llmops-mime-monitor .llmops-section-title,
.llmops-monitor-detail .llmops-section-title {
  margin-top: 10px;
}

.llmops-table td.llmops-wrap,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table td.llmops-wrap {
  text-align: left;
  white-space: normal;
  overflow-wrap: anywhere;
}

.llmops-table tr.llmops-drift-row.llmops-flagged td:first-child,
.jp-RenderedHTMLCommon .llmops-mime .llmops-table tr.llmops-drift-row.llmops-flagged td:first-child {
  box-shadow: inset 3px 0 0 var(--jp-warn-color1);
  font-weight: 600;
}

.llmops-mime-monitor .llmops-monitor-figures,
.llmops-mime-monitor .llmops-monitor-drift {
  max-width: 720px;
}

/* ---- charts ---- */
.llmops-monitor-charts {
  display: flex;
  flex-wrap: wrap;
  gap: 4px 16px;
  margin-top: 8px;
}

.llmops-monitor-charts .llmops-chart {
  margin: 0;
  max-width: 100%;
}

.llmops-histogram,
.llmops-timeline {
  display: block;
  max-width: 100%;
  height: auto;
}

.llmops-histogram .llmops-axis,
.llmops-timeline .llmops-axis {
  stroke: var(--jp-border-color1);
  stroke-width: 1;
}

.llmops-histogram .llmops-axis-label,
.llmops-timeline .llmops-axis-label {
  fill: var(--jp-ui-font-color2);
  font-size: 10px;
  font-family: var(--jp-ui-font-family);
}

.llmops-hist-bar,
.llmops-timeline-bar {
  fill: var(--jp-brand-color2);
}

.llmops-observed {
  stroke: var(--jp-ui-font-color1);
  stroke-width: 2;
}

.llmops-observed.llmops-flagged {
  stroke: var(--jp-warn-color1);
}

.llmops-latency-line {
  stroke: var(--jp-accent-color1);
  stroke-width: 1.5;
}

.llmops-latency-dot {
  fill: var(--jp-accent-color1);
}

.llmops-observed-line {
  max-width: 320px;
}

.llmops-key {
  display: inline-block;
  width: 10px;
  height: 10px;
  vertical-align: middle;
}

.llmops-key-bar {
  background: var(--jp-brand-color2);
}

.llmops-key-line {
  height: 2px;
  background: var(--jp-accent-color1);
}

/* ---- the Monitor tab ---- */
.llmops-monitor-table .llmops-monitor-row,
.llmops-traces-table .llmops-trace-row {
  cursor: pointer;
}

.llmops-monitor-table tbody tr:hover,
.llmops-traces-table tbody tr:hover {
  background: var(--jp-layout-color2);
}

.llmops-monitor-row:focus-visible,
.llmops-trace-row:focus-visible {
  outline: 2px solid var(--jp-brand-color1);
  outline-offset: -2px;
}

.llmops-verdict-chip {
  display: inline-block;
  padding: 0 6px;
  border-radius: 8px;
  border: 1px solid var(--jp-border-color1);
  color: var(--jp-ui-font-color1);
  white-space: nowrap;
}

.llmops-verdict-chip.llmops-verdict-drift {
  border: 2px solid var(--jp-warn-color1);
  font-weight: 600;
}

.llmops-verdict-chip.llmops-verdict-no-drift {
  border-color: var(--jp-success-color1);
}

.llmops-verdict-chip.llmops-verdict-unchecked {
  color: var(--jp-ui-font-color2);
  border-style: dashed;
}

.llmops-pvalues span {
  white-space: nowrap;
  margin-right: 6px;
}

.llmops-pvalues:empty {
  display: none;
}

.llmops-monitor-model {
  overflow: hidden;
  text-overflow: ellipsis;
}

.llmops-table td.llmops-num.llmops-has-errors {
  color: var(--jp-error-color1);
  font-weight: 600;
}

.llmops-monitor-detail.llmops-busy .llmops-monitor-report {
  opacity: 0.6;
}

.llmops-monitor-check-note:empty {
  display: none;
}

.llmops-monitor-check-note {
  margin: 0 0 4px;
  overflow-wrap: anywhere;
}

.llmops-traces-pager .llmops-button:disabled,
.llmops-monitor-check:disabled {
  opacity: 0.5;
  cursor: default;
}

.llmops-table.llmops-traces-table td.llmops-trace-prompt-cell {
  max-width: 0;
  width: 100%;
}

.llmops-trace-error-mark {
  color: var(--jp-error-color1);
  font-weight: 600;
}

/* ---- the trace view ---- */
.llmops-trace .llmops-trace-text,
.llmops-trace .llmops-passage-text {
  background: var(--jp-layout-color2);
  color: var(--jp-content-font-color1, var(--jp-ui-font-color1));
  padding: 4px 6px;
  max-height: 24em;
  overflow: auto;
}

.llmops-passages {
  list-style: decimal;
  padding-left: 1.6em;
  margin: 4px 0;
}

.llmops-passage {
  margin: 0 0 6px;
}

.llmops-trace-facts td.llmops-text {
  width: 35%;
}

/* the models table fits the side panel: a long model name is cut (its row's title has it whole) */
.llmops-table.llmops-monitor-table td.llmops-text {
  max-width: 11em;
}
`,""]),e.d(l,{},{A:p})},314(o){o.exports=function(o){var l=[];return l.toString=function(){return this.map(function(l){var e="",r=void 0!==l[5];return l[4]&&(e+="@supports (".concat(l[4],") {")),l[2]&&(e+="@media ".concat(l[2]," {")),r&&(e+="@layer".concat(l[5].length>0?" ".concat(l[5]):""," {")),e+=o(l),r&&(e+="}"),l[2]&&(e+="}"),l[4]&&(e+="}"),e}).join("")},l.i=function(o,e,r,t,a){"string"==typeof o&&(o=[[null,o,void 0]]);var p={};if(r)for(var n=0;n<this.length;n++){var s=this[n][0];null!=s&&(p[s]=!0)}for(var i=0;i<o.length;i++){var m=[].concat(o[i]);r&&p[m[0]]||(void 0!==a&&(void 0===m[5]||(m[1]="@layer".concat(m[5].length>0?" ".concat(m[5]):""," {").concat(m[1],"}")),m[5]=a),e&&(m[2]&&(m[1]="@media ".concat(m[2]," {").concat(m[1],"}")),m[2]=e),t&&(m[4]?(m[1]="@supports (".concat(m[4],") {").concat(m[1],"}"),m[4]=t):m[4]="".concat(t)),l.push(m))}},l}},601(o){o.exports=function(o){return o[1]}},72(o){var l=[];function e(o){for(var e=-1,r=0;r<l.length;r++)if(l[r].identifier===o){e=r;break}return e}function r(o,r){for(var t={},a=[],p=0;p<o.length;p++){var n=o[p],s=r.base?n[0]+r.base:n[0],i=t[s]||0,m="".concat(s," ").concat(i);t[s]=i+1;var d=e(m),c={css:n[1],media:n[2],sourceMap:n[3],supports:n[4],layer:n[5]};if(-1!==d)l[d].references++,l[d].updater(c);else{var u=function(o,l){var e=l.domAPI(l);return e.update(o),function(l){l?(l.css!==o.css||l.media!==o.media||l.sourceMap!==o.sourceMap||l.supports!==o.supports||l.layer!==o.layer)&&e.update(o=l):e.remove()}}(c,r);r.byIndex=p,l.splice(p,0,{identifier:m,updater:u,references:1})}a.push(m)}return a}o.exports=function(o,t){var a=r(o=o||[],t=t||{});return function(o){o=o||[];for(var p=0;p<a.length;p++){var n=e(a[p]);l[n].references--}for(var s=r(o,t),i=0;i<a.length;i++){var m=e(a[i]);0===l[m].references&&(l[m].updater(),l.splice(m,1))}a=s}}},659(o){var l={};o.exports=function(o,e){var r=function(o){if(void 0===l[o]){var e=document.querySelector(o);if(window.HTMLIFrameElement&&e instanceof window.HTMLIFrameElement)try{e=e.contentDocument.head}catch(o){e=null}l[o]=e}return l[o]}(o);if(!r)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");r.appendChild(e)}},540(o){o.exports=function(o){var l=document.createElement("style");return o.setAttributes(l,o.attributes),o.insert(l,o.options),l}},56(o,l,e){o.exports=function(o){var l=e.nc;l&&o.setAttribute("nonce",l)}},825(o){o.exports=function(o){if("u"<typeof document)return{update:function(){},remove:function(){}};var l=o.insertStyleElement(o);return{update:function(e){var r,t,a;r="",e.supports&&(r+="@supports (".concat(e.supports,") {")),e.media&&(r+="@media ".concat(e.media," {")),(t=void 0!==e.layer)&&(r+="@layer".concat(e.layer.length>0?" ".concat(e.layer):""," {")),r+=e.css,t&&(r+="}"),e.media&&(r+="}"),e.supports&&(r+="}"),(a=e.sourceMap)&&"u">typeof btoa&&(r+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),o.styleTagTransform(r,l,o.options)},remove:function(){var o;null===(o=l).parentNode||o.parentNode.removeChild(o)}}}},113(o){o.exports=function(o,l){if(l.styleSheet)l.styleSheet.cssText=o;else{for(;l.firstChild;)l.removeChild(l.firstChild);l.appendChild(document.createTextNode(o))}}},579(o,l,e){var r=e(72),t=e.n(r),a=e(825),p=e.n(a),n=e(659),s=e.n(n),i=e(56),m=e.n(i),d=e(540),c=e.n(d),u=e(113),f=e.n(u),b=e(475),h={};h.styleTagTransform=f(),h.setAttributes=m(),h.insert=s().bind(null,"head"),h.domAPI=p(),h.insertStyleElement=c(),t()(b.A,h),b.A&&b.A.locals&&b.A.locals}}]);