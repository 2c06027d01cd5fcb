import path from 'node:path';
import { BUNDLE_FILE, writeWorkflowBundle } from './workflow-code';

/** Second half of `npm run build`: compiled as lib/bundle-workflows.js, it writes lib/workflow-bundle.js. */
writeWorkflowBundle(process.argv[2] ?? path.join(__dirname, BUNDLE_FILE)).catch((err) => {
  console.error(err);
  process.exit(1);
});
