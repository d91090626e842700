import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * Creates the JSON logger. Requests are logged by path only, because setup links, sign-in links and
 * OIDC callbacks carry secrets in their query strings. Credentials in headers and bodies are redacted.
 */
export function createLogger(options: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: options.level,
      base: { service: 'gatehouse' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          'req.headers.authorization',
          'req.headers.cookie',
          'res.headers["set-cookie"]',
          '*.password',
          '*.client_secret',
          '*.clientSecret',
          '*.token',
          '*.key',
          '*.sessionToken',
        ],
        censor: '[redacted]',
      },
      serializers: {
        req: (request: { id?: string; method?: string; url?: string; ip?: string }) => ({
          id: request.id,
          method: request.method,
          path: (request.url ?? '').split('?')[0],
          remoteAddress: request.ip,
        }),
        res: (reply: { statusCode?: number }) => ({ statusCode: reply.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    options.destination,
  );
}
