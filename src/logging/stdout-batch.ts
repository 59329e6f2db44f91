// The default logger in production: pino's JSON lines on stdout, written in batches. A busy server
// pays one write for many lines, and formats them together: a line formatted between two requests
// cost several times what the same line costs formatted right after another (pino's code and data
// are cold by then). So a line whose fields cannot change after the call (strings,
// numbers, booleans: the request log line) is kept as it was given, with the time it was logged, and
// formatted when its batch is written; any other line is formatted at once, as pino does, so that it
// shows its objects as they were when it was logged. Either way lines come out in the order logged.
import { pino, stdSerializers } from 'pino';
import type { LogFields, Logger, LogLevel } from './logger.js';

type Method = 'debug' | 'info' | 'warn' | 'error';

/** A line kept unformatted: its own copy of the fields, and the time it was logged. */
interface Kept {
  method: Method;
  message: string;
  fields: LogFields | undefined;
  time: number;
}

/**
 * Lines held before the batch is formatted and written, at most: a batch's writes follow each other,
 * so the process reading the log (a pipe to a collector) is woken once per batch, not once per write.
 */
const BATCH_LINES = 256;
/** How long a line may wait in a batch that is not full: a quiet server still logs promptly. */
const BATCH_MS = 100;
/**
 * One write carries at most PIPE_BUF (4 KiB on Linux) of lines, so that it reaches a pipe whole even
 * when several processes (workers) share one stdout: lines of different processes never interleave.
 */
const WRITE_BYTES = 4096;

/**
 * Batches are written with sonic-boom (pino's own destination) synchronously: it also waits out a
 * full pipe's EAGAIN, and a reader that stops reading holds the process back rather than growing its
 * memory without bound, as pino's own asynchronous default does. Each line is encoded once into the
 * write's buffer (joining strings first flattened pino's concatenations, then encoded them again).
 */
export function stdoutBatchLogger(level: LogLevel): Logger & { flush(): void } {
  const sink = pino.destination({ dest: 1, sync: true, contentMode: 'buffer' });
  // In contentMode 'buffer' sonic-boom writes buffers; its types know only its string mode.
  const writeBytes = (bytes: Buffer) => void (sink as unknown as { write(bytes: Buffer): boolean }).write(bytes);

  let held: (string | Kept)[] = [];
  let timer: NodeJS.Timeout | undefined;
  // While a batch is written: the time of the kept line being formatted, and where lines go.
  let keptTime: number | undefined;
  let writing = false;
  // One buffer for every write, reused: a new 4 KiB buffer per write cost more than the write's
  // lines. Reusable once the write returns: sonic-boom's synchronous write has then written every
  // byte (it throws otherwise, and a write that threw leaves its buffer to sonic-boom).
  let bytes: Buffer | undefined;
  let used = 0;

  const writeBuffered = () => {
    if (bytes === undefined || used === 0) return;
    const full = bytes.subarray(0, used);
    const reusable = bytes;
    bytes = undefined;
    used = 0;
    writeBytes(full);
    bytes = reusable;
  };
  const encode = (line: string) => {
    // Measured exactly (a native count), not bounded by 3 bytes per UTF-16 unit: a bound would
    // fill a write a third full with ASCII lines, and make three times the system calls.
    const size = Buffer.byteLength(line);
    if (bytes !== undefined && used + size > WRITE_BYTES) writeBuffered();
    // A line longer than a write (an error's stack) is written alone, after the lines before it.
    if (size > WRITE_BYTES) return writeBytes(Buffer.from(line));
    bytes ??= Buffer.allocUnsafe(WRITE_BYTES);
    used += bytes.write(line, used);
  };
  const hold = (line: string | Kept) => {
    held.push(line);
    if (held.length >= BATCH_LINES) return flush();
    if (timer) return;
    timer = setTimeout(flush, BATCH_MS);
    // Not what keeps a process alive: the exit hook writes what is left.
    timer.unref();
  };
  const log = pino(
    {
      level,
      serializers: { error: stdSerializers.err },
      // A kept line carries the time it was logged, not the time its batch was written.
      timestamp: () => `,"time":${keptTime ?? Date.now()}`,
    },
    { write: (line: string) => (writing ? encode(line) : hold(line)) },
  );
  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (held.length === 0) return;
    const lines = held;
    held = [];
    writing = true;
    try {
      for (const line of lines) {
        if (typeof line === 'string') {
          encode(line);
        } else {
          keptTime = line.time;
          if (line.fields) log[line.method](line.fields, line.message);
          else log[line.method](line.message);
        }
      }
    } finally {
      keptTime = undefined;
      writing = false;
      writeBuffered();
    }
  };
  flushAtExit(flush);

  const at =
    (method: Method) =>
    (message: string, fields?: LogFields): void => {
      if (!log.isLevelEnabled(method)) return;
      if (fields === undefined) return hold({ method, message, fields, time: Date.now() });
      if (unchangeable(fields)) return hold({ method, message, fields: { ...fields }, time: Date.now() });
      log[method](fields, message);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), flush };
}

/** Whether every field is a value that cannot change once logged, and that pino cannot fail on. */
function unchangeable(fields: LogFields): boolean {
  for (const key in fields) {
    const type = typeof fields[key];
    if (type !== 'string' && type !== 'number' && type !== 'boolean' && type !== 'undefined' && fields[key] !== null) return false;
  }
  return true;
}

/**
 * Writes every batch still held when the process exits (`process.exit()` included). Held weakly:
 * an app made and dropped (a test's) leaves one empty WeakRef, not its logger.
 */
const atExit = new Set<WeakRef<() => void>>();
function flushAtExit(flush: () => void): void {
  if (atExit.size === 0) process.once('exit', () => atExit.forEach((ref) => ref.deref()?.()));
  atExit.add(new WeakRef(flush));
}
