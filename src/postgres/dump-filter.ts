import { Transform, type TransformCallback } from 'node:stream';
import { hasTopLevelComma, isName, parseCopyFromStdin, sqlTokens, type CopyTable, type Token } from './sql-statement';
import { missingRoles, rolesNamedIn } from './statement-roles';

export type { CopyTable } from './sql-statement';

/**
 * A streaming filter for pg_dump's plain-format SQL that leaves out the statements
 * `pg_restore --no-owner --no-privileges` leaves out of the other formats — ownership
 * (`ALTER … OWNER TO`, also of large objects, `SET SESSION AUTHORIZATION`) and privileges
 * (`GRANT`, `REVOKE`, `ALTER DEFAULT PRIVILEGES`) — and passes every other byte unchanged.
 * So a dump loads as any role that may create the objects, whoever owned them at the source.
 *
 * It lexes the stream as psql does, so statement boundaries are psql's: quotes ('' and
 * E'\'' strings, "identifiers" with newlines and semicolons, $tag$ bodies), `--` and nested
 * block comments, parentheses and BEGIN ATOMIC bodies, backslash meta-commands, and COPY …
 * FROM stdin data blocks, which it passes without looking inside beyond finding the `\.`
 * line. Chunks may split anything anywhere.
 *
 * Security labels are kept by default, as pg_restore keeps them with --no-owner
 * --no-privileges: they are mandatory-access-control settings, not ownership or privileges,
 * and a target without the label provider fails loudly on them instead of losing them
 * silently (pg_restore's separate --no-security-labels is `securityLabels: 'drop'`).
 */
export type SkippedKind =
  | 'owner'
  | 'large-object-owner'
  | 'grant'
  | 'revoke'
  | 'default-privileges'
  | 'session-authorization'
  | 'security-label'
  | 'publication'
  | 'subscription'
  | 'event-trigger'
  | 'extension-comment'
  | 'missing-role';

export interface DumpFilterReport {
  skipped: Record<SkippedKind, number>;
  /** The first few skipped statements, whitespace collapsed and shortened. */
  examples: string[];
  /** Objects left out with `superuserObjects: 'drop'`, e.g. `publication orders_pub`, `event trigger log_ddl`. */
  superuserObjects: string[];
  /** Every statement left out because it names a role the target lacks (see `existingRoles`), with those roles. */
  namingMissingRoles: Array<{ statement: string; roles: string[] }>;
  /** Every table whose `COPY … FROM stdin` passed, in dump order. */
  copyTables: CopyTable[];
  /** Extension names of every `CREATE EXTENSION` that passed, in dump order. */
  extensions: string[];
}

export interface DumpFilterOptions {
  /** 'drop' (default) skips `ALTER … OWNER TO` and `SET SESSION AUTHORIZATION`, as pg_restore --no-owner does. */
  ownership?: 'keep' | 'drop';
  /** 'drop' (default) skips GRANT, REVOKE and ALTER DEFAULT PRIVILEGES, as pg_restore --no-privileges does. */
  privileges?: 'keep' | 'drop';
  /** 'keep' (default) passes SECURITY LABEL statements, 'drop' skips them. */
  securityLabels?: 'keep' | 'drop';
  /**
   * 'drop' skips what only a superuser may create and what carries no rows: publications,
   * subscriptions, event triggers (with their comments and labels), and comments on
   * extensions (an extension a scratch database got from template1 belongs to someone else).
   * For verification only; 'keep' by default.
   */
  superuserObjects?: 'keep' | 'drop';
  /**
   * The roles that exist where the dump is loaded. When given, a kept GRANT, REVOKE, ALTER
   * DEFAULT PRIVILEGES or permissive CREATE POLICY that names any other role is skipped
   * ('missing-role'), since it would fail; a RESTRICTIVE policy naming one stops the filter
   * with a DumpFilterRefusal, since leaving it out would widen access.
   */
  existingRoles?: ReadonlySet<string>;
  /**
   * With `existingRoles`: the roles the loading role may act as (a non-superuser's own role and
   * the roles it is a member of). `ALTER DEFAULT PRIVILEGES FOR ROLE` another role fails for it,
   * so it is skipped and listed like a statement naming a missing role. Unset: any role.
   */
  mayActAs?: ReadonlySet<string>;
  /** How many skipped statements the report quotes (default 5). */
  maxExamples?: number;
  /** Called for each COPY … FROM stdin as it passes, before its data. */
  onCopy?: (table: CopyTable) => void;
}

