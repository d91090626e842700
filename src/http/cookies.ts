import type { FastifyReply, FastifyRequest } from 'fastify';

import type { AppContext } from '../app/context.js';

/** Cookie names; `__Host-` needs https, so plain-http development URLs use unprefixed names. */
export function cookieNames(context: AppContext): { session: string; preSession: string; signIn: string } {
  const prefix = context.config.publicUrl.startsWith('https://') ? '__Host-' : '';
  return {
    session: `${prefix}gatehouse_session`,
    preSession: `${prefix}gatehouse_csrf`,
    signIn: `${prefix}gatehouse_signin`,
  };
}

/** Sets a Secure, HttpOnly, SameSite=Lax cookie on path `/`. */
export function setCookie(reply: FastifyReply, name: string, value: string, maxAgeSeconds: number): void {
  reply.setCookie(name, value, { path: '/', httpOnly: true, secure: true, sameSite: 'lax', maxAge: maxAgeSeconds });
}

/** Removes a cookie set by setCookie. */
export function clearCookie(reply: FastifyReply, name: string): void {
  reply.clearCookie(name, { path: '/', httpOnly: true, secure: true, sameSite: 'lax' });
}

/** Returns a cookie's value, or undefined. */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const value = request.cookies[name];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}
