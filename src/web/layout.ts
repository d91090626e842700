import { html, type SafeHTML } from './html.js';

/** Values that every page needs: its title, the signed-in user if any, and the CSRF token for forms. */
export interface PageFrame {
  title: string;
  csrfToken: string;
  user?: { email: string } | undefined;
  organizationId?: string | undefined;
  /** Whether to show the Connections link; only those who may manage connections see it. */
  showConnections?: boolean | undefined;
}

/** Wraps page content in the common document, header and navigation. */
export function layout(frame: PageFrame, content: SafeHTML): string {
  const nav = frame.user
    ? html`<nav aria-label="Main">
        ${frame.organizationId
          ? html`<a href="/orgs/${frame.organizationId}/settings">Organization</a>
              <a href="/orgs/${frame.organizationId}/settings/members">Members</a>
              ${frame.showConnections
                ? html`<a href="/orgs/${frame.organizationId}/settings/connections">Connections</a>
              <a href="/orgs/${frame.organizationId}/settings/saml">SAML</a>
              <a href="/orgs/${frame.organizationId}/settings/domains">Domains</a>
              <a href="/orgs/${frame.organizationId}/settings/oauth-clients">OAuth clients</a>`
                : ''}
              <a href="/orgs/${frame.organizationId}/settings/providers">AI providers</a>
              <a href="/orgs/${frame.organizationId}/settings/api-keys">API keys</a>
              <a href="/orgs/${frame.organizationId}/settings/connected-apps">Connected apps</a>`
          : ''}
        <span class="who">${frame.user.email}</span>
        <form method="post" action="/signout" class="inline">
          <input type="hidden" name="csrf_token" value="${frame.csrfToken}">
          <button type="submit">Sign out</button>
        </form>
      </nav>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · Gatehouse</title>
<link rel="stylesheet" href="/assets/style.css">
</head>
<body>
<header><a class="brand" href="/">Gatehouse</a>${nav}</header>
<main>
<h1>${frame.title}</h1>
${content}
</main>
</body>
</html>
`.value;
}

/** Renders a labelled form field with its error message, if any, right below it. */
export function field(options: {
  name: string;
  /** Element id when a page has several fields of this name; defaults to `field-<name>`. */
  id?: string;
  label: string;
  type?: string;
  value?: string;
  error?: string | undefined;
  hint?: string;
  required?: boolean;
  autocomplete?: string;
  /** Virtual keyboard hint, such as `numeric` for codes. */
  inputmode?: string;
  multiline?: boolean;
}): SafeHTML {
  const id = options.id ?? `field-${options.name}`;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const describedBy = [options.hint ? hintId : '', options.error ? errorId : ''].filter(Boolean).join(' ');
  const common = html`id="${id}" name="${options.name}"${options.required ? html` required` : ''}${describedBy ? html` aria-describedby="${describedBy}"` : ''}${options.error ? html` aria-invalid="true"` : ''}${options.autocomplete ? html` autocomplete="${options.autocomplete}"` : ''}${options.inputmode ? html` inputmode="${options.inputmode}"` : ''}`;
  const control = options.multiline
    ? html`<textarea ${common} rows="3">${options.value ?? ''}</textarea>`
    : html`<input ${common} type="${options.type ?? 'text'}" value="${options.value ?? ''}">`;
  return html`<div class="field${options.error ? ' has-error' : ''}">
  <label for="${id}">${options.label}</label>
  ${options.hint ? html`<p class="hint" id="${hintId}">${options.hint}</p>` : ''}
  ${control}
  ${options.error ? html`<p class="error" id="${errorId}" role="alert">${options.error}</p>` : ''}
</div>`;
}
