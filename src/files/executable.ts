import fs from 'node:fs';

/** Why `file` cannot be run as a program (`does not exist`, `is not a file`, `is not executable`), or undefined when it can. */
export function executableProblem(file: string): string | undefined {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return 'does not exist';
  }
  if (!stat.isFile()) return 'is not a file';
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return undefined;
  } catch {
    return 'is not executable';
  }
}
