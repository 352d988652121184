import Table from 'cli-table3';
import { envValue } from '../common/env.js';

/**
 * Whether output may carry colour: only to a terminal, and never with NO_COLOR set (https://no-color.org).
 * Redirected output and logs stay free of ANSI escape codes.
 */
export function colour(stream: NodeJS.WriteStream = process.stdout): boolean {
  return stream.isTTY === true && !envValue('NO_COLOR');
}

/** No rule between body rows: a row per line, so a hundred clusters take a hundred lines. */
const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' };

/** A table with the given columns; its borders are grey on a terminal and plain everywhere else. */
export function table(head: string[]): Table.Table {
  return new Table({ head, chars: compact, style: colour() ? { head: [] } : { head: [], border: [] } });
}
