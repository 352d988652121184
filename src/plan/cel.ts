import { parse } from '@marcbachmann/cel-js';

/** Why a CEL expression does not parse, or undefined when it does. */
export function celProblem(expression: string): string | undefined {
  try {
    parse(expression);
    return undefined;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
}
