/**
 * Reading one complete SQL statement (already delimited by the dump filter's streaming
 * lexer): its tokens with comments and quotes respected, enough to read the words of
 * ALTER … OWNER TO, COPY … FROM stdin and CREATE EXTENSION.
 */
export interface CopyTable {
  /** Schema as stored (unquoted), or undefined when the COPY names no schema. */
  schema?: string;
  /** Table name as stored (unquoted). */
  name: string;
  /** The name exactly as written in the dump, e.g. `"ä"."Bestellungen 2025"`. */
  written: string;
}

export interface Token {
  kind: 'word' | 'quoted' | 'string' | 'other';
  /** Source text of the token. */
  text: string;
  /** Unquoted value for words (lower-cased, as the server folds them) and quoted identifiers. */
  value: string;
}

/** Tokens of one statement, comments dropped. */
export function sqlTokens(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      const nl = text.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text.startsWith('/*', i) || text.startsWith('*/', i)) {
          depth += text[i] === '/' ? 1 : -1;
          i += 2;
        } else i++;
      }
    } else if (c === '"') {
      let j = i + 1;
      let value = '';
      for (;;) {
        const q = text.indexOf('"', j);
        if (q < 0) {
          value += text.slice(j);
          j = n;
          break;
        }
        value += text.slice(j, q);
        if (text[q + 1] === '"') {
          value += '"';
          j = q + 2;
        } else {
          j = q + 1;
          break;
        }
      }
      tokens.push({ kind: 'quoted', text: text.slice(i, j), value });
      i = j;
    } else if (c === "'" || ((c === 'E' || c === 'e') && text[i + 1] === "'" && !/[\w$\u0080-\uffff]/.test(text[i - 1] ?? ' '))) {
      const escapes = c !== "'";
      let j = escapes ? i + 2 : i + 1;
      while (j < n) {
        if (escapes && text[j] === '\\') j += 2;
        else if (text[j] === "'" && text[j + 1] === "'") j += 2;
        else if (text[j] === "'") {
          j++;
          break;
        } else j++;
      }
      tokens.push({ kind: 'string', text: text.slice(i, j), value: text.slice(i, j) });
      i = j;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[\w$\u0080-\uffff]/.test(text[j])) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: 'word', text: word, value: word.toLowerCase() });
      i = j;
    } else {
      tokens.push({ kind: 'other', text: c, value: c });
      i++;
    }
  }
  return tokens;
}

export function hasTopLevelComma(tokens: Token[]): boolean {
  let depth = 0;
  for (const t of tokens) {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth--;
    else if (t.text === ',' && depth === 0) return true;
  }
  return false;
}

export function isName(token: Token | undefined): token is Token {
  return token?.kind === 'word' || token?.kind === 'quoted';
}

/** `COPY [schema.]table [(columns)] FROM stdin;` → the table, else undefined (COPY to or from elsewhere). */
export function parseCopyFromStdin(text: string): CopyTable | undefined {
  const tokens = sqlTokens(text);
  if (tokens[0]?.text.toUpperCase() !== 'COPY') return undefined;
  const parts: Token[] = [];
  let k = 1;
  while (isName(tokens[k])) {
    parts.push(tokens[k]);
    if (tokens[k + 1]?.text !== '.') break;
    k += 2;
  }
  if (!parts.length || parts.length > 3) return undefined;
  k = tokens.indexOf(parts.at(-1)!) + 1;
  if (tokens[k]?.text === '(') {
    let depth = 0;
    for (; k < tokens.length; k++) {
      if (tokens[k].text === '(') depth++;
      else if (tokens[k].text === ')' && --depth === 0) break;
    }
    k++;
  }
  if (tokens[k]?.text.toUpperCase() !== 'FROM' || tokens[k + 1]?.text.toLowerCase() !== 'stdin') return undefined;
  const name = parts.at(-1)!;
  const schema = parts.length >= 2 ? parts.at(-2) : undefined;
  const written = tokens
    .slice(1, tokens.indexOf(name) + 1)
    .map((t) => t.text)
    .join('');
  return { ...(schema ? { schema: schema.value } : {}), name: name.value, written };
}

/** `schema.table` as `format('%I.%I')` writes it (see row-counts), read back into its stored parts. */
export function tableKey(qualified: string): string {
  const names = sqlTokens(qualified).filter((t) => t.kind === 'word' || t.kind === 'quoted');
  return names.map((t) => t.value).join('\u0000');
}

/** The key of a COPY's table, comparable with `tableKey` of a source count. */
export function copyTableKey(table: CopyTable): string {
  return `${table.schema ?? ''}\u0000${table.name}`;
}
