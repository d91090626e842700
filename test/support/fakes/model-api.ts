import { randomBytes } from 'node:crypto';

import type { FakeAnswer, ReceivedRequest } from './server.js';
import { jsonBody } from './server.js';

/** Returns a random token with a provider-style prefix. */
export function fakeToken(prefix: string): string {
  return `${prefix}${randomBytes(18).toString('base64url')}`;
}

/** Returns an OpenAI-style chat completion, streamed as server-sent events when the request sets stream. */
export function chatCompletion(request: ReceivedRequest, text: string, now: Date): FakeAnswer {
  const body = jsonBody(request);
  if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
    return { status: 400, body: { error: { message: 'Invalid request: model and messages are required.', type: 'invalid_request_error', param: null, code: null } } };
  }
  const created = Math.floor(now.getTime() / 1000);
  if (body.stream === true) {
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      JSON.stringify({ id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model: body.model, choices: [{ index: 0, delta, finish_reason: finish }] });
    return { status: 200, events: [chunk({ role: 'assistant', content: '' }, null), ...text.split(' ').map((word, index) => chunk({ content: index === 0 ? word : ` ${word}` }, null)), chunk({}, 'stop'), '[DONE]'] };
  }
  return {
    status: 200,
    body: {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    },
  };
}

/** Returns the response to an Anthropic Messages API request. */
export function anthropicMessage(request: ReceivedRequest, text: string): FakeAnswer {
  const body = jsonBody(request);
  if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages) || typeof body.max_tokens !== 'number') {
    return { status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'model, messages and max_tokens are required' } } };
  }
  if (body.stream === true) {
    return {
      status: 200,
      events: [
        JSON.stringify({ type: 'message_start', message: { id: 'msg_fake', type: 'message', role: 'assistant', model: body.model, content: [] } }),
        JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }),
        JSON.stringify({ type: 'message_stop' }),
      ],
    };
  }
  return {
    status: 200,
    body: {
      id: 'msg_fake',
      type: 'message',
      role: 'assistant',
      model: body.model,
      content: [{ type: 'text', text }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 5, output_tokens: 4 },
    },
  };
}