/** The filter will not leave this statement out, and loading it would fail: the load must stop. */
export class DumpFilterRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DumpFilterRefusal';
  }
}

/** First words of the statements that may be skipped or are read whole (COPY, CREATE EXTENSION, SET standard_conforming_strings). */
const WHOLE_STATEMENT_WORDS = new Set(['ALTER', 'GRANT', 'REVOKE', 'SET', 'RESET', 'SECURITY', 'COPY', 'CREATE']);
/** COMMENT statements are held too when comments on superuser objects and extensions are skipped. */
const WHOLE_STATEMENT_WORDS_WITH_COMMENTS = new Set([...WHOLE_STATEMENT_WORDS, 'COMMENT']);
/** Statements longer than this are never held whole: they are decided by their first words. */
const MAX_HELD_STATEMENT = 1 << 20;
const EXAMPLE_LENGTH = 120;
/** Enough of a statement to read its first words. */
const HEAD_BYTES = 256;

const enum Mode {
  Normal,
  LineComment,
  BlockComment,
  String, // '…' with '' escapes; backslash escapes too when standard_conforming_strings is off
  EscapeString, // E'…'
  QuotedIdent, // "…" with "" escapes
  DollarBody,
  MetaCommand, // a psql backslash command: up to the end of its line
  CopyLineRest, // after `COPY … FROM stdin;` up to the end of that line
  CopyData,
}

const enum Decision {
  Undecided, // held until its end, or until it grows past MAX_HELD_STATEMENT
  Pass,
  Drop,
}

const LF = 0x0a;
const CR = 0x0d;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const QUOTE = 0x27;
const DQUOTE = 0x22;
const DOLLAR = 0x24;
const STAR = 0x2a;
const SLASH = 0x2f;
const TERMINATOR = Buffer.from('\n\\.');

/** The lexing and deciding, free of streams: `write` each chunk, then `end`; kept bytes go to `emit`. */
export class DumpFilter {
  private mode = Mode.Normal;
  private carry: Buffer | undefined; // bytes not yet lexed because the token they start is incomplete
  private inStatement = false;
  private decision = Decision.Undecided;
  private held: Buffer[] = [];
  private heldBytes = 0;
  private parenDepth = 0;
  private beginDepth = 0;
  private identifierCount = 0;
  private readonly identifiers: string[] = ['', '', '', ''];
  private commentDepth = 0;
  private dollarDelimiter: Buffer | undefined;
  private standardStrings = true;
  private swallowNewline = false;
  /** In COPY data: -1 mid-line, 0 at a line start, 1 after `\`, 2 after `\.`, 3 after `\.\r`. */
  private terminatorMatch = -1;
  private readonly report: DumpFilterReport = {
    skipped: {
      owner: 0,
      'large-object-owner': 0,
      grant: 0,
      revoke: 0,
      'default-privileges': 0,
      'session-authorization': 0,
      'security-label': 0,
      publication: 0,
      subscription: 0,
      'event-trigger': 0,
      'extension-comment': 0,
      'missing-role': 0,
    },
    examples: [],
    superuserObjects: [],
    namingMissingRoles: [],
    copyTables: [],
    extensions: [],
  };
  private readonly dropSecurityLabels: boolean;
  private readonly dropOwnership: boolean;
  private readonly dropPrivileges: boolean;
  private readonly dropSuperuserObjects: boolean;
  private readonly wholeStatementWords: ReadonlySet<string>;
  private readonly maxExamples: number;

