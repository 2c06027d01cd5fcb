/**
 * age-encryption (the reference TypeScript implementation) is ESM-only; this project is
 * CommonJS. tsx and vitest keep `import()`; tsc turns it into require(), which Node ≥ 20.19
 * accepts for ESM without top-level await, as this package is.
 */
export function loadAge(): Promise<typeof import('age-encryption')> {
  return import('age-encryption');
}
