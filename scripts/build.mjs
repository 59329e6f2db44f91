// `npm run build` and `npm start`: TypeScript's incremental build (`tsc -b`), so a build with nothing
// changed compiles nothing. tsc -b decides from each project's .tsbuildinfo alone (TypeScript ≥ 5.6
// no longer looks at the outputs), so an output deleted since (dist/ removed, a file cleaned by
// hand) would stay missing; a project with a missing output loses its .tsbuildinfo first and is
// compiled in full.
//
// Usage: node scripts/build.mjs <tsconfig or folder>… (built in that order, as tsc -b does).
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';

const projects = process.argv.slice(2);
if (projects.length === 0) throw new Error('usage: node scripts/build.mjs <tsconfig or folder>…');

for (const project of projects) {
  const config = parse(project);
  const buildInfo = ts.getTsBuildInfoEmitOutputFilePath(config.options);
  if (!buildInfo || !existsSync(buildInfo)) continue;
  const missing = config.fileNames
    .flatMap((file) => ts.getOutputFileNames(config, file, !ts.sys.useCaseSensitiveFileNames))
    .find((output) => !existsSync(output));
  if (missing) {
    console.log(`${project}: ${relative(process.cwd(), missing)} is missing; compiling the whole project`);
    rmSync(buildInfo);
  }
}

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const { status } = spawnSync(process.execPath, [tsc, '-b', ...projects], { stdio: 'inherit' });
process.exit(status ?? 1);

/** The project's parsed tsconfig: its files and options, extends resolved. */
function parse(project) {
  const file = ts.sys.directoryExists(project) ? ts.findConfigFile(project, ts.sys.fileExists) : project;
  const fail = (diagnostic) => {
    throw new Error(`${project}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')}`);
  };
  const config = file && ts.getParsedCommandLineOfConfigFile(file, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: fail });
  if (!config) throw new Error(`${project}: no tsconfig.json there`);
  return config;
}