  // Per write(): the buffer being lexed, and where its not yet emitted (nor held) part starts.
  private data: Buffer = Buffer.alloc(0);
  private emitFrom = 0;
  private emit: (chunk: Buffer) => void = () => undefined;
  private keptStart = 0;
  private keptEnd = 0;

  constructor(private readonly options: DumpFilterOptions = {}) {
    this.dropSecurityLabels = options.securityLabels === 'drop';
    this.dropOwnership = options.ownership !== 'keep';
    this.dropPrivileges = options.privileges !== 'keep';
    this.dropSuperuserObjects = options.superuserObjects === 'drop';
    this.wholeStatementWords = this.dropSuperuserObjects ? WHOLE_STATEMENT_WORDS_WITH_COMMENTS : WHOLE_STATEMENT_WORDS;
    this.maxExamples = options.maxExamples ?? 5;
  }

  summary(): DumpFilterReport {
    return {
      skipped: { ...this.report.skipped },
      examples: [...this.report.examples],
      superuserObjects: [...this.report.superuserObjects],
      namingMissingRoles: this.report.namingMissingRoles.map((m) => ({ ...m, roles: [...m.roles] })),
      copyTables: [...this.report.copyTables],
      extensions: [...this.report.extensions],
    };
  }

  /**
   * Lexes one chunk; kept bytes go to `emit`, often as views of `chunk` itself (no copy), so
   * the caller must not reuse `chunk` until they are consumed — as with any stream chunk.
   */
  write(chunk: Buffer, emit: (chunk: Buffer) => void): void {
    if (chunk.length === 0) return;
    const data = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    this.run(data, emit, false);
  }

  end(emit: (chunk: Buffer) => void): void {
    const data = this.carry ?? Buffer.alloc(0);
    this.carry = undefined;
    this.run(data, emit, true);
    // psql runs an unterminated last statement at end of input: decide it like any other.
    if (this.inStatement) this.endStatement(this.data.length);
    this.flushPass(this.data.length);
    this.flushKept();
  }

  private run(data: Buffer, emit: (chunk: Buffer) => void, final: boolean): void {
    this.data = data;
    this.emitFrom = 0;
    this.emit = emit;
    this.keptStart = this.keptEnd = 0;
    const stop = this.lex(final);
    if (stop < data.length) this.carry = Buffer.from(data.subarray(stop));
    // Everything before `stop` is lexed: pass it on, hold it, or drop it.
    if (!this.inStatement || this.decision === Decision.Pass) {
      this.flushPass(stop);
    } else if (this.decision === Decision.Undecided) {
      this.hold(stop);
    } else {
      this.emitFrom = stop;
    }
    this.flushKept();
  }

  private flushPass(end: number): void {
    this.keep(this.emitFrom, end);
    this.emitFrom = end;
  }

  /** Kept bytes of `data`: adjacent ranges are merged, so a run of kept statements goes downstream as one chunk. */
  private keep(start: number, end: number): void {
    if (end <= start) return;
    if (start !== this.keptEnd) this.flushKept();
    if (this.keptEnd === this.keptStart) this.keptStart = start;
    this.keptEnd = end;
  }

  private keepCopy(part: Buffer): void {
    this.flushKept();
    if (part.length) this.emit(part);
  }

  private flushKept(): void {
    if (this.keptEnd > this.keptStart) this.emit(this.data.subarray(this.keptStart, this.keptEnd));
    this.keptStart = this.keptEnd = 0;
  }

  private hold(end: number): void {
    if (end <= this.emitFrom) return;
    if (this.startsWithPassingWord(end)) {
      // SELECT pg_catalog.lowrite(…), INSERT, CREATE TABLE …: nothing to decide at the end, so no need to hold it.
      this.decision = Decision.Pass;
      for (const part of this.held) this.keepCopy(part);
      this.held = [];
      this.heldBytes = 0;
      this.flushPass(end);
      return;
    }
    // Copied: the caller may reuse its buffer once write() returns.
    this.held.push(Buffer.from(this.data.subarray(this.emitFrom, end)));
    this.heldBytes += end - this.emitFrom;
    this.emitFrom = end;
    if (this.heldBytes > MAX_HELD_STATEMENT) this.decideLongStatement();
  }

