/**
 * Pre-signed SAML responses for the ACS benchmark: the signing child processes, and the pool that
 * hands each response to exactly one request. The replay store accepts an assertion ID only once,
 * so no response can be sent twice.
 */
import { fork, type ChildProcess } from 'node:child_process';

import type { SPCredentials } from '../../src/sso/saml/sp-credentials.js';
import { buildResponse, encodeResponse, signAssertion, signResponse } from '../../test/support/saml-idp.js';
import { errorText } from './cli.js';
import type { RequestFeed } from './load.js';
import { stopChild } from './server-process.js';

/** Responses per message between a generator and the parent. */
const GENERATE_CHUNK = 500;
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';

/** Job for a generator: sign responses number `from` to `from + count - 1` of one run. */
interface GenerateJob {
  type: 'generate';
  idp: SPCredentials;
  idpEntityId: string;
  acsURL: string;
  audience: string;
  runId: string;
  from: number;
  count: number;
  issuedAt: string;
  lifetimeSeconds: number;
}

/** Fields of a GenerateJob that stay the same for every response of one run. */
export type SigningRun = Omit<GenerateJob, 'type' | 'from' | 'count'>;

type GeneratorMessage = { type: 'generated'; responses: string[] } | { type: 'failed'; message: string };

/**
 * Signs one Okta-shaped response: the Assertion is signed first, then the Response around it, both
 * RSA-SHA256 with exclusive canonicalisation. Response and assertion IDs are unique within the run
 * because they carry the run ID and the response's number. Returns the base64 text of the XML.
 */
function signedResponse(job: GenerateJob, index: number): string {
  const xml = buildResponse({
    idpEntityId: job.idpEntityId,
    acsURL: job.acsURL,
    audience: job.audience,
    nameId: `00u${job.runId}${index}`,
    nameIdFormat: UNSPECIFIED_FORMAT,
    attributes: { email: [`user${index}@example.com`], firstName: ['Bench'], lastName: [`User ${index}`] },
    now: new Date(job.issuedAt),
    lifetimeSeconds: job.lifetimeSeconds,
    responseId: `_r${job.runId}x${index}`,
    assertionId: `_a${job.runId}x${index}`,
  });
  return encodeResponse(signResponse(signAssertion(xml, job.idp), job.idp));
}

/**
 * Runs the generator role: signs the responses of each job the parent sends, and exits on 'stop'
 * or when the parent disconnects.
 */
export function generateOnRequest(): void {
  process.on('message', (message: GenerateJob | 'stop') => {
    if (message === 'stop') process.exit(0);
    if (message.type !== 'generate') return;
    try {
      const responses: string[] = [];
      for (let index = message.from; index < message.from + message.count; index++) responses.push(signedResponse(message, index));
      process.send?.({ type: 'generated', responses } satisfies GeneratorMessage);
    } catch (error) {
      process.send?.({ type: 'failed', message: errorText(error) } satisfies GeneratorMessage);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

/** Signing processes, one per core; each takes one chunk of responses at a time. */
export class Generators {
  private constructor(readonly children: ChildProcess[]) {}

  /** Forks `script` `count` times with `--generate`, without the server's profiling flags. */
  static start(count: number, script: string): Generators {
    const execArgv = process.execArgv.filter((flag) => !flag.startsWith('--cpu-prof'));
    return new Generators(Array.from({ length: count }, () => fork(script, ['--generate'], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })));
  }

  get size(): number {
    return this.children.length;
  }

  /** Signs responses number `from` to `from + count - 1`, in order. */
  async sign(job: SigningRun, from: number, count: number): Promise<string[]> {
    const chunks: Array<{ from: number; count: number }> = [];
    for (let start = from; start < from + count; start += GENERATE_CHUNK) chunks.push({ from: start, count: Math.min(GENERATE_CHUNK, from + count - start) });
    const results: string[][] = new Array<string[]>(chunks.length);
    let next = 0;
    await Promise.all(
      this.children.map(async (child) => {
        while (next < chunks.length) {
          const index = next++;
          results[index] = await this.signChunk(child, { type: 'generate', ...job, ...chunks[index]! });
        }
      }),
    );
    return results.flat();
  }

  private signChunk(child: ChildProcess, job: GenerateJob): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`a generator exited (code ${code}) before it returned its responses`));
      child.once('exit', onExit);
      child.once('message', (message: GeneratorMessage) => {
        child.off('exit', onExit);
        if (message.type === 'generated' && message.responses.length === job.count) resolve(message.responses);
        else reject(new Error(`a generator failed:\n${message.type === 'failed' ? message.message : `${message.responses.length} of ${job.count} responses`}`));
      });
      child.send(job);
    });
  }

  /** Stops every generator, and kills any that is still running after 30 s. */
  async stop(): Promise<void> {
    await Promise.all(this.children.map((child) => stopChild(child)));
  }
}

/** Builds the form body of the HTTP-POST binding: `SAMLResponse=` and the URL-encoded base64. */
export function formBody(samlResponse: string): Buffer {
  return Buffer.from(`SAMLResponse=${encodeURIComponent(samlResponse)}`, 'latin1');
}

export const FORM_HEADERS = { 'content-type': 'application/x-www-form-urlencoded' };

/**
 * The pre-signed responses as form bodies, taken in order, each once. A response counts as accepted
 * only if it is 200 with the "Continue as" confirmation page in its body.
 */
export class ResponsePool implements RequestFeed {
  readonly headers = FORM_HEADERS;
  // An empty SAMLResponse is rejected with 400.
  readonly rejectedBody = 'SAMLResponse=';
  exhausted = false;
  private next = 0;
  constructor(private readonly bodies: Buffer[]) {}

  take(): Buffer | undefined {
    const body = this.bodies[this.next];
    if (body === undefined) {
      this.exhausted = true;
      return undefined;
    }
    this.bodies[this.next] = Buffer.alloc(0);
    this.next++;
    return body;
  }

  accepts(status: number, body: string): boolean {
    return status === 200 && body.includes('Continue as ');
  }

  exhaustedMessage(): string {
    return `all ${this.size} pre-signed responses were used; lower --duration or --rounds, or raise --max-responses`;
  }

  get used(): number {
    return this.next;
  }

  get size(): number {
    return this.bodies.length;
  }
}
