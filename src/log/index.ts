/**
 * Logging for every TCF process: one line per event on stderr, human-readable by default or JSON
 * (TCF_LOG_FORMAT=json) for collectors. Fields are given separately from the message so that secrets
 * never need to be formatted into text: callers log ids and sizes, never keys or plaintext.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(component: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'text' | 'json';
  write?: (line: string) => void;
}

export function createLogger(component: string, options: LoggerOptions = {}): Logger {
  const level = options.level ?? ((process.env.TCF_LOG_LEVEL as LogLevel | undefined) ?? 'info');
  const format = options.format ?? (process.env.TCF_LOG_FORMAT === 'json' ? 'json' : 'text');
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const threshold = RANK[level] ?? RANK.info;

  const emit = (entryLevel: Exclude<LogLevel, 'silent'>, message: string, fields?: Record<string, unknown>) => {
    if (RANK[entryLevel] < threshold) return;
    const time = new Date().toISOString();
    if (format === 'json') {
      write(JSON.stringify({ time, level: entryLevel, component, message, ...fields }));
      return;
    }
    const extra = fields && Object.keys(fields).length > 0
      ? ' ' + Object.entries(fields).map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`).join(' ')
      : '';
    write(`${time} ${entryLevel.toUpperCase().padEnd(5)} [${component}] ${message}${extra}`);
  };

  return {
    debug: (message, fields) => emit('debug', message, fields),
    info: (message, fields) => emit('info', message, fields),
    warn: (message, fields) => emit('warn', message, fields),
    error: (message, fields) => emit('error', message, fields),
    child: (sub) => createLogger(`${component}/${sub}`, { level, format, write }),
  };
}

/** Query parameters that carry credentials in connection URLs (libpq's `password`, `sslpassword`, tokens, keys). */
const SECRET_PARAMETER = /pass|secret|token|key/i;

/**
 * A connection URL fit for a log line: the password in its user info and every query parameter that
 * names a credential are replaced by `***`. A string that is not a URL is reduced to its scheme, since
 * nothing in it can be told apart from a secret.
 */
export function redactUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.includes(':') ? `${text.slice(0, text.indexOf(':'))}:***` : '***';
  }
  // An opaque "scheme:anything" parses as a URL too, with nothing an operator could tell from a secret.
  if (!url.host) return `${url.protocol}***`;
  if (url.password) url.password = '***';
  for (const name of [...url.searchParams.keys()]) if (SECRET_PARAMETER.test(name)) url.searchParams.set(name, '***');
  return url.toString().replace(/%2A%2A%2A/g, '***');
}