  /** Lexes `this.data`; returns where it stopped (before an incomplete token unless `final`). */
  private lex(final: boolean): number {
    const data = this.data;
    const len = data.length;
    let i = 0;
    while (i < len) {
      switch (this.mode) {
        case Mode.CopyData: {
          i = this.scanCopyData(i);
          continue;
        }
        case Mode.CopyLineRest: {
          const nl = data.indexOf(LF, i);
          if (nl < 0) return len;
          this.mode = Mode.CopyData;
          this.terminatorMatch = 0;
          i = nl + 1;
          continue;
        }
        case Mode.LineComment:
        case Mode.MetaCommand: {
          const nl = data.indexOf(LF, i);
          if (nl < 0) return len;
          this.mode = Mode.Normal;
          i = nl + 1;
          continue;
        }
        case Mode.BlockComment: {
          // Nested /* */ as in the server's lexer.
          while (i < len) {
            const c = data[i];
            if (c !== STAR && c !== SLASH) {
              i++;
            } else if (i + 1 >= len) {
              if (!final) return i; // '/*' or '*/' may complete in the next chunk
              i++;
            } else if (c === SLASH && data[i + 1] === STAR) {
              this.commentDepth++;
              i += 2;
            } else if (c === STAR && data[i + 1] === SLASH) {
              i += 2;
              if (--this.commentDepth === 0) {
                this.mode = Mode.Normal;
                break;
              }
            } else {
              i++;
            }
          }
          continue;
        }
        case Mode.String:
        case Mode.QuotedIdent: {
          const quote = this.mode === Mode.String ? QUOTE : DQUOTE;
          const q = data.indexOf(quote, i);
          if (q < 0) return len;
          if (q + 1 >= len && !final) return q; // '' (an escaped quote) or the end? the next chunk tells
          if (data[q + 1] === quote) {
            i = q + 2;
          } else {
            this.mode = Mode.Normal;
            i = q + 1;
          }
          continue;
        }
        case Mode.EscapeString: {
          for (; i < len; i++) {
            const c = data[i];
            if (c === BACKSLASH) {
              if (i + 1 >= len && !final) return i;
              i++;
            } else if (c === QUOTE) {
              if (i + 1 >= len && !final) return i;
              if (data[i + 1] === QUOTE) {
                i++;
              } else {
                this.mode = Mode.Normal;
                i++;
                break;
              }
            }
          }
          continue;
        }
        case Mode.DollarBody: {
          const delimiter = this.dollarDelimiter!;
          const at = data.indexOf(delimiter, i);
          if (at >= 0) {
            this.mode = Mode.Normal;
            i = at + delimiter.length;
            continue;
          }
          if (final) return len;
          // A delimiter may begin in the last bytes: keep them for the next chunk.
          const lastDollar = data.lastIndexOf(DOLLAR, len - 1);
          return lastDollar >= 0 && lastDollar >= i && len - lastDollar < delimiter.length ? lastDollar : len;
        }
        case Mode.Normal: {
          const next = this.lexNormal(i, final);
          if (next < 0) return i; // incomplete token: carried to the next chunk
          i = next;
          continue;
        }
      }
    }
    return len;
  }

