/**
 * One packet through one endpoint's policy in one direction, as Felix's chains would take it,
 * recording every step so a user can see which rule decided:
 *
 *   for each tier that has a policy applying to the endpoint:
 *     for each policy in order, each rule in order:
 *       Allow / Deny → verdict;  Log → note it and go on;  Pass → skip the rest of this tier
 *     tier ends without a verdict (and without Pass) → deny ("end of tier"), unless the tier's
 *       defaultAction is Pass
 *   no tier decided (none applied, or every one passed):
 *     for each profile of the endpoint, each rule: Allow / Deny → verdict; Log → go on;
 *       Pass → next profile
 *     no profile decided → deny ("no profile matched")
 *
 * The consequence the seed trips over: once any policy applies to an endpoint, its profiles are
 * never consulted, and a Deny rule ahead of an Allow in the same list wins.
 */
import type { Rule, RuleAction } from '../api/index.js';
import type { EndpointPolicies, ApplyingPolicy } from './resolve.js';
import { ruleMismatch, type Flow, type RuleScope } from './rulematch.js';
import type { PolicyEnvironment } from './resolve.js';

export type Verdict = 'allow' | 'deny';

export interface PolicyRef {
  readonly kind: ApplyingPolicy['kind'];
  /** `name`, or `namespace/name` for a NetworkPolicy. */
  readonly name: string;
}

/** A rule that did not match, and why; kept so the explain output can show what was tried. */
export interface SkippedRule {
  readonly ruleIndex: number;
  readonly reason: string;
}

export type TraceStep =
  | {
      readonly kind: 'policy-rule';
      readonly tier: string;
      readonly policy: PolicyRef;
      readonly ruleIndex: number;
      readonly rule: Rule;
      readonly action: RuleAction;
      readonly skipped: readonly SkippedRule[];
    }
  | {
      readonly kind: 'policy-no-match';
      readonly tier: string;
      readonly policy: PolicyRef;
      readonly skipped: readonly SkippedRule[];
    }
  /** The tier's policies applied but none decided: its default action (Deny unless the tier says Pass). */
  | { readonly kind: 'end-of-tier'; readonly tier: string; readonly action: 'Deny' | 'Pass' }
  | { readonly kind: 'no-policy'; readonly profiles: readonly string[] }
  | { readonly kind: 'all-tiers-passed'; readonly profiles: readonly string[] }
  | {
      readonly kind: 'profile-rule';
      readonly profile: string;
      readonly ruleIndex: number;
      readonly rule: Rule;
      readonly action: RuleAction;
      readonly skipped: readonly SkippedRule[];
    }
  | { readonly kind: 'profile-no-match'; readonly profile: string; readonly skipped: readonly SkippedRule[] }
  | { readonly kind: 'profile-missing'; readonly profile: string }
  | { readonly kind: 'no-profile-matched'; readonly profiles: readonly string[] }
  | { readonly kind: 'profiles-not-consulted'; readonly profiles: readonly string[] };

/** The steps that can decide a verdict. */
export type DecidingStep = Extract<
  TraceStep,
  { kind: 'policy-rule' | 'profile-rule' | 'end-of-tier' | 'no-profile-matched' }
>;

export interface DirectionResult {
  readonly endpoint: string;
  readonly direction: EndpointPolicies['direction'];
  readonly verdict: Verdict;
  readonly decision: DecidingStep;
  readonly steps: readonly TraceStep[];
}

interface RuleListOutcome {
  /** Log rules that matched on the way, each with the rules skipped just before it. */
  readonly logged: Array<{ ruleIndex: number; rule: Rule; skipped: SkippedRule[] }>;
  /** The first rule that decides (Allow, Deny or Pass), if any. */
  readonly matched?: { ruleIndex: number; rule: Rule; action: RuleAction };
  /** Rules skipped after the last Log rule (before `matched`, or to the end of the list). */
  readonly skipped: SkippedRule[];
}

/** Walks a rule list to the first rule that decides, keeping skipped and Log rules in order. */
function walkRules(rules: readonly Rule[], flow: Flow, scope: RuleScope): RuleListOutcome {
  let skipped: SkippedRule[] = [];
  const logged: RuleListOutcome['logged'] = [];
  for (const [ruleIndex, rule] of rules.entries()) {
    const reason = ruleMismatch(rule, flow, scope);
    if (reason !== undefined) {
      skipped.push({ ruleIndex, reason });
      continue;
    }
    if (rule.action === 'Log') {
      logged.push({ ruleIndex, rule, skipped });
      skipped = [];
      continue;
    }
    return { logged, matched: { ruleIndex, rule, action: rule.action }, skipped };
  }
  return { logged, skipped };
}

