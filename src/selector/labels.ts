/**
 * Label key and value rules, as Calico validates them (it uses the Kubernetes rules): a key is an
 * optional DNS-subdomain prefix and "/", then a name of 1–63 characters that starts and ends with an
 * alphanumeric and has only alphanumerics, "-", "_" and "." between; a value is empty or follows the
 * same rule as the name. The functions return a message for the user, or undefined when valid, so
 * resource validation can put the field path in front.
 */

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_NAME = 63;
const MAX_PREFIX = 253;

export function validateLabelKey(key: string): string | undefined {
  if (key === '') return 'label key must not be empty';
  const slash = key.indexOf('/');
  const name = slash === -1 ? key : key.slice(slash + 1);
  if (slash !== -1) {
    const prefix = key.slice(0, slash);
    if (prefix === '') return `label key ${JSON.stringify(key)} has an empty prefix before "/"`;
    if (prefix.length > MAX_PREFIX) {
      return `label key prefix ${JSON.stringify(prefix)} is longer than ${MAX_PREFIX} characters`;
    }
    if (!prefix.split('.').every((part) => DNS_LABEL.test(part))) {
      return `label key prefix ${JSON.stringify(prefix)} must be a DNS subdomain (lower-case letters, digits, "-" and "."), e.g. "example.com"`;
    }
  }
  if (name === '') return `label key ${JSON.stringify(key)} has an empty name after "/"`;
  if (name.length > MAX_NAME) {
    return `label key name ${JSON.stringify(name)} is longer than ${MAX_NAME} characters`;
  }
  if (!NAME.test(name)) {
    return `label key name ${JSON.stringify(name)} must start and end with a letter or digit and contain only letters, digits, "-", "_" and "."`;
  }
  return undefined;
}

export function validateLabelValue(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > MAX_NAME) {
    return `label value ${JSON.stringify(value)} is longer than ${MAX_NAME} characters`;
  }
  if (!NAME.test(value)) {
    return `label value ${JSON.stringify(value)} must be empty or start and end with a letter or digit and contain only letters, digits, "-", "_" and "."`;
  }
  return undefined;
}

/** Every problem in a label map, each message starting with the offending key. */
export function validateLabels(labels: Readonly<Record<string, string>>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const keyProblem = validateLabelKey(key);
    if (keyProblem !== undefined) problems.push(keyProblem);
    if (typeof value !== 'string') {
      problems.push(`label ${JSON.stringify(key)} must have a string value`);
      continue;
    }
    const valueProblem = validateLabelValue(value);
    if (valueProblem !== undefined) problems.push(`label ${JSON.stringify(key)}: ${valueProblem}`);
  }
  return problems;
}
