import type { Plan } from '../db/schema.js';

/** Plans an organization can be on, from the smallest. */
export const plans: readonly Plan[] = ['free', 'pro', 'enterprise'];

/** Features that depend on the organization's plan. */
export type PlanFeature = 'oidc_sso' | 'saml_sso' | 'domain_mappings';

const featurePlans: Record<PlanFeature, readonly Plan[]> = {
  oidc_sso: ['enterprise'],
  saml_sso: ['enterprise'],
  domain_mappings: ['enterprise'],
};

/** Returns whether `plan` includes `feature`. */
export function planIncludes(plan: Plan, feature: PlanFeature): boolean {
  return featurePlans[feature].includes(plan);
}

/** Returns whether `value` names a plan. */
export function isPlan(value: string): value is Plan {
  return (plans as readonly string[]).includes(value);
}
