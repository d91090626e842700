import { z } from 'zod';

/** Outcome of a failed token request, before it is mapped to an error for the caller. */
export class TokenRequestFailed extends Error {
  override name = 'TokenRequestFailed';
  constructor(
    readonly problem: 'rejected' | 'timeout' | 'failed',
    message: string,
    /** The provider's OAuth `error` code (or Google's `status`), when it sent one. */
    readonly providerError?: string,
  ) {
    super(message);
  }
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const oauthError = z.object({ error: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/) });
const googleError = z.object({ error: z.object({ status: z.string().regex(/^[A-Z_]{1,64}$/) }) });

/**
 * POSTs a token request and returns the parsed JSON body of a 200 response. A 4xx response becomes
 * `rejected` with the provider's error code. A 5xx response, a network error or an unreadable body
 * becomes `failed`, and no response within the timeout becomes `timeout`. One retry follows a 5xx
 * or network failure, but a rejection or a timeout is not retried. Request bodies carry
 * credentials, so no message here includes them.
 */
export async function postTokenRequest(
  url: string,
  request: { body: Record<string, string | string[]>; encoding: 'json' | 'form'; headers?: Record<string, string>; timeoutMilliseconds: number },
): Promise<unknown> {
  const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
  let body: string;
  if (request.encoding === 'json') {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(request.body);
  } else {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(request.body as Record<string, string>).toString();
  }

  for (let attempt = 1; ; attempt += 1) {
    try {
      return await postOnce(url, headers, body, request.timeoutMilliseconds);
    } catch (error) {
      if (!(error instanceof TokenRequestFailed) || error.problem !== 'failed' || attempt >= 2) throw error;
    }
  }
}

async function postOnce(url: string, headers: Record<string, string>, body: string, timeoutMilliseconds: number): Promise<unknown> {
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(timeoutMilliseconds) });
    text = await readLimited(response);
  } catch (error) {
    if (error instanceof TokenRequestFailed) throw error;
    if ((error as Error).name === 'TimeoutError') throw new TokenRequestFailed('timeout', `${url} did not respond within ${timeoutMilliseconds} ms`);
    throw new TokenRequestFailed('failed', `${url} could not be reached: ${(error as Error).message}`);
  }

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (response.status >= 400 && response.status < 500) {
    const code = oauthError.safeParse(parsed).data?.error ?? googleError.safeParse(parsed).data?.error.status;
    throw new TokenRequestFailed('rejected', `${url} returned HTTP ${response.status}${code ? ` ${code}` : ''}`, code);
  }
  if (response.status !== 200) throw new TokenRequestFailed('failed', `${url} returned HTTP ${response.status}`);
  if (parsed === undefined) throw new TokenRequestFailed('failed', `${url} returned a body that is not JSON`);
  return parsed;
}

async function readLimited(response: Response): Promise<string> {
  const length = Number(response.headers.get('content-length') ?? '0');
  if (length > MAX_RESPONSE_BYTES) {
    await response.body?.cancel();
    throw new TokenRequestFailed('failed', `token response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  }
  const text = await response.text();
  if (text.length > MAX_RESPONSE_BYTES) throw new TokenRequestFailed('failed', `token response is larger than ${MAX_RESPONSE_BYTES} bytes`);
  return text;
}

/** Parses a token response with a schema; a mismatch counts as a failed (not rejected) exchange. */
export function parseTokenResponse<Schema extends z.ZodType>(schema: Schema, value: unknown, url: string): z.infer<Schema> {
  const result = schema.safeParse(value);
  if (!result.success) throw new TokenRequestFailed('failed', `${url} returned a token response without the expected fields`);
  return result.data;
}