  /** One token (or blank) in normal mode at `i`; returns the index after it, or -1 if the token may continue past the data. */
  private lexNormal(i: number, final: boolean): number {
    const data = this.data;
    const len = data.length;
    const c = data[i];

    if (this.swallowNewline) {
      // The newline ending a skipped statement goes with it: no blank line is left behind.
      this.swallowNewline = false;
      if (c === LF) {
        this.emitFrom = i + 1;
        return i + 1;
      }
    }
    if (c === 0x20 || c === LF || c === 0x09 || c === CR || c === 0x0c) return i + 1;
    if (c === 0x2d /* - */ || c === SLASH) {
      if (i + 1 >= len && !final) return -1;
      if (c === 0x2d && data[i + 1] === 0x2d) {
        this.mode = Mode.LineComment;
        return i + 2;
      }
      if (c === SLASH && data[i + 1] === STAR) {
        this.mode = Mode.BlockComment;
        this.commentDepth = 1;
        return i + 2;
      }
    } else if (c === BACKSLASH) {
      // A psql meta-command (\restrict, \connect …): psql runs it, whatever surrounds it, up to the end of its line.
      this.mode = Mode.MetaCommand;
      return i + 1;
    }

    if (!this.inStatement) this.startStatement(i);

    if (c === QUOTE) {
      this.mode = this.standardStrings ? Mode.String : Mode.EscapeString;
      return i + 1;
    }
    if (c === DQUOTE) {
      this.mode = Mode.QuotedIdent;
      return i + 1;
    }
    if (c === DOLLAR) return this.lexDollar(i, final);
    if (isIdentStart(c)) return this.lexIdentifier(i, final);
    if (c >= 0x30 && c <= 0x39) {
      let j = i + 1;
      while (j < len && (isIdentCont(data[j]) || data[j] === DOT) && data[j] !== DOLLAR) j++;
      return j >= len && !final ? -1 : j;
    }
    if (c === 0x28 /* ( */) {
      this.parenDepth++;
    } else if (c === 0x29 /* ) */) {
      if (this.parenDepth > 0) this.parenDepth--;
    } else if (c === 0x3b /* ; */ && this.parenDepth === 0 && this.beginDepth === 0) {
      this.endStatement(i + 1);
    }
    return i + 1;
  }

  private lexDollar(i: number, final: boolean): number {
    const data = this.data;
    const len = data.length;
    if (i + 1 >= len) return final ? len : -1;
    const first = data[i + 1];
    if (first >= 0x30 && first <= 0x39) {
      // $1: a parameter
      let j = i + 2;
      while (j < len && data[j] >= 0x30 && data[j] <= 0x39) j++;
      return j >= len && !final ? -1 : j;
    }
    let j = i + 1;
    if (first !== DOLLAR) {
      if (!isIdentStart(first)) return i + 1;
      while (j < len && isIdentCont(data[j]) && data[j] !== DOLLAR) j++;
      if (j >= len) return final ? len : -1;
      if (data[j] !== DOLLAR) return i + 1; // not a delimiter: a lone '$', the word is lexed next
    }
    this.dollarDelimiter = Buffer.from(data.subarray(i, j + 1));
    this.mode = Mode.DollarBody;
    return j + 1;
  }

  private lexIdentifier(i: number, final: boolean): number {
    const data = this.data;
    const len = data.length;
    let j = i + 1;
    while (j < len && isIdentCont(data[j])) j++;
    if (j >= len && !final) return -1; // the word, or the quote after E/B/X/N, may continue in the next chunk
    const c = data[i] | 0x20;
    if (j === i + 1 && j < len) {
      // E'…', B'…', X'…', N'…', U&'…', U&"…": string or identifier prefixes, not words.
      if (data[j] === QUOTE && (c === 0x65 || c === 0x62 || c === 0x78 || c === 0x6e)) {
        this.mode = c === 0x65 || !this.standardStrings ? Mode.EscapeString : Mode.String;
        return j + 1;
      }
      if (c === 0x75 && data[j] === 0x26 /* & */) {
        if (j + 1 >= len && !final) return -1;
        if (data[j + 1] === QUOTE || data[j + 1] === DQUOTE) {
          this.mode = data[j + 1] === QUOTE ? (this.standardStrings ? Mode.String : Mode.EscapeString) : Mode.QuotedIdent;
          return j + 2;
        }
      }
    }
    this.trackWord(j - i <= 9 ? data.toString('latin1', i, j).toLowerCase() : '');
    return j;
  }

