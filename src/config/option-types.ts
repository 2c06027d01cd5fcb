import path from 'node:path';
import { msToNumber } from '@temporalio/common/lib/time';
import { ConfigError } from './config-error';

/**
 * The kinds of value an option can hold, each with its one parsing rule. Every option in the
 * registry is built from one of these, so a boolean, a duration or a list is read the same
 * way everywhere, and every error names the variable (and never echoes a secret).
 */
export type CommandName = 'worker' | 'backup' | 'schedule' | 'freshness' | 'list' | 'restore' | 'prune' | 'dev' | 'start' | 'bench' | 'watchdog';

export interface OptionDef<T> {
  /** For the reference: `boolean`, `duration`, `list of labels`, … */
  type: string;
  /** The default as a person reads it (`5m`, `true`, `the source's server`); undefined means unset. */
  default?: string;
  /** Allowed values or range, for the reference (`1-9`, `gzip, zstd`). */
  allowed?: string;
  /** The commands that read it; `pg-backup-workflow <command> --help` lists them. */
  commands: readonly CommandName[];
  /** Commands that refuse to start without it. */
  requiredBy?: readonly CommandName[];
  /** Holds a secret: never echoed, redacted wherever it could appear. */
  secure?: boolean;
  /** Read by a library or by the PostgreSQL programs, not parsed here (documented, passed on). */
  external?: 'libpq' | 'aws-sdk' | 'temporal' | 'node' | 'system';
  /** Reference section. */
  section: string;
  /** One line of documentation (Markdown). */
  doc: string;
  /** Turns the variable's trimmed text (undefined when unset or blank) into its value. */
  read(raw: string | undefined, name: string): T;
}

type Common = Pick<OptionDef<unknown>, 'commands' | 'requiredBy' | 'section' | 'doc' | 'secure' | 'allowed'> & { defaultText?: string };

function def<T>(type: string, common: Common, read: OptionDef<T>['read'], defaultShown?: string): OptionDef<T> {
  // `common` may carry the typed default (a number, a boolean): the reference shows the text.
  const { defaultText, ...rest } = common as Common & { default?: unknown };
  return { type, ...rest, default: defaultText ?? defaultShown, read };
}

interface TextRules {
  /** The value must match; `expected` says what was expected in the error. */
  pattern?: RegExp;
  expected?: string;
  /** A check of its own (throws a ConfigError naming the variable). */
  check?: (value: string, name: string) => void;
  /** Never echo the value in an error (it may hold credentials pasted by mistake). */
  quiet?: boolean;
}

/** Free text, optionally restricted by a pattern or a check. */
export function text(common: Common & TextRules & { default: string }): OptionDef<string>;
export function text(common: Common & TextRules): OptionDef<string | undefined>;
export function text(common: Common & TextRules & { default?: string }): OptionDef<string | undefined> {
  const { pattern, expected, check, quiet, ...rest } = common;
  return def(
    'text',
    rest,
    (raw, name) => {
      const value = raw ?? common.default;
      if (value === undefined) return undefined;
      if (pattern && !pattern.test(value)) {
        throw new ConfigError(name, common.secure || quiet ? `expected ${expected}` : `expected ${expected}, got ${JSON.stringify(value)}`);
      }
      check?.(value, name);
      return value;
    },
    common.default,
  );
}

/** The one boolean rule: `true` or `false`, any case; anything else is refused rather than guessed. */
export function boolean(common: Common & { default: boolean }): OptionDef<boolean> {
  return def(
    'boolean',
    { allowed: 'true, false', ...common },
    (raw, name) => {
      if (raw === undefined) return common.default;
      if (/^true$/i.test(raw)) return true;
      if (/^false$/i.test(raw)) return false;
      throw new ConfigError(name, `expected true or false, got ${JSON.stringify(raw)}`);
    },
    String(common.default),
  );
}

/** A whole number in [min, max]. */
export function integer(common: Common & { default: number; min: number; max: number; unit?: string }): OptionDef<number> {
  return def(
    'integer',
    { allowed: `${common.min}-${common.max}`, ...common },
    (raw, name) => {
      if (raw === undefined) return common.default;
      const value = Number(raw);
      if (!/^-?\d+$/.test(raw) || value < common.min || value > common.max) {
        throw new ConfigError(
          name,
          `expected a whole number${common.unit ? ` of ${common.unit}` : ''} from ${common.min} to ${common.max}, got ${JSON.stringify(raw)}`,
        );
      }
      return value;
    },
    String(common.default),
  );
}

/** A decimal number in [min, max]. */
export function decimal(common: Common & { default: number; min: number; max: number; zeroMeans?: string }): OptionDef<number>;
export function decimal(common: Common & { min: number; max: number; zeroMeans?: string }): OptionDef<number | undefined>;
export function decimal(common: Common & { default?: number; min: number; max: number; zeroMeans?: string }): OptionDef<number | undefined> {
  return def(
    'number',
    { allowed: `${common.min}-${common.max}`, ...common },
    (raw, name) => {
      if (raw === undefined) return common.default;
      const value = Number(raw);
      if (!Number.isFinite(value) || value < common.min || value > common.max) {
        throw new ConfigError(
          name,
          `expected a number from ${common.min}${common.zeroMeans ? ` (${common.zeroMeans})` : ''} to ${common.max}, got ${JSON.stringify(raw)}`,
        );
      }
      return value;
    },
    common.default === undefined ? undefined : String(common.default),
  );
}

