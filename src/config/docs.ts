import type { CommandName, OptionDef } from './option-types';
import { allOptions } from './registry';

/**
 * The option reference, generated from the registry: the README's table (`npm run docs`
 * writes it; a test fails when they disagree) and the list at the end of each command's `--help`.
 */
export function optionsReference(): string {
  const sections = new Map<string, Array<{ name: string; def: OptionDef<unknown> }>>();
  for (const entry of allOptions()) {
    const list = sections.get(entry.def.section) ?? [];
    list.push(entry);
    sections.set(entry.def.section, list);
  }
  const out: string[] = [];
  for (const [section, entries] of sections) {
    out.push(`### ${section}`, '', '| Variable | Type | Default | Read by | Meaning |', '|---|---|---|---|---|');
    for (const { name, def } of entries) {
      const type = [def.type, def.allowed ? `(${def.allowed})` : ''].filter(Boolean).join(' ');
      const meaning = [def.doc, def.secure ? '**Secret**: never echoed, redacted from errors, logs and Slack.' : '', externalNote(def)]
        .filter(Boolean)
        .join(' ');
      out.push(`| \`${name}\` | ${type} | ${defaultText(def)} | ${commandsText(def)} | ${meaning} |`);
    }
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The end of `pg-backup-workflow <command> --help`: the variables that command reads. */
export function optionsHelp(command: CommandName): string {
  const entries = allOptions().filter(({ def }) => def.commands.includes(command));
  if (entries.length === 0) return 'Environment: none.';
  const width = Math.max(...entries.map(({ name }) => name.length));
  const lines = entries.map(({ name, def }) => {
    // "— (…)" says there is none, and why: [required] or the meaning says what a command needs.
    const dflt = def.default === undefined || def.default.startsWith('—') ? '' : ` (default ${def.default === '' ? 'empty' : plain(def.default)})`;
    const required = def.requiredBy?.includes(command) ? ' [required]' : '';
    return `  ${name.padEnd(width)}  ${firstSentence(plain(def.doc))}${dflt}${required}${def.secure ? ' [secret]' : ''}`;
  });
  return ['Environment (see the README for every option):', ...lines].join('\n');
}

function defaultText(def: OptionDef<unknown>): string {
  if (def.default === undefined) return '—';
  if (def.default === '') return 'empty';
  return /[`—]|^[A-Za-z]+ /.test(def.default) ? def.default : `\`${def.default}\``;
}

function commandsText(def: OptionDef<unknown>): string {
  const names = def.commands.map((c) => (def.requiredBy?.includes(c) ? `${c}*` : c));
  return names.join(', ');
}

function externalNote(def: OptionDef<unknown>): string {
  switch (def.external) {
    case 'libpq':
      return 'Passed to `pg_dump`/`psql`.';
    case 'aws-sdk':
      return 'Read by the AWS SDK.';
    case 'temporal':
      return 'Read by `@temporalio/envconfig`.';
    default:
      return '';
  }
}

/** Markdown as a terminal shows it: no code quotes, bold or table escapes; a `*` in a name (`PG*`) stays. */
function plain(markdown: string): string {
  return markdown.replace(/`/g, '').replace(/\*\*/g, '').replace(/\\\|/g, '|');
}

/** Up to the first full stop that ends a sentence (not the one of "e.g." or "i.e."). */
function firstSentence(text: string): string {
  const end = text.search(/(?<!\b(?:e\.g|i\.e))\.(\s|$)/);
  return end >= 0 ? text.slice(0, end + 1) : text;
}
