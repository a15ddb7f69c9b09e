// Unit: hand-written <!-- note:BENCH --> blocks survive regenerating docs/benchmarks.md, each at the end of its section.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { extractNotes, renderReport, type Results } from '../../../bench/lib/report';

const published = JSON.parse(readFileSync(join(__dirname, '../../../docs/benchmarks.json'), 'utf8')) as Results;

describe('benchmark report notes', () => {
  it('a note goes back to the end of its section, however often the report is rendered', () => {
    const note = '<!-- note:login -->\nThe module was measured twice; see above.\n<!-- /note -->';
    const gone = '<!-- note:nosuch -->\nAbout a section this run has not got.\n<!-- /note -->';
    const first = renderReport(published, extractNotes(`# old\n\n${note}\n\nmore text\n\n${gone}\n`));
    const second = renderReport(published, extractNotes(first));
    expect(second).toBe(first);
    const at = first.indexOf(note);
    expect(at).toBeGreaterThan(first.indexOf('## 1. '));
    expect(at).toBeLessThan(first.indexOf('## 2. '));
    expect(first.split(note)).toHaveLength(2); // once
    expect(first.indexOf(gone)).toBeGreaterThan(first.indexOf('## Notes'));
    expect(renderReport(published)).not.toContain('note:login');
  });
});