  /**
   * psql's own heuristic for CREATE FUNCTION … BEGIN ATOMIC … END bodies, whose semicolons do
   * not end the statement: the same words, the same rule, so the boundaries match psql's.
   */
  private trackWord(word: string): void {
    if (this.identifierCount === 0) this.identifiers.fill('');
    if (word === 'create' || word === 'function' || word === 'procedure' || word === 'or' || word === 'replace') {
      if (this.identifierCount < 4) this.identifiers[this.identifierCount] = word[0];
    }
    this.identifierCount++;
    const ids = this.identifiers;
    const createsRoutine = ids[0] === 'c' && (ids[1] === 'f' || ids[1] === 'p' || (ids[1] === 'o' && ids[2] === 'r' && (ids[3] === 'f' || ids[3] === 'p')));
    if (createsRoutine && this.parenDepth === 0) {
      if (word === 'begin') this.beginDepth++;
      else if (word === 'case' && this.beginDepth >= 1) this.beginDepth++;
      else if (word === 'end' && this.beginDepth > 0) this.beginDepth--;
    }
  }

  private scanCopyData(i: number): number {
    const data = this.data;
    const len = data.length;
    // Finish a terminator candidate begun at a line start (possibly in the previous chunk).
    while (this.terminatorMatch >= 0 && i < len) {
      const c = data[i++];
      const m = this.terminatorMatch;
      if (m === 0) this.terminatorMatch = c === BACKSLASH ? 1 : c === LF ? 0 : -1;
      else if (m === 1) this.terminatorMatch = c === DOT ? 2 : c === LF ? 0 : -1;
      else if (m === 2 && c === CR) this.terminatorMatch = 3;
      else if (c === LF) {
        // `\.` alone on its line: the data ends here (psql accepts `\.\r\n` too).
        this.terminatorMatch = -1;
        this.mode = Mode.Normal;
        return i;
      } else this.terminatorMatch = -1;
    }
    if (i >= len) return len;
    const at = data.indexOf(TERMINATOR, i);
    if (at >= 0) {
      this.terminatorMatch = 2;
      return at + 3;
    }
    // No terminator here: remember whether the chunk ends at a line start or after `\n\`.
    if (data[len - 1] === LF) this.terminatorMatch = 0;
    else if (len - i >= 2 && data[len - 1] === BACKSLASH && data[len - 2] === LF) this.terminatorMatch = 1;
    else this.terminatorMatch = -1;
    return len;
  }

  private startStatement(i: number): void {
    this.flushPass(i);
    this.inStatement = true;
    this.decision = Decision.Undecided;
    this.held = [];
    this.heldBytes = 0;
  }

  /** The statement ends just before `end`: decide it, and go back to the blank between statements. */
  private endStatement(end: number): void {
    const decision = this.decision;
    this.inStatement = false;
    this.parenDepth = 0;
    this.beginDepth = 0;
    this.identifierCount = 0;
    if (decision === Decision.Pass) return; // already flowing; emitFrom stays where it is
    if (decision === Decision.Drop) {
      this.emitFrom = end;
      this.swallowNewline = true;
      return;
    }
    const held = this.held;
    const parts = [...held, this.data.subarray(this.emitFrom, end)];
    this.held = [];
    this.heldBytes = 0;
    const statement = parts.length === 1 ? parts[0] : Buffer.concat(parts);
    const kind = this.classify(statement);
    if (kind) {
      this.skip(kind, statement);
      this.emitFrom = end;
      this.swallowNewline = true;
    } else {
      for (const part of held) this.keepCopy(part);
      this.keep(this.emitFrom, end);
      this.emitFrom = end;
      this.afterKept(statement);
    }
  }

  /** Does the statement held so far start with a word that rules out skipping it or reading it whole? */
  private startsWithPassingWord(end: number): boolean {
    const parts = [...this.held, this.data.subarray(this.emitFrom, Math.min(end, this.emitFrom + 32))];
    const word = /^([A-Za-z]+)[^A-Za-z0-9_$]/.exec(Buffer.concat(parts).toString('latin1', 0, 32));
    return word !== null && !this.wholeStatementWords.has(word[1].toUpperCase());
  }

