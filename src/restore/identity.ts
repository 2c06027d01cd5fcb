import fs from 'node:fs/promises';
import { ConfigError } from '../config/config-error';

/**
 * The private keys of an age identity file (age-keygen's output: `AGE-SECRET-KEY-1…` lines,
 * `#` comments). Key text never reaches a message. `variable` names where the path came from.
 */
export async function readIdentities(file: string, variable: string): Promise<string[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(variable, `cannot read identity file ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  if (lines.some((l) => l.startsWith('-----BEGIN AGE ENCRYPTED FILE') || l.startsWith('age-encryption.org/'))) {
    throw new ConfigError(variable, `${file} is itself age-encrypted (passphrase-protected identities are not supported): decrypt it with age -d first`);
  }
  const keys = lines.filter((l) => /^AGE-SECRET-KEY-(PQ-)?1[0-9A-Z]+$/.test(l));
  if (keys.length === 0 || keys.length !== lines.length) {
    throw new ConfigError(
      variable,
      `${file} is not an age identity file (expected AGE-SECRET-KEY-1… lines as written by age-keygen; SSH and plugin identities are not supported)`,
    );
  }
  return keys;
}