/** The one duration rule, Temporal's own forms: `30s`, `5m`, `1h`, `2d`, or milliseconds. Returns milliseconds. */
export function duration(common: Common & { default: string; min?: { ms: number; why: string } }): OptionDef<number> {
  return def(
    'duration',
    common,
    (raw, name) => {
      const ms = parseDuration(name, raw ?? common.default);
      if (common.min && ms < common.min.ms) throw new ConfigError(name, `must be at least ${common.min.why}, got ${JSON.stringify(raw)}`);
      return ms;
    },
    common.default,
  );
}

export function parseDuration(name: string, raw: string): number {
  let ms: number;
  try {
    ms = /^\d+$/.test(raw) ? Number(raw) : msToNumber(raw as `${number}s`);
  } catch {
    ms = NaN;
  }
  if (!Number.isFinite(ms) || ms <= 0) throw new ConfigError(name, `expected a positive duration like 30s, 5m or 1h, got ${JSON.stringify(raw)}`);
  return ms;
}

/** The one list rule: comma-separated, each item trimmed and checked; an empty item or a duplicate is refused. */
export function list(common: Common & { item: (value: string, name: string) => string; itemName: string }): OptionDef<string[] | undefined> {
  return def('list', { ...common }, (raw, name) => {
    if (raw === undefined) return undefined;
    const items = raw.split(',').map((s) => s.trim());
    const seen = new Set<string>();
    for (const item of items) {
      if (!item) throw new ConfigError(name, `has an empty ${common.itemName} (a doubled or trailing comma?)`);
      common.item(item, name);
      if (seen.has(item)) throw new ConfigError(name, `lists ${JSON.stringify(item)} twice`);
      seen.add(item);
    }
    return items;
  });
}

/** One of a fixed set of words. */
export function choice<const V extends string>(common: Common & { values: readonly V[]; default: V }): OptionDef<V> {
  return def(
    'choice',
    { allowed: common.values.join(', '), ...common },
    (raw, name) => {
      const value = (raw ?? common.default) as V;
      if (!common.values.includes(value)) throw new ConfigError(name, `expected one of ${common.values.join(', ')}, got ${JSON.stringify(raw)}`);
      return value;
    },
    common.default,
  );
}

/** A file-system path, made absolute. */
export function filePath(common: Common & { default: string }): OptionDef<string>;
export function filePath(common: Common): OptionDef<string | undefined>;
export function filePath(common: Common & { default?: string }): OptionDef<string | undefined> {
  return def(
    'path',
    common,
    (raw) => {
      const value = raw ?? common.default;
      return value === undefined ? undefined : path.resolve(value);
    },
    common.default,
  );
}

/** An IANA time zone, returned in its canonical spelling (the Temporal server matches zone names case-sensitively). */
export function timeZone(common: Common & { default: string }): OptionDef<string> {
  return def(
    'time zone',
    common,
    (raw, name) => {
      const value = raw ?? common.default;
      try {
        return new Intl.DateTimeFormat('en-US', { timeZone: value }).resolvedOptions().timeZone;
      } catch {
        throw new ConfigError(name, `unknown IANA time zone ${JSON.stringify(value)} (e.g. UTC, Europe/Berlin, Asia/Seoul)`);
      }
    },
    common.default,
  );
}

export interface TimeOfDay {
  hour: number;
  minute: number;
  /** `HH:MM` */
  time: string;
}

/** `HH:MM` on a 24-hour clock; a one-digit hour (`3:00`) is accepted too. */
export function timeOfDay(common: Common & { default: string }): OptionDef<TimeOfDay> {
  return def(
    'time of day',
    common,
    (raw, name) => {
      const value = raw ?? common.default;
      const match = /^(\d{1,2}):(\d{2})$/.exec(value);
      const hour = match ? Number(match[1]) : NaN;
      const minute = match ? Number(match[2]) : NaN;
      if (!(hour >= 0 && hour <= 23 && minute >= 0 && minute <= 59)) {
        throw new ConfigError(name, `expected a 24-hour time of day HH:MM like 03:00 or 23:30, got ${JSON.stringify(value)}`);
      }
      return { hour, minute, time: `${String(hour).padStart(2, '0')}:${match![2]}` };
    },
    common.default,
  );
}

/** Documented and passed on, but read by a library or by the PostgreSQL programs themselves. */
export function external(common: Common & { by: NonNullable<OptionDef<unknown>['external']> }): OptionDef<string | undefined> {
  const { by, ...rest } = common;
  return { ...def<string | undefined>('text', rest, (raw) => raw), external: by };
}
