import { describe, expect, it } from 'vitest';
import { groundingElement, hallucinationRows, pText, ragRows, signed } from '../src/grounding';
import { renderComparison } from '../src/views';
import { GroundingPayload } from '../src/types';

const G: GroundingPayload = {
  baseline: 'zero-shot',
  metric: 'token_f1',
  alpha: 0.05,
  hallucination: {
    'zero-shot': { mean: 0.3, ci: [0.25, 0.35] },
    '<img src=x onerror=alert(1)>': { mean: 0.32, ci: [0.27, 0.38] }
  },
  tests: [
    { variant: '<img src=x onerror=alert(1)>', against: 'zero-shot', role: 'baseline', diff: 0.02, ci: [-0.03, 0.07], p: 0.7, n: 88, verdict: 'no significant difference' },
    { variant: '<img src=x onerror=alert(1)>', against: 'ft:lora', role: 'fine-tune', diff: -0.05, ci: [-0.1, -0.01], p: 0.0004, n: 88, verdict: 'significantly fewer unsupported sentences' }
  ],
  rag: [
    {
      variant: '<img src=x onerror=alert(1)>', twin: 'zero-shot', metric: 'token_f1', n: 88, hits: 71, misses: 17, gap: -0.015,
      from_misses: -0.01, from_hits: -0.005, answers: 88, citing: 12, bad_citations: 0, citing_on_hits: 10, citing_gold: 6,
      abstain_hits: 1, abstain_misses: 2
    }
  ],
  findings: ['rag: the source was retrieved for 71 of 88 questions (81%)'],
  notes: []
};

describe('the grounding view', () => {
  it('formats signed differences and p-values', () => {
    expect(signed(0.0123)).toBe('+0.012');
    expect(signed(-0.5)).toBe('−0.500');
    expect(signed(null)).toBe('–');
    expect(pText(0.0004)).toBe('< 0.001');
    expect(pText(0.7)).toBe('0.700');
  });
  it('one row per test, the variant named once; the baseline without tests keeps its own row', () => {
    const rows = hallucinationRows(G);
    expect(rows.map(r => r[0])).toEqual(['zero-shot', '<img src=x onerror=alert(1)>', '']);
    expect(rows[1]).toEqual(['<img src=x onerror=alert(1)>', '0.320 [0.270, 0.380]', 'zero-shot (baseline)', '+0.020', '0.700']);
    expect(rows[2].slice(2)).toEqual(['ft:lora (fine-tune)', '−0.050', '< 0.001']);
    const none = hallucinationRows({ ...G, tests: [{ ...G.tests[0], diff: null, p: null, n: 0 }] });
    expect(none[1].slice(3)).toEqual(['–', '–']);
  });
  it('the RAG row splits the gap and counts citations and abstentions', () => {
    expect(ragRows(G)[0]).toEqual(['<img src=x onerror=alert(1)>', '71/88', '−0.015', '−0.010', '−0.005', '12/88', '6/10', '1/71 · 2/17']);
  });
  it('draws labels as text, never as markup, and shows findings', () => {
    const v = groundingElement(G);
    expect(v.querySelector('img')).toBeNull();
    expect(v.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(v.querySelectorAll('.llmops-grounding-rag tbody tr').length).toBe(1);
    const vs = v.querySelectorAll('.llmops-grounding-tests td')[7];
    expect(vs.textContent).toBe('zero-shot (baseline)');
    expect(vs.className).toBe('llmops-text');
    expect(v.querySelector('.llmops-findings')!.textContent).toContain('retrieved for 71 of 88');
  });
  it('a comparison payload shows its notes and grounding under the leaderboard', () => {
    const v = renderComparison({
      primary_metric: 'token_f1',
      metrics: ['token_f1'],
      baseline: 'zero-shot',
      leaderboard: [{ variant: 'zero-shot', token_f1: { mean: 0.2 } }] as never,
      notes: ['hallucination is judged against pydoc topics named by \'topic\''],
      grounding: G
    });
    expect(v.querySelector('.llmops-note')!.textContent).toContain('judged against pydoc topics');
    expect(v.querySelector('.llmops-grounding')).not.toBeNull();
    const plain = renderComparison({ primary_metric: 'f1', metrics: ['f1'], leaderboard: [] as never });
    expect(plain.querySelector('.llmops-grounding')).toBeNull();
  });
});
