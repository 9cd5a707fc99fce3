"use strict";(self.rspackChunkllmops_nb=self.rspackChunkllmops_nb||[]).push([[232],{475(o,e,l){var r=l(601),t=l.n(r),a=l(314),n=l.n(a),p=l(140),s=n()(t());s.i(p.A),s.push([o.id,`/*
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
`,""]),l.d(e,{},{A:s})},140(o,e,l){var r=l(601),t=l.n(r),a=l(314),n=(l.n(a))()(t());n.push([o.id,`/*
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
`,""]),l.d(e,{},{A:n})},314(o){o.exports=function(o){var e=[];return e.toString=function(){return this.map(function(e){var l="",r=void 0!==e[5];return e[4]&&(l+="@supports (".concat(e[4],") {")),e[2]&&(l+="@media ".concat(e[2]," {")),r&&(l+="@layer".concat(e[5].length>0?" ".concat(e[5]):""," {")),l+=o(e),r&&(l+="}"),e[2]&&(l+="}"),e[4]&&(l+="}"),l}).join("")},e.i=function(o,l,r,t,a){"string"==typeof o&&(o=[[null,o,void 0]]);var n={};if(r)for(var p=0;p<this.length;p++){var s=this[p][0];null!=s&&(n[s]=!0)}for(var i=0;i<o.length;i++){var m=[].concat(o[i]);r&&n[m[0]]||(void 0!==a&&(void 0===m[5]||(m[1]="@layer".concat(m[5].length>0?" ".concat(m[5]):""," {").concat(m[1],"}")),m[5]=a),l&&(m[2]&&(m[1]="@media ".concat(m[2]," {").concat(m[1],"}")),m[2]=l),t&&(m[4]?(m[1]="@supports (".concat(m[4],") {").concat(m[1],"}"),m[4]=t):m[4]="".concat(t)),e.push(m))}},e}},601(o){o.exports=function(o){return o[1]}},72(o){var e=[];function l(o){for(var l=-1,r=0;r<e.length;r++)if(e[r].identifier===o){l=r;break}return l}function r(o,r){for(var t={},a=[],n=0;n<o.length;n++){var p=o[n],s=r.base?p[0]+r.base:p[0],i=t[s]||0,m="".concat(s," ").concat(i);t[s]=i+1;var d=l(m),c={css:p[1],media:p[2],sourceMap:p[3],supports:p[4],layer:p[5]};if(-1!==d)e[d].references++,e[d].updater(c);else{var u=function(o,e){var l=e.domAPI(e);return l.update(o),function(e){e?(e.css!==o.css||e.media!==o.media||e.sourceMap!==o.sourceMap||e.supports!==o.supports||e.layer!==o.layer)&&l.update(o=e):l.remove()}}(c,r);r.byIndex=n,e.splice(n,0,{identifier:m,updater:u,references:1})}a.push(m)}return a}o.exports=function(o,t){var a=r(o=o||[],t=t||{});return function(o){o=o||[];for(var n=0;n<a.length;n++){var p=l(a[n]);e[p].references--}for(var s=r(o,t),i=0;i<a.length;i++){var m=l(a[i]);0===e[m].references&&(e[m].updater(),e.splice(m,1))}a=s}}},659(o){var e={};o.exports=function(o,l){var r=function(o){if(void 0===e[o]){var l=document.querySelector(o);if(window.HTMLIFrameElement&&l instanceof window.HTMLIFrameElement)try{l=l.contentDocument.head}catch(o){l=null}e[o]=l}return e[o]}(o);if(!r)throw Error("Couldn't find a style target. This probably means that the value for the 'insert' parameter is invalid.");r.appendChild(l)}},540(o){o.exports=function(o){var e=document.createElement("style");return o.setAttributes(e,o.attributes),o.insert(e,o.options),e}},56(o,e,l){o.exports=function(o){var e=l.nc;e&&o.setAttribute("nonce",e)}},825(o){o.exports=function(o){if("u"<typeof document)return{update:function(){},remove:function(){}};var e=o.insertStyleElement(o);return{update:function(l){var r,t,a;r="",l.supports&&(r+="@supports (".concat(l.supports,") {")),l.media&&(r+="@media ".concat(l.media," {")),(t=void 0!==l.layer)&&(r+="@layer".concat(l.layer.length>0?" ".concat(l.layer):""," {")),r+=l.css,t&&(r+="}"),l.media&&(r+="}"),l.supports&&(r+="}"),(a=l.sourceMap)&&"u">typeof btoa&&(r+="\n/*# sourceMappingURL=data:application/json;base64,".concat(btoa(unescape(encodeURIComponent(JSON.stringify(a))))," */")),o.styleTagTransform(r,e,o.options)},remove:function(){var o;null===(o=e).parentNode||o.parentNode.removeChild(o)}}}},113(o){o.exports=function(o,e){if(e.styleSheet)e.styleSheet.cssText=o;else{for(;e.firstChild;)e.removeChild(e.firstChild);e.appendChild(document.createTextNode(o))}}},579(o,e,l){var r=l(72),t=l.n(r),a=l(825),n=l.n(a),p=l(659),s=l.n(p),i=l(56),m=l.n(i),d=l(540),c=l.n(d),u=l(113),f=l.n(u),b=l(475),v={};v.styleTagTransform=f(),v.setAttributes=m(),v.insert=s().bind(null,"head"),v.domAPI=n(),v.insertStyleElement=c(),t()(b.A,v),b.A&&b.A.locals&&b.A.locals}}]);