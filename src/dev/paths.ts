import path from 'node:path';

/** The project's checkout: src/ and lib/ are both one level below it, so this holds for the sources and the compiled code. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
