import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { CODE_SECONDS, pendingCodeEmail, redeemEmailCode } from '../../auth/email-codes.js';
import { userForProvenEmail } from '../../auth/proven-email.js';
import { html } from '../../web/html.js';
import { field } from '../../web/layout.js';
import { pageCSRFToken } from '../authenticate.js';
import { clearCookie, readCookie } from '../cookies.js';
import { InvalidRequest, ProviderUnavailable, SignInFailed, SSORequired, TooManyAttempts } from '../errors.js';
import { formField, requireCSRF, sendPage } from './page.js';
import { finishSignIn, sendToRequiredSSO } from './sign-in-flow.js';
import { renderSignIn } from './sign-in.js';

/** Cookie that binds a pending code to the browser that asked for it. */
export const EMAIL_CODE_COOKIE = 'gatehouse_email_code';
export const EMAIL_CODE_COOKIE_SECONDS = CODE_SECONDS;

function renderCodeForm(
  context: AppContext,
  request: FastifyRequest,
  reply: FastifyReply,
  options: { email: string; status?: number; error?: string },
): FastifyReply {
  const csrfToken = pageCSRFToken(context, request, reply, undefined);
  return sendPage(reply, {
    status: options.status ?? 200,
    title: 'Check your email',
    csrfToken,
    content: html`<p>If ${options.email} can sign in here, we sent it a 6-digit code. It works for ${CODE_SECONDS / 60} minutes, in this browser only.</p>
<form method="post" action="/signin/code" novalidate>
  <input type="hidden" name="csrf_token" value="${csrfToken}">
  ${field({ name: 'code', label: 'Code', value: '', error: options.error, required: true, autocomplete: 'one-time-code', inputmode: 'numeric' })}
  <button type="submit">Sign in</button>
</form>
<p><a href="/signin">Use another address or ask for a new code</a></p>`,
  });
}

/** Registers the page where a person types the code that was emailed to them. */
export function registerEmailCodePages(app: FastifyInstance, context: AppContext): void {
  app.get('/signin/code', async (request, reply) => {
    const email = await pendingCodeEmail(context, readCookie(request, EMAIL_CODE_COOKIE));
    if (!email) return reply.redirect('/signin', 303);
    return renderCodeForm(context, request, reply, { email });
  });

  app.post('/signin/code', async (request, reply) => {
    requireCSRF(context, request, reply, undefined);
    const cookie = readCookie(request, EMAIL_CODE_COOKIE);

    let email;
    try {
      email = await redeemEmailCode(context, { cookie, code: formField(request, 'code') });
    } catch (error) {
      if (!(error instanceof SignInFailed) && !(error instanceof TooManyAttempts) && !(error instanceof InvalidRequest)) throw error;
      request.log.info({ event: 'email_code.rejected', code: error.code }, 'sign-in code rejected');
      // A typo keeps the code usable; anything else means asking for a new one.
      const pending = error instanceof InvalidRequest || error.code === 'wrong_code' ? await pendingCodeEmail(context, cookie) : undefined;
      if (pending) return renderCodeForm(context, request, reply, { email: pending, status: error.status, error: error.description });
      clearCookie(reply, EMAIL_CODE_COOKIE);
      return renderSignIn(context, request, reply, { status: error.status, notice: error.description });
    }
    clearCookie(reply, EMAIL_CODE_COOKIE);

    try {
      const userId = await userForProvenEmail(context, { email, name: null, method: 'email_code' });
      return await finishSignIn(context, request, reply, { userId, method: 'email_code', connectionId: null });
    } catch (error) {
      if (error instanceof SSORequired) return sendToRequiredSSO(context, request, reply, error, email.email);
      if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
      request.log.warn({ event: 'sign_in.failed', method: 'email_code', code: error.code, detail: error.detail }, 'sign-in failed');
      return renderSignIn(context, request, reply, { status: error.status, email: email.email, notice: error.description });
    }
  });
}
