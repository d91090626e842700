import type { SAMLSignaturePolicy } from '../../db/schema.js';

/** Defaults an IdP needs, applied when an admin picks its preset. Admins can change each value. */
export interface SAMLPreset {
  id: 'okta' | 'entra' | 'google' | 'custom';
  label: string;
  signaturePolicy: SAMLSignaturePolicy;
  nameIdFormat: string;
  attributes: { email: string; firstName: string; lastName: string; groups: string | null };
  /** Steps for the admin on this IdP's settings page. */
  guidance: string;
}

const EMAIL_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress';
const UNSPECIFIED_FORMAT = 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified';
const PERSISTENT_FORMAT = 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent';
const ENTRA_CLAIMS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims';

/**
 * Presets. Entra ID and Google Workspace sign only the assertion by default, so their presets
 * require an assertion signature; Okta signs the response and the assertion, so its preset requires
 * both. Every signature that is present must verify under any policy.
 */
export const samlPresets: Record<SAMLPreset['id'], SAMLPreset> = {
  okta: {
    id: 'okta',
    label: 'Okta Workforce',
    signaturePolicy: 'both',
    nameIdFormat: UNSPECIFIED_FORMAT,
    attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: 'groups' },
    guidance:
      'In Okta, create a SAML 2.0 app. Single sign-on URL: the ACS URL below (also used for Recipient and Destination). Audience URI: the SP entity ID. Add attribute statements email, firstName and lastName.',
  },
  entra: {
    id: 'entra',
    label: 'Microsoft Entra ID',
    signaturePolicy: 'assertion',
    nameIdFormat: PERSISTENT_FORMAT,
    attributes: {
      email: `${ENTRA_CLAIMS}/emailaddress`,
      firstName: `${ENTRA_CLAIMS}/givenname`,
      lastName: `${ENTRA_CLAIMS}/surname`,
      groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
    },
    guidance:
      'In Entra ID, create an enterprise application with SAML. Identifier (Entity ID): the SP entity ID. Reply URL: the ACS URL. Keep the default claims; the signing option "Sign SAML assertion" matches this preset.',
  },
  google: {
    id: 'google',
    label: 'Google Workspace',
    signaturePolicy: 'assertion',
    nameIdFormat: EMAIL_FORMAT,
    attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: null },
    guidance:
      'In the Google Admin console, add a custom SAML app. ACS URL: the ACS URL below. Entity ID: the SP entity ID. Name ID format EMAIL, Name ID Basic Information > Primary email. Map Primary email to email.',
  },
  custom: {
    id: 'custom',
    label: 'Other SAML 2.0 identity provider',
    signaturePolicy: 'both',
    nameIdFormat: UNSPECIFIED_FORMAT,
    attributes: { email: 'email', firstName: 'firstName', lastName: 'lastName', groups: null },
    guidance: 'Give your identity provider the SP entity ID and ACS URL below, or the SP metadata URL.',
  },
};

/** Returns the preset with this id, or undefined. */
export function findPreset(id: string): SAMLPreset | undefined {
  return Object.hasOwn(samlPresets, id) ? samlPresets[id as SAMLPreset['id']] : undefined;
}