  /** A statement too long to hold: drop it if its first words say so, else let it flow. */
  private decideLongStatement(): void {
    const head = Buffer.concat(this.held).subarray(0, HEAD_BYTES);
    const kind = this.headKind(head.toString('utf8'));
    if (kind) {
      this.decision = Decision.Drop;
      this.skip(kind, head);
    } else {
      this.decision = Decision.Pass;
      for (const part of this.held) this.keepCopy(part);
    }
    this.held = [];
    this.heldBytes = 0;
  }

  private classify(statement: Buffer): SkippedKind | undefined {
    const head = statement.toString('utf8', 0, Math.min(statement.length, HEAD_BYTES));
    const kind = this.headKind(head);
    if (kind === 'publication' || kind === 'subscription' || kind === 'event-trigger') this.nameSuperuserObject(kind, statement);
    if (kind) return kind;
    if (!/^\s*(?:ALTER|SECURITY|GRANT|REVOKE|CREATE\s+POLICY|COMMENT)\b/i.test(head)) return undefined;
    const tokens = sqlTokens(statement.toString('utf8'));
    const word = (k: number) => (tokens[k]?.kind === 'word' ? tokens[k].value : '');
    if (word(0) === 'security' && word(1) === 'label') {
      if (this.dropSecurityLabels) return 'security-label';
      const on = tokens.findIndex((t) => t.kind === 'word' && t.value === 'on');
      return on > 0 ? this.superuserObjectKind(word(on + 1), word(on + 2)) : undefined;
    }
    if (word(0) === 'comment' && word(1) === 'on') {
      if (this.dropSuperuserObjects && word(2) === 'extension') return 'extension-comment';
      return this.superuserObjectKind(word(2), word(3));
    }
    const n = tokens.length - (tokens.at(-1)?.text === ';' ? 1 : 0);
    // ALTER <object> OWNER TO <role>, one action only: never drop an ALTER that also does something else.
    if (word(0) === 'alter' && n >= 4 && word(n - 3) === 'owner' && word(n - 2) === 'to' && isName(tokens[n - 1]) && !hasTopLevelComma(tokens)) {
      if (this.dropOwnership) return word(1) === 'large' && word(2) === 'object' ? 'large-object-owner' : 'owner';
    }
    if (word(0) === 'create' || word(0) === 'alter') {
      const superuserObject = this.superuserObjectKind(word(1), word(2));
      if (superuserObject) return superuserObject;
    }
    return this.missingRoleKind(tokens, statement);
  }

  /** Kinds decided by the first words alone (so also for statements too long to hold). */
  private headKind(text: string): SkippedKind | undefined {
    const head = /^\s*([A-Za-z]+)(?:\s+([A-Za-z]+))?(?:\s+([A-Za-z]+))?/.exec(text);
    if (!head) return undefined;
    const [w1, w2, w3] = [head[1], head[2], head[3]].map((w) => w?.toUpperCase());
    if (this.dropPrivileges) {
      if (w1 === 'GRANT') return 'grant';
      if (w1 === 'REVOKE') return 'revoke';
      if (w1 === 'ALTER' && w2 === 'DEFAULT' && w3 === 'PRIVILEGES') return 'default-privileges';
    }
    if (this.dropOwnership && (w1 === 'SET' || w1 === 'RESET') && w2 === 'SESSION' && w3 === 'AUTHORIZATION') return 'session-authorization';
    if (w1 === 'CREATE' || w1 === 'ALTER') return this.superuserObjectKind(w2?.toLowerCase() ?? '', w3?.toLowerCase() ?? '');
    return undefined;
  }

  /** `CREATE PUBLICATION orders_pub …` → `publication orders_pub` in the report. */
  private nameSuperuserObject(kind: 'publication' | 'subscription' | 'event-trigger', statement: Buffer): void {
    const tokens = sqlTokens(statement.toString('utf8', 0, Math.min(statement.length, HEAD_BYTES)));
    if (tokens[0]?.value !== 'create') return;
    const name = tokens[kind === 'event-trigger' ? 3 : 2];
    if (isName(name)) this.report.superuserObjects.push(`${kind.replace('-', ' ')} ${name.value}`);
  }