/** Evaluates `flow` against the resolved policies of one endpoint in one direction. */
export function evaluatePacket(
  resolved: EndpointPolicies,
  flow: Flow,
  env: PolicyEnvironment = {},
): DirectionResult {
  const steps: TraceStep[] = [];
  const profileNames = resolved.profiles.map((p) => p.name);
  const finish = (decision: DecidingStep, byPolicy: boolean): DirectionResult => {
    steps.push(decision);
    if (byPolicy && profileNames.length > 0)
      steps.push({ kind: 'profiles-not-consulted', profiles: profileNames });
    const verdict: Verdict =
      (decision.kind === 'policy-rule' || decision.kind === 'profile-rule') && decision.action === 'Allow'
        ? 'allow'
        : 'deny';
    return { endpoint: resolved.endpoint.name, direction: resolved.direction, verdict, decision, steps };
  };

  tiers: for (const tier of resolved.tiers) {
    for (const policy of tier.policies) {
      const ref: PolicyRef = { kind: policy.kind, name: policy.key };
      const outcome = walkRules(policy.rules, flow, { policyNamespace: policy.namespace, env });
      for (const log of outcome.logged) {
        steps.push({ kind: 'policy-rule', tier: tier.name, policy: ref, ...log, action: 'Log' });
      }
      if (outcome.matched === undefined) {
        steps.push({ kind: 'policy-no-match', tier: tier.name, policy: ref, skipped: outcome.skipped });
        continue;
      }
      const step = {
        kind: 'policy-rule',
        tier: tier.name,
        policy: ref,
        ...outcome.matched,
        skipped: outcome.skipped,
      } as const;
      if (outcome.matched.action === 'Pass') {
        steps.push(step);
        continue tiers;
      }
      return finish(step, true);
    }
    if (tier.defaultAction === 'Pass') {
      steps.push({ kind: 'end-of-tier', tier: tier.name, action: 'Pass' });
      continue;
    }
    return finish({ kind: 'end-of-tier', tier: tier.name, action: 'Deny' }, true);
  }

  steps.push(
    resolved.tiers.length === 0
      ? { kind: 'no-policy', profiles: profileNames }
      : { kind: 'all-tiers-passed', profiles: profileNames },
  );
  for (const profile of resolved.profiles) {
    if (profile.profile === undefined) {
      steps.push({ kind: 'profile-missing', profile: profile.name });
      continue;
    }
    const outcome = walkRules(profile.rules, flow, { policyNamespace: undefined, env });
    for (const log of outcome.logged) {
      steps.push({ kind: 'profile-rule', profile: profile.name, ...log, action: 'Log' });
    }
    if (outcome.matched === undefined || outcome.matched.action === 'Pass') {
      // Felix renders a profile's Pass as "return from this profile": the next profile is tried.
      steps.push({ kind: 'profile-no-match', profile: profile.name, skipped: outcome.skipped });
      continue;
    }
    return finish(
      { kind: 'profile-rule', profile: profile.name, ...outcome.matched, skipped: outcome.skipped },
      false,
    );
  }
  return finish({ kind: 'no-profile-matched', profiles: profileNames }, false);
}

/** One line naming what decided: `policy default/allow-db rule 0 (Allow)`, `end of tier default`… */
export function describeDecision(step: DecidingStep): string {
  switch (step.kind) {
    case 'policy-rule':
      return `${step.policy.kind} ${step.policy.name} rule ${step.ruleIndex} (${step.action})`;
    case 'profile-rule':
      return `Profile ${step.profile} rule ${step.ruleIndex} (${step.action})`;
    case 'end-of-tier':
      return `end of tier ${step.tier}`;
    case 'no-profile-matched':
      return step.profiles.length === 0
        ? 'no profile matched (the endpoint has no profiles)'
        : 'no profile matched';
    default: {
      const unknown: never = step;
      throw new Error(`unknown decision ${JSON.stringify(unknown)}`);
    }
  }
}
