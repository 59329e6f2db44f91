#!/usr/bin/env node
// The `vela` command. Parses the command line, runs one command (each in its own file, loaded
// only when asked for), and turns failures into one line on stderr and a non-zero exit: the stack
// only with --debug, since a mistake in a path or a tsconfig is not a bug to debug.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './cli-error.js';

const USAGE = `Usage: vela <command> [options]

Commands:
  serve [entry]      Run the app and restart it when a source or view file changes.
                     entry: the file that calls bootstrap (default src/main.ts). A .ts entry is
                     compiled by the project's tsc --watch; a .js entry runs as it is.
      --views <dir>          templates whose changes restart the app (default views)
      -p, --project <file>   the tsconfig to compile with (default: the nearest above the entry)

  start [entry]      Run the app on every core: N node:cluster workers sharing its port, each
                     restarted if it dies, all drained (app.close()) on SIGTERM or SIGINT.
                     entry: the file that calls bootstrap, as JavaScript (default: what the
                     tsconfig emits for src/main.ts; build first).
      -w, --workers <n>          how many workers (default: the cores available)
      --shutdown-timeout <ms>    how long the workers may drain before they are killed (default 15000)
      -p, --project <file>       the tsconfig that says where a .ts entry is emitted

  routes [entry]     Print every HTTP route and WebSocket gateway of the app.
                     entry: the file exporting the root @Module (default src/app.module.ts).
                     A .ts entry is loaded with the project's tsx.
      --module <name>        the export to describe (default: the default export, AppModule,
                             or the only @Module exported)
      --json                 print JSON instead of tables
      -p, --project <file>   the tsconfig tsx reads (default ./tsconfig.json)

  docs [entry]       Print the app's API documents as JSON: OpenAPI 3.1 for the HTTP routes and
                     AsyncAPI 3.0 for the gateways, as { "openapi": …, "asyncapi": … }.
                     entry: the file exporting the root @Module (default src/app.module.ts).
      --openapi              print only the OpenAPI document
      --asyncapi             print only the AsyncAPI document
      --options <export>     the entry's export holding the bootstrap options whose docs
                             (info, securitySchemes) to use
      --module <name>        the export to describe (as for routes)
      -p, --project <file>   the tsconfig tsx reads (default ./tsconfig.json)

  new <dir>          Create a minimal app (module, controller, gateway, test) in a new directory.
                     Its vela is this one: ^<version> when installed from the npm registry; run
                     from a checkout or a tarball, this vela packed into <dir>/vendor/.
      --vela <spec>          the vela dependency to write instead: a version range or a tarball path

Options:
  -h, --help         show this help
  -v, --version      print vela's version
  --debug            show the stack of an error
`;

type Values = Record<string, string | boolean | undefined>;

interface Command {
  options: NonNullable<ParseArgsConfig['options']>;
  /** At most this many positionals. */
  maxPositionals: number;
  run(positionals: string[], values: Values): Promise<void>;
}

const project = { type: 'string', short: 'p' } as const;
const str = (value: string | boolean | undefined) => (typeof value === 'string' ? value : undefined);

const COMMANDS: Record<string, Command> = {
  serve: {
    options: { views: { type: 'string' }, project },
    maxPositionals: 1,
    async run([entry], values) {
      const { serve } = await import('./serve.js');
      await serve({ entry, views: str(values.views), project: str(values.project) });
    },
  },
  start: {
    options: { workers: { type: 'string', short: 'w' }, 'shutdown-timeout': { type: 'string' }, project },
    maxPositionals: 1,
    async run([entry], values) {
      const { start } = await import('./start.js');
      await start({ entry, workers: str(values.workers), shutdownTimeout: str(values['shutdown-timeout']), project: str(values.project) });
    },
  },
  routes: {
    options: { module: { type: 'string' }, json: { type: 'boolean' }, project },
    maxPositionals: 1,
    async run([entry], values) {
      const { routes } = await import('./routes.js');
      await write(process.stdout, `${await routes({ entry, module: str(values.module), json: values.json === true, project: str(values.project) })}\n`);
    },
  },
  docs: {
    options: { module: { type: 'string' }, openapi: { type: 'boolean' }, asyncapi: { type: 'boolean' }, options: { type: 'string' }, project },
    maxPositionals: 1,
    async run([entry], values) {
      const { docs } = await import('./docs.js');
      const options = { entry, module: str(values.module), options: str(values.options), project: str(values.project) };
      await write(process.stdout, `${await docs({ ...options, openapi: values.openapi === true, asyncapi: values.asyncapi === true })}\n`);
    },
  },
  new: {
    options: { vela: { type: 'string' } },
    maxPositionals: 1,
    async run([dir], values) {
      if (!dir) throw new CliError('which directory? Usage: vela new <dir>');
      const { describeNewApp, newApp } = await import('./new.js');
      await write(process.stdout, `${describeNewApp(await newApp({ dir, vela: str(values.vela) }))}\n`);
    },
  },
};

async function main(argv: string[]): Promise<number> {
  const debug = argv.includes('--debug');
  const args = argv.filter((arg) => arg !== '--debug');
  const [name, ...rest] = args;
  if (name === undefined || name === '-h' || name === '--help' || name === 'help') {
    await write(name === undefined ? process.stderr : process.stdout, USAGE);
    return name === undefined ? 1 : 0;
  }
  if (name === '-v' || name === '--version') {
    const { velaVersion } = await import('./new.js');
    await write(process.stdout, `${await velaVersion()}\n`);
    return 0;
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    await write(process.stderr, `vela: unknown command '${name}'.\n\n${USAGE}`);
    return 1;
  }
  if (rest.includes('-h') || rest.includes('--help')) {
    await write(process.stdout, USAGE);
    return 0;
  }
  try {
    const { values, positionals } = parseCommand(name, command, rest);
    await command.run(positionals, values);
    return 0;
  } catch (error) {
    await write(process.stderr, `vela ${name}: ${explain(error, debug)}\n`);
    return 1;
  }
}

function parseCommand(name: string, command: Command, args: string[]): { values: Values; positionals: string[] } {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args, options: command.options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (error) {
    // node:util's messages already name the option: "Unknown option '--foo'", "Option '--views <value>' argument missing".
    throw new CliError(`${(error as Error).message.split('. ')[0]}. Run vela --help for the options of ${name}.`);
  }
  if (parsed.positionals.length > command.maxPositionals) {
    throw new CliError(`unexpected argument '${parsed.positionals[command.maxPositionals]}'. Run vela --help for the usage of ${name}.`);
  }
  return parsed;
}

function explain(error: unknown, debug: boolean): string {
  if (!(error instanceof Error)) return String(error);
  if (!debug) return error.message;
  const causes: string[] = [error.stack ?? error.message];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) causes.push(`Caused by: ${cause.stack ?? cause.message}`);
  return causes.join('\n');
}

function write(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => stream.write(text, () => resolve()));
}

// Exits once done, whatever the imported app left open (a timer, a connection made at import).
process.exit(await main(process.argv.slice(2)));
