import type { FastifyInstance } from 'fastify';

import type { AppContext } from '../../app/context.js';
import { completeGoogleSignIn, resolveGoogleAccount, startGoogleSignIn, type GoogleAccount } from '../../sso/google/sign-in.js';
import { clearCookie, readCookie, setCookie } from '../cookies.js';
import { NotFound, ProviderUnavailable, SignInFailed, SSORequired } from '../errors.js';
import { requireCSRF } from './page.js';
import { finishSignIn, sendToRequiredSSO } from './sign-in-flow.js';
import { renderSignIn } from './sign-in.js';

/** Cookie that binds a Google sign-in to the browser that started it. */
const GOOGLE_COOKIE = 'gatehouse_google';
const GOOGLE_COOKIE_SECONDS = 600;

/** Registers "Continue with Google": the start (a form POST) and the callback. */
export function registerGooglePages(app: FastifyInstance, context: AppContext): void {
  app.post('/signin/google', async (request, reply) => {
    if (!context.config.google) throw new NotFound('Google sign-in is not set up here.');
    requireCSRF(context, request, reply, undefined);

    try {
      const started = await startGoogleSignIn(context, {});
      setCookie(reply, GOOGLE_COOKIE, started.browserToken, GOOGLE_COOKIE_SECONDS);
      return reply.redirect(started.authorizationURL, 303);
    } catch (error) {
      if (!(error instanceof ProviderUnavailable) && !(error instanceof SignInFailed)) throw error;
      request.log.error({ event: 'google.start_failed', code: error.code, detail: error.detail }, 'could not start Google sign-in');
      return renderSignIn(context, request, reply, { status: error.status, notice: 'Google sign-in is unavailable right now. Try again in a few minutes, or enter your email.' });
    }
  });

  app.get('/signin/google/callback', async (request, reply) => {
    if (!context.config.google) throw new NotFound('Google sign-in is not set up here.');
    const query = new URLSearchParams(request.url.split('?')[1] ?? '');
    const browserToken = readCookie(request, GOOGLE_COOKIE);
    clearCookie(reply, GOOGLE_COOKIE);

    let account: GoogleAccount | undefined;
    try {
      account = await completeGoogleSignIn(context, { query, browserToken });
      const userId = await resolveGoogleAccount(context, account);
      return await finishSignIn(context, request, reply, { userId, method: 'google', connectionId: null });
    } catch (error) {
      if (error instanceof SSORequired && account) return sendToRequiredSSO(context, request, reply, error, account.email.email);
      if (!(error instanceof SignInFailed) && !(error instanceof ProviderUnavailable)) throw error;
      request.log.warn({ event: 'sign_in.failed', method: 'google', code: error.code, detail: error.detail }, 'Google sign-in failed');
      return renderSignIn(context, request, reply, { status: error.status, notice: error.description });
    }
  });
}
