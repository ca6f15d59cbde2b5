/**
 * Structured logging: one pino logger created by the composition root and passed in.
 * Event names are dotted (`smtp.transaction`, `queue.attempt`); `--log-format pretty` makes it human-readable.
 */
import pinoDefault, { type Logger as PinoLogger, type DestinationStream } from 'pino';

const pino = pinoDefault;

export type Logger = PinoLogger;
export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  format?: LogFormat;
  level?: string;
  /** Write to this file descriptor or stream instead of stdout (tests pass a sink). */
  destination?: NodeJS.WritableStream | number;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.POSTAMT_LOG_LEVEL ?? 'info';
  if (options.format === 'pretty') {
    return pino({
      level,
      transport: { target: 'pino-pretty', options: { colorize: process.stdout.isTTY, translateTime: 'SYS:standard', ignore: 'pid,hostname' } },
    });
  }
  const dest = options.destination ?? 1;
  const stream = typeof dest === 'number' ? pino.destination({ fd: dest, sync: false }) : dest;
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, stream as DestinationStream);
}

/** A logger that drops everything, for unit tests and CLI commands that log nothing. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