  /** PUBLICATION, SUBSCRIPTION, EVENT TRIGGER, when those are skipped. */
  private superuserObjectKind(first: string, second: string): SkippedKind | undefined {
    if (!this.dropSuperuserObjects) return undefined;
    if (first === 'publication') return 'publication';
    if (first === 'subscription') return 'subscription';
    if (first === 'event' && second === 'trigger') return 'event-trigger';
    return undefined;
  }

  /** A kept privilege statement or policy that names a role the target lacks: skipped, or refused when leaving it out would widen access. */
  private missingRoleKind(tokens: Token[], statement: Buffer): SkippedKind | undefined {
    const existing = this.options.existingRoles;
    if (!existing) return undefined;
    const named = rolesNamedIn(tokens);
    if (!named) return undefined;
    const actable = this.options.mayActAs;
    const missing = missingRoles(named, (role) => existing.has(role), actable && ((role) => actable.has(role)));
    if (!missing.length) return undefined;
    const text = flatten(statement, 4 * EXAMPLE_LENGTH);
    if (named.restrictive) {
      throw new DumpFilterRefusal(
        `a RESTRICTIVE policy names ${missing.length === 1 ? 'a role' : 'roles'} the target lacks (${missing.join(', ')}): leaving it out would widen access, ` +
          `so the restore stops here: create the roles first (--create-roles) — ${text}`,
      );
    }
    this.report.namingMissingRoles.push({ statement: text, roles: missing });
    return 'missing-role';
  }

  private afterKept(statement: Buffer): void {
    const head = statement.toString('utf8', 0, Math.min(statement.length, HEAD_BYTES));
    if (/^\s*COPY\b/i.test(head)) {
      const table = parseCopyFromStdin(statement.toString('utf8'));
      if (table) {
        this.report.copyTables.push(table);
        this.options.onCopy?.(table);
        this.mode = Mode.CopyLineRest;
      }
    } else if (/^\s*CREATE\s+EXTENSION\b/i.test(head)) {
      const tokens = sqlTokens(statement.toString('utf8'));
      let k = 2;
      if (tokens[k]?.value === 'if' && tokens[k + 1]?.value === 'not' && tokens[k + 2]?.value === 'exists') k += 3;
      if (isName(tokens[k])) this.report.extensions.push(tokens[k].value);
    } else if (/^\s*SET\s+standard_conforming_strings\b/i.test(head)) {
      const value = /(?:\bTO\b|=)\s*'?(on|off|true|false|1|0)'?/i.exec(statement.toString('utf8'))?.[1]?.toLowerCase();
      if (value) this.standardStrings = value === 'on' || value === 'true' || value === '1';
    }
  }

  private skip(kind: SkippedKind, statement: Buffer): void {
    this.report.skipped[kind]++;
    if (this.report.examples.length < this.maxExamples) this.report.examples.push(flatten(statement, EXAMPLE_LENGTH));
  }
}

/** The statement on one line, shortened to `max` characters. */
function flatten(statement: Buffer, max: number): string {
  const flat = statement
    .toString('utf8', 0, Math.min(statement.length, 4 * max))
    .replace(/\s+/g, ' ')
    .trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

// Identifier characters as in the server's lexer: letters, digits, _, $, and every byte >= 0x80.
function isIdentStart(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c >= 0x80;
}
function isIdentCont(c: number): boolean {
  return isIdentStart(c) || (c >= 0x30 && c <= 0x39) || c === DOLLAR;
}

/** The filter as a stream: plain SQL in, the same SQL without ownership and privileges out. */
export class DumpFilterStream extends Transform {
  private readonly lexer: DumpFilter;

  constructor(options: DumpFilterOptions = {}) {
    super();
    this.lexer = new DumpFilter(options);
  }

  report(): DumpFilterReport {
    return this.lexer.summary();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.lexer.write(chunk, (part) => this.push(part));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.lexer.end((part) => this.push(part));
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }
}
