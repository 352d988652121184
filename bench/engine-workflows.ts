/** The benchmark worker's workflows: every workflow the product registers, and the bare fan-out. */
export * from '../src/workflows/index.js';
export { bareChild, bareFanout } from './bare.js';
