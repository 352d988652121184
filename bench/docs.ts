import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Writes one benchmark's section of docs/benchmarks.md: replaces the section under `heading` (up to the
 * next `## `), keeping every other section, or appends it when it is not there yet.
 */
export function writeSection(file: string, heading: string, section: string): void {
  const doc = readFileSync(file, 'utf8');
  const at = doc.indexOf(`\n${heading}`);
  if (at < 0) return appendFileSync(file, section);
  const next = doc.indexOf('\n## ', at + heading.length);
  writeFileSync(file, doc.slice(0, at) + section + (next >= 0 ? doc.slice(next) : ''));
}
