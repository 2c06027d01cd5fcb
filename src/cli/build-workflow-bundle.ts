import { BUILT_BUNDLE, writeWorkflowBundle } from '../temporal/workflow-code';

/** Second half of `npm run build`: compiled as lib/cli/build-workflow-bundle.js, it writes lib/workflow-bundle.js. */
writeWorkflowBundle(process.argv[2] ?? BUILT_BUNDLE).catch((err) => {
  console.error(err);
  process.exit(1);
});
