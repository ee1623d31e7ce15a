/**
 * What every benchmark returns: sections, each a Markdown table plus the raw figures for latest.json.
 * A section says what its reference is and how many runs its figures are over, and may carry charts of
 * its figures (lib/charts.ts), written next to the tables.
 */
import type { Chart } from './charts.js';

export interface Section {
  title: string;
  /** Sentences printed under the title: what was measured, the reference, the number of runs. */
  notes?: string[];
  headers: string[];
  /** Cells as printed; the first column is left-aligned, the others right-aligned. */
  rows: string[][];
  /** The raw figures, for bench/results/latest.json. */
  data?: unknown;
  /** Pictures of the figures: written to bench/results/<file> and shown under the table in latest.md. */
  charts?: Chart[];
}

export function formatSection(section: Section): string {
  const lines = [`### ${section.title}`, ''];
  if (section.notes && section.notes.length > 0) lines.push(section.notes.join(' '), '');
  lines.push(`| ${section.headers.join(' | ')} |`);
  lines.push(`|${section.headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const row of section.rows) lines.push(`| ${row.join(' | ')} |`);
  for (const chart of section.charts ?? []) lines.push('', `![${chart.spec.title}](${chart.file})`);
  return lines.join('\n');
}

export function formatSections(sections: Section[]): string {
  return sections.map(formatSection).join('\n\n');
}
