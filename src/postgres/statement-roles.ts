import { isName, type Token } from './sql-statement';

/**
 * The roles a privilege or policy statement of pg_dump's names — so a restore onto a server
 * that lacks some of them can leave out exactly the statements that would fail on them, and
 * say which. Reads the tokens of one whole statement (see `sqlTokens`).
 */
export interface NamedRoles {
  roles: string[];
  /** ALTER DEFAULT PRIVILEGES FOR ROLE …: the roles whose future objects it is about (only they, their members or a superuser may run it). */
  forRoles: string[];
  /** CREATE POLICY … AS RESTRICTIVE: leaving one out widens access instead of narrowing it. */
  restrictive: boolean;
}

/** Role specifications that exist everywhere. */
const ALWAYS_THERE = new Set(['public', 'current_user', 'current_role', 'session_user']);

/**
 * Roles named by GRANT … TO, REVOKE … FROM, ALTER DEFAULT PRIVILEGES [FOR ROLE …] … TO/FROM,
 * CREATE POLICY … TO, and GRANTED BY; undefined for any other statement. `PUBLIC` and
 * `CURRENT_USER`-like words are left out (they always exist).
 */
export function rolesNamedIn(tokens: Token[]): NamedRoles | undefined {
  const word = (k: number) => (tokens[k]?.kind === 'word' ? tokens[k].value : '');
  const topLevel = topLevelWords(tokens);
  const roles: string[] = [];
  const forRoles: string[] = [];
  let restrictive = false;
  const after = (from: number, keyword: string) => topLevel.find((k) => k > from && tokens[k].value === keyword);

  if (word(0) === 'grant' || word(0) === 'revoke') {
    const on = after(0, 'on');
    const list = after(on ?? 0, word(0) === 'grant' ? 'to' : 'from');
    if (list === undefined) return undefined;
    roles.push(...roleList(tokens, list + 1));
  } else if (word(0) === 'alter' && word(1) === 'default' && word(2) === 'privileges') {
    if (word(3) === 'for' && (word(4) === 'role' || word(4) === 'user')) forRoles.push(...roleList(tokens, 5));
    const action = topLevel.find((k) => k > 2 && (tokens[k].value === 'grant' || tokens[k].value === 'revoke'));
    if (action === undefined) return undefined;
    const list = after(action, tokens[action].value === 'grant' ? 'to' : 'from');
    if (list !== undefined) roles.push(...roleList(tokens, list + 1));
  } else if (word(0) === 'create' && word(1) === 'policy') {
    const on = after(1, 'on');
    if (on === undefined) return undefined;
    const as = after(on, 'as');
    restrictive = as !== undefined && word(as + 1) === 'restrictive';
    const list = after(on, 'to');
    if (list !== undefined) roles.push(...roleList(tokens, list + 1));
  } else {
    return undefined;
  }
  const granted = topLevel.find((k) => tokens[k].value === 'granted' && word(k + 1) === 'by');
  if (granted !== undefined) roles.push(...roleList(tokens, granted + 2));
  return { roles: [...new Set([...forRoles, ...roles])].filter((r) => r !== ''), forRoles: [...new Set(forRoles)], restrictive };
}

/**
 * Of the roles a statement names, those it cannot be run for: roles `exists` does not know, and
 * (when `mayActAs` is given) roles of ALTER DEFAULT PRIVILEGES FOR ROLE the restoring role may
 * not act as. Empty when it can run.
 */
export function missingRoles(named: NamedRoles, exists: (role: string) => boolean, mayActAs?: (role: string) => boolean): string[] {
  const missing = named.roles.filter((r) => !exists(r));
  const notActable = mayActAs ? named.forRoles.filter((r) => exists(r) && !mayActAs(r)) : [];
  return [...missing, ...notActable];
}

/** Indexes of the words outside parentheses (column lists, USING (…) expressions). */
function topLevelWords(tokens: Token[]): number[] {
  const out: number[] = [];
  let depth = 0;
  tokens.forEach((t, k) => {
    if (t.text === '(') depth++;
    else if (t.text === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0 && t.kind === 'word') out.push(k);
  });
  return out;
}

/** `[GROUP] name [, [GROUP] name …]` from `start`: names as stored (quoted ones verbatim, others folded). */
function roleList(tokens: Token[], start: number): string[] {
  const names: string[] = [];
  let k = start;
  for (;;) {
    if (tokens[k]?.kind === 'word' && tokens[k].value === 'group' && isName(tokens[k + 1])) k++;
    const t = tokens[k];
    if (!isName(t)) break;
    if (!(t.kind === 'word' && ALWAYS_THERE.has(t.value))) names.push(t.value);
    if (tokens[k + 1]?.text !== ',') break;
    k += 2;
  }
  return names;
}
