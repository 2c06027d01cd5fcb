import fs from 'node:fs';
import { ConfigError } from './config-error';
import { option, type Env } from './registry';

/**
 * Optional age encryption of finished backups. Off unless BACKUP_AGE_RECIPIENTS and/or
 * BACKUP_AGE_RECIPIENTS_FILE name at least one public key; the worker never holds a private key.
 */
export interface EncryptionConfig {
  /** age public keys (`age1…`): safe to keep in memory, still shortened in anything printed. */
  recipients: string[];
}

export function loadEncryptionConfig(env: Env): EncryptionConfig | undefined {
  const recipients: string[] = [];
  const inline = option(env, 'BACKUP_AGE_RECIPIENTS');
  if (inline) recipients.push(...checked('BACKUP_AGE_RECIPIENTS', inline.split(/[\s,]+/)));

  const file = option(env, 'BACKUP_AGE_RECIPIENTS_FILE');
  if (file) {
    const fromFile = checked('BACKUP_AGE_RECIPIENTS_FILE', recipientLines(readRecipientsFile(file)));
    if (fromFile.length === 0) throw new ConfigError('BACKUP_AGE_RECIPIENTS_FILE', `${file} lists no recipient (one age1… public key per line)`);
    recipients.push(...fromFile);
  }
  return recipients.length ? { recipients: [...new Set(recipients)] } : undefined;
}

/** `age1abcdef…uvwxyz`: enough to tell keys apart in logs without printing them whole. */
export function shortRecipient(recipient: string): string {
  return recipient.length <= 16 ? recipient : `${recipient.slice(0, 10)}…${recipient.slice(-6)}`;
}

/** age's -R format: one recipient per line; blank lines and lines starting with # are ignored. */
function recipientLines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
}

function readRecipientsFile(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('BACKUP_AGE_RECIPIENTS_FILE', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

function checked(variable: string, values: string[]): string[] {
  const out = values.filter(Boolean);
  out.forEach((value, i) => {
    const problem = recipientProblem(value);
    if (problem) throw new ConfigError(variable, `recipient ${i + 1}: ${problem}`);
  });
  return out;
}

/** Byte lengths of the public keys age-encryption can encrypt to, by bech32 prefix. */
const KEY_BYTES: Record<string, number> = { age: 32, age1pq: 1216 };

function recipientProblem(value: string): string | undefined {
  // Never echo a pasted private key; other values are public, shown shortened.
  if (/^AGE-SECRET-KEY-/i.test(value)) {
    return 'this is a private key (AGE-SECRET-KEY-…), never give it to the worker: use its public key, printed by `age-keygen -y KEYFILE`';
  }
  const shown = JSON.stringify(shortRecipient(value));
  if (!value.startsWith('age1')) {
    return `${shown} is not an age public key (expected age1… as printed by age-keygen; SSH keys and plugin recipients are not supported)`;
  }
  const decoded = bech32Decode(value);
  const expected = decoded && KEY_BYTES[decoded.prefix];
  if (!decoded || !expected) return `${shown} is not a valid age public key (bad bech32 encoding or checksum: a typo or a truncated copy)`;
  if (decoded.bytes !== expected) return `${shown} is not a valid age public key (wrong length: a truncated copy?)`;
  return undefined;
}

// Bech32 (BIP 173) without the 90-character limit, as age uses it: catches typos at start-up
// instead of at 03:00. The library's own parser is ESM-only and async to load.
const CHARSET = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

function bech32Decode(text: string): { prefix: string; bytes: number } | undefined {
  if (text !== text.toLowerCase()) return undefined;
  const sep = text.lastIndexOf('1');
  if (sep < 1 || text.length - sep - 1 < 6) return undefined;
  const prefix = text.slice(0, sep);
  const words: number[] = [];
  for (const ch of text.slice(sep + 1)) {
    const word = CHARSET.indexOf(ch);
    if (word < 0) return undefined;
    words.push(word);
  }
  const expanded = [...[...prefix].map((c) => c.charCodeAt(0) >> 5), 0, ...[...prefix].map((c) => c.charCodeAt(0) & 31)];
  let checksum = 1;
  for (const value of [...expanded, ...words]) {
    const top = checksum >>> 25;
    checksum = ((checksum & 0x1ffffff) << 5) ^ value;
    GENERATORS.forEach((g, i) => {
      if ((top >>> i) & 1) checksum ^= g;
    });
  }
  if (checksum !== 1) return undefined;
  const dataBits = (words.length - 6) * 5;
  // Padding must be under 8 bits; the byte count is what matters for the key type.
  return { prefix, bytes: Math.floor(dataBits / 8) };
}
