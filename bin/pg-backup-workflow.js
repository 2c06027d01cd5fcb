#!/usr/bin/env node
// `pg-backup-workflow <command>` (alias `pgbw`): the TypeScript sources through tsx, so the command
// is always in step with src/. Production images run the compiled `node lib/cli/main.js` instead.
require('tsx/cjs');
require('../src/cli/main.ts');
